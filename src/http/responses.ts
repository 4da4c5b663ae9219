// The responses that several routes answer alike, as their schemas declare them for the published contract: the problem
// documents of the errors, and the ETag and Location headers of the writes.
import { ProblemDocument } from './problem.js';

/** A response that is a problem document: what it means, and an example of the document (or several, named). */
export function problemResponse(description: string, example: Record<string, unknown> | { examples: Record<string, unknown> }) {
  const media = 'examples' in example ? example : { example };
  return { description, content: { 'application/problem+json': { schema: ProblemDocument, ...media } } };
}

/** What an answer-too-large 422 of the routes that answer traces means. */
export const ANSWER_TOO_LARGE =
  "The answer would be larger than the service's limit (`MAX_ANSWER_BYTES`, 32 MiB unless configured): nothing is\n" +
  'answered, and `detail` says how far the answer got and how to ask for less (`detail=hops` or `detail=summary`,\n' +
  'fewer paths, fewer flows). A batch stops at the flow that passes the limit.\n';

/** An answer-too-large problem document, as a route at `instance` answers it. */
export const answerTooLargeExample = (instance: string, detail: string) => ({
  type: 'urn:pathtrace:problem:answer-too-large',
  title: 'The answer would be too large',
  status: 422,
  detail,
  instance,
});

export const ETag = { type: 'string', description: 'The revision the answer describes, as a strong entity tag.', examples: ['"1"'] } as const;
export const Location = {
  type: 'string',
  format: 'uri-reference',
  description: 'The path of the topology.',
  examples: ['/v1/topologies/two-nodes'],
} as const;

export const BadRequest = problemResponse(
  'The request is not valid: the body is not JSON or does not match the schema (every offending place is in `errors`\n' +
    'as a JSON pointer), a path or query parameter is invalid (`errors[].parameter`), a header is malformed, or the\n' +
    'body gives both or neither of `cluster` and `fabric`.\n',
  { examples: {
    body: {
      summary: 'The body does not match the schema',
      value: {
        type: 'urn:pathtrace:problem:invalid-request',
        title: 'The request is not valid',
        status: 400,
        detail: 'the request body is not valid (2 problems)',
        instance: '/v1/topologies',
        errors: [
          { pointer: '/cluster/nodes/0/addresses', detail: 'must NOT have fewer than 1 items' },
          { pointer: '/cluster/cni/route', detail: 'is not a known property' },
        ],
      },
    },
    parameter: {
      summary: 'A query parameter is out of range',
      value: {
        type: 'urn:pathtrace:problem:invalid-request',
        title: 'The request is not valid',
        status: 400,
        detail: 'the querystring is not valid (limit: must be >= 1)',
        instance: '/v1/topologies?limit=0',
        errors: [{ parameter: 'limit', detail: 'must be >= 1' }],
      },
    },
  } },
);

export const NotFound = problemResponse(
  'There is no topology with this name, or the revision is not (or no longer) kept.',
  {
    type: 'urn:pathtrace:problem:not-found',
    title: 'Not found',
    status: 404,
    detail: 'there is no topology named two-nodes',
    instance: '/v1/topologies/two-nodes',
  },
);

export const Conflict = problemResponse(
  'A topology with this name exists already (POST), or was created by a concurrent request (PUT; retry).',
  {
    type: 'urn:pathtrace:problem:conflict',
    title: 'Conflict',
    status: 409,
    detail: 'a topology named two-nodes already exists',
    instance: '/v1/topologies',
  },
);

export const PreconditionFailed = problemResponse(
  'If-Match or If-None-Match did not hold: the topology changed since the client read it, does not exist (If-Match),\n' +
    'or exists (If-None-Match: *). `currentRevision` is the revision it is at, when it exists.\n',
  {
    type: 'urn:pathtrace:problem:precondition-failed',
    title: 'Precondition failed',
    status: 412,
    detail: 'two-nodes is at revision 4, not 3: it changed since you read it',
    instance: '/v1/topologies/two-nodes',
    currentRevision: 4,
  },
);

export const PayloadTooLarge = problemResponse(
  'The body is larger than the service accepts (64 MiB unless configured otherwise).',
  {
    type: 'urn:pathtrace:problem:payload-too-large',
    title: 'Request body too large',
    status: 413,
    detail: 'the request body is larger than the limit of 67108864 bytes',
    instance: '/v1/topologies',
  },
);

export const UnsupportedMediaType = problemResponse(
  'The body is not sent as application/json.',
  {
    type: 'urn:pathtrace:problem:unsupported-media-type',
    title: 'Unsupported media type',
    status: 415,
    detail: 'send the body as application/json',
    instance: '/v1/topologies',
  },
);

export const InvalidTopology = problemResponse(
  'The document matches the schema but is not consistent. Every problem found is in `errors`, with a JSON pointer\n' +
    'into the body.\n',
  { examples: { inconsistent: { $ref: '#/components/examples/InconsistentClusterProblem' } } },
);

export const Unavailable = problemResponse(
  'The database does not answer, or its schema is not migrated yet.',
  {
    type: 'urn:pathtrace:problem:unavailable',
    title: 'Service unavailable',
    status: 503,
    detail: 'the database schema is not migrated yet',
    instance: '/readyz',
  },
);

export const ImportBadRequest = problemResponse(
  'The request is not valid: the body is not JSON or a field the import reads does not match the schema (every\n' +
    'offending place is in `errors` as a JSON pointer into the body), a value kubectl never prints (an address that\n' +
    'does not parse, a pod CIDR with host bits set, two pod IPs of one family: also with pointers), the body holds no\n' +
    'Node, gives both `items` and `nodes`, a query parameter is invalid or contradicts the body (`cni` or `description`\n' +
    'given twice, `mode` without `cni` or not one of the plugin\'s), or a header is malformed.\n',
  { examples: {
    schema: {
      summary: 'Fields the import reads do not match the schema',
      value: {
        type: 'urn:pathtrace:problem:invalid-request',
        title: 'The request is not valid',
        status: 400,
        detail: 'the request body is not valid (2 problems)',
        instance: '/v1/topologies/prod/import/kubernetes',
        errors: [
          { pointer: '/items/0/status/addresses/0/address', detail: 'must be string' },
          { pointer: '/items/5/spec/hostNetwork', detail: 'must be boolean' },
        ],
      },
    },
    values: {
      summary: 'Values kubectl never prints',
      value: {
        type: 'urn:pathtrace:problem:invalid-request',
        title: 'The request is not valid',
        status: 400,
        detail: 'the Kubernetes objects are not valid (2 problems)',
        instance: '/v1/topologies/prod/import/kubernetes',
        errors: [
          {
            pointer: '/items/1/spec/podCIDRs/0',
            detail: '10.244.1.1/24 has host bits set (the prefix is 10.244.1.0/24; 10.244.1.1/24 is an interface address)',
          },
          {
            pointer: '/items/5/status/podIPs/0/ip',
            detail: '"10.244.1.300" is not an IPv4 or IPv6 address',
          },
        ],
      },
    },
    mode: {
      summary: 'A mode the plugin does not have',
      value: {
        type: 'urn:pathtrace:problem:invalid-request',
        title: 'The request is not valid',
        status: 400,
        detail: 'calico has no mode host-gw',
        instance: '/v1/topologies/prod/import/kubernetes?cni=calico&mode=host-gw',
        errors: [{ parameter: 'mode', detail: 'calico takes mode bgp, ipip or vxlan' }],
      },
    },
  } },
);

export const ImportUnprocessable = problemResponse(
  'No `cni` was given and the objects do not say which data path the cluster uses, or say one the cluster form does\n' +
    'not model faithfully (flannel\'s wireguard backend, OVN-Kubernetes, OpenShift SDN): `urn:pathtrace:problem:cni-required`,\n' +
    'with the signs found in `evidence`; give `cni=`. Or no node could be imported (none has an InternalIP or ExternalIP), or the `network`\n' +
    'of the body does not fit the nodes: `urn:pathtrace:problem:invalid-topology`, with pointers to the objects.\n',
  { examples: {
    cniRequired: { $ref: '#/components/examples/CniRequiredProblem' },
    noNode: {
      summary: 'No node could be imported',
      value: {
        type: 'urn:pathtrace:problem:invalid-topology',
        title: 'The topology is not consistent',
        status: 422,
        detail: 'no node could be imported',
        instance: '/v1/topologies/prod/import/kubernetes?cni=bridge',
        errors: [{ pointer: '/items/0', detail: 'node a has no InternalIP or ExternalIP address' }],
      },
    },
  } },
);

/** What a request that needs a worker thread may answer besides its own problems. */
export const Busy = problemResponse(
  'The work could not be done now: as many requests are waiting for a worker as may wait (`Retry-After` says when to\n' +
    'retry; `urn:pathtrace:problem:unavailable`), or it ran past the deadline (JOB_DEADLINE_SECONDS) or a worker\'s memory\n' +
    'and was stopped (`urn:pathtrace:problem:deadline-exceeded`, or `unavailable`): `detail` says how to ask for less.\n',
  {
    type: 'urn:pathtrace:problem:deadline-exceeded',
    title: 'The request took longer than its deadline',
    status: 503,
    detail: 'the matrix did not finish within the deadline of 60 s: filter by namespace or node',
    instance: '/v1/topologies/prod/reachability',
  },
);
