// GET /v1/topologies/{name}/reachability: the disposition of every ordered pair of pods (or, with to=services, of every
// pod and Service port), as JSON letters, JSON rows, CSV or an SVG heat map.
import type { FastifyInstance } from 'fastify';
import { sendEncoded } from '../work.js';
import { LEGEND, transportOf } from '../../answer/matrix.js';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { CloneType, Type, type Static } from '@sinclair/typebox';
import { pickFormat } from '../formats.js';
import { BadRequest, NotFound, problemResponse, Busy, answerTooLargeExample } from '../responses.js';
import { NameParams } from './topologies.schemas.js';
import { MAX_REVISION } from './topologies.schemas.js';
import { Port, Protocol } from './traces.schemas.js';
import { DEFAULT_MAX_ANSWER_BYTES } from '../../answer/size.js';
import { DecidedBy, ServiceDecidedBy } from '../../answer/decided.js';

export const ReachabilityQuery = Type.Object(
  {
    namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 253, examples: ['default'] })),
    node: Type.Optional(Type.String({ minLength: 1, maxLength: 253, examples: ['node-a'] })),
    revision: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_REVISION, examples: [1] })),
    format: Type.Optional(
      Type.Union([Type.Literal('json'), Type.Literal('rows'), Type.Literal('csv'), Type.Literal('svg')], {
        description: '`json`: rows of letters; `rows`: one JSON object per pair; `csv`: the same as CSV; `svg`: a heat map. Without it, `Accept` decides (`text/csv`, `image/svg+xml`), else `json`.',
      }),
    ),
    protocol: Type.Optional(CloneType(Protocol, { description: 'The protocol of every flow (default icmp): NetworkPolicy rules match on it.', examples: ['tcp'] })),
    port: Type.Optional(CloneType(Port, { description: 'The destination port of every flow; with `protocol=tcp`, `udp` or `sctp` (400 otherwise).', examples: [80] })),
    to: Type.Optional(
      Type.Union([Type.Literal('pods'), Type.Literal('services')], {
        default: 'pods',
        description:
          '`pods`: pod to pod. `services`: which pod reaches which Service on which port — one column per Service port with a ' +
          'ClusterIP (`services`; `protocol` and `port` select among them), each cell the worst outcome over its endpoints, as ' +
          'a trace to `svc/<namespace>/<name>` with that port answers it. Every format: `rows` and `csv` are one entry per ' +
          'pod and Service port (ServiceMatrixRow), `svg` a heat map of pods by Service ports.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ReachabilityAnswer = Type.Object({
  topology: Type.Object({ name: Type.String(), revision: Type.Integer() }),
  protocol: Type.Optional(Type.String({ description: 'The protocol asked for.' })),
  port: Type.Optional(Type.Integer({ description: 'The destination port asked for.' })),
  endpoints: Type.Array(Type.Object({ name: Type.String(), node: Type.Union([Type.String(), Type.Null()]), address: Type.String() })),
  services: Type.Optional(
    Type.Array(
      Type.Object({
        name: Type.String({ description: '`svc/<namespace>/<name>`, as a trace\'s `to` takes it.' }),
        port: Type.Integer(),
        portName: Type.Optional(Type.String()),
        protocol: Type.Union([Type.Literal('TCP'), Type.Literal('UDP'), Type.Literal('SCTP')]),
        address: Type.String({ description: 'The ClusterIP traced to.' }),
      }),
      { description: 'With `to=services`: the columns, one per Service port with a ClusterIP; rows[i][j] is from endpoints[i] to services[j].' },
    ),
  ),
  legend: Type.Record(Type.String(), Type.String(), { description: 'The letter used in rows for each disposition; "-" is a pod to itself, "?" no common address family.' }),
  rows: Type.Array(Type.String(), { description: 'rows[i][j] is the outcome from endpoints[i] to endpoints[j].' }),
  counts: Type.Record(Type.String(), Type.Integer()),
  pairs: Type.Integer(),
  traced: Type.Integer({ description: 'Traces it took: pods that the kernel cannot tell apart share one trace per destination.' }),
});
export type ReachabilityAnswerDoc = Static<typeof ReachabilityAnswer>;

const Nullable = (description: string) => Type.Union([Type.String(), Type.Null()], { description });
/** The source pod's columns, the first of every row of both matrices. */
const SourcePod = {
  from: Type.String({ description: 'The source pod (namespace/name).' }),
  fromNamespace: Nullable("The source pod's namespace."),
  fromNode: Nullable("The source pod's node."),
  fromAddress: Type.String(),
};
/** One ordered pair of pods and its outcome: `format=rows` answers an array of these, `format=csv` the same columns. */
export const MatrixRow = Type.Object({
  ...SourcePod,
  to: Type.String({ description: 'The destination pod.' }),
  toNamespace: Nullable("The destination pod's namespace."),
  toNode: Nullable("The destination pod's node."),
  toAddress: Type.String(),
  disposition: Type.Union([Type.String(), Type.Null()], { description: 'The outcome (a disposition); null when the two pods have no address family in common.' }),
  decidedBy: Type.Optional(
    Type.Array(DecidedBy, {
      description:
        'The policies that decided the pair, per direction that one decided (egress at the source pod, then ingress at ' +
        'the destination): the rule that allowed or denied, or for a NetworkPolicy denial every policy isolating the ' +
        'pod. Absent when no policy decided (no policy isolates either pod). A trace of the pair says why, rule part by part.',
    }),
  ),
});
/** One pod and Service port of the pods × Services matrix and its outcome (`to=services&format=rows`; `csv` the same columns). */
export const ServiceMatrixRow = Type.Object({
  ...SourcePod,
  service: Type.String({ description: 'The Service (namespace/name); a trace takes it as `to=svc/<namespace>/<name>`.' }),
  serviceNamespace: Type.String(),
  clusterIP: Type.String({ description: 'The ClusterIP traced to.' }),
  port: Type.Integer({ description: 'The Service port (spec.ports[].port).' }),
  portName: Nullable("The port's name, null when it has none."),
  protocol: Type.Union([Type.Literal('TCP'), Type.Literal('UDP'), Type.Literal('SCTP')]),
  endpoint: Nullable(
    'The endpoint (address:port) kube-proxy sent the reported path to: the cell is the worst of the paths over every ' +
      'endpoint, as a trace answers. Null where kube-proxy refused the packet, or for the letters alone.',
  ),
  disposition: Type.Union([Type.String(), Type.Null()], { description: "The outcome; null when the pod has no address of the Service's family." }),
  decidedBy: Type.Optional(
    Type.Array(Type.Union([ServiceDecidedBy, DecidedBy]), {
      description:
        'What decided the reported path: kube-proxy refusing the packet (`kind: Service`: no usable endpoint, or Local ' +
        'traffic policy without one on the node, with the DNAT step\'s verdict), and the policies on the way as the pod ' +
        "matrix's decidedBy names them (egress at the source pod, ingress at the endpoint). Absent when nothing decided.",
    }),
  ),
});
/** The JSON forms of the matrix: the letters (format=json) or the rows (format=rows) of pod pairs or of pods and Service ports. */
export const ReachabilityJson = Type.Union([ReachabilityAnswer, Type.Array(MatrixRow), Type.Array(ServiceMatrixRow)]);

const reachabilityMatrixDoc = {
  tags: ['traces'],
  operationId: 'reachabilityMatrix',
  summary: 'Which pods reach which',
  description: 'The outcome of every ordered pair of pods (optionally only the pods of one `namespace` or `node`), as rows of one\n' +
    'letter per destination (`legend` says which disposition each letter is; `-` is a pod to itself, `?` a pair without\n' +
    'a common address family), with counts. Pods the kernel cannot tell apart (the same routes, links on the same\n' +
    'layer-2 domains in the same state) share one trace per destination, so a 1,000-pod matrix takes well under a\n' +
    'second. `format=svg` (or `Accept: image/svg+xml`) draws it as a heat map: a cell per pair up to 400 pods, past that a\n' +
    'block per pair of namespaces (or nodes, or runs of them), coloured by its most frequent outcome and titled with every\n' +
    'count; ask for a `namespace` or a `node` to see its pods. At most 5,000 pods (413 beyond).\n' +
    'For dashboards and spreadsheets, `format=rows` answers one object per ordered pair of distinct pods\n' +
    '(`[{from, to, disposition, …}]`, as Grafana\'s Infinity datasource takes it) and `format=csv` (or `Accept: text/csv`)\n' +
    'the same columns as CSV; both are refused (422 `answer-too-large`) past `MAX_ANSWER_BYTES`: ask for a namespace or a node.\n' +
    'Where policies decide (NetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy), each row names them in\n' +
    '`decidedBy` (direction, verdict, kind, namespace, name, rule index), the CSV in a `decidedBy` column, and the SVG in\n' +
    "each cell's title.\n" +
    '`to=services` answers the same formats for pods × Service ports: `format=rows` one object per pod and Service port\n' +
    '(`[{from, service, port, protocol, endpoint, disposition, decidedBy, …}]`, decidedBy naming kube-proxy\'s refusal or\n' +
    'the policy that denied), `format=csv` the same columns, `format=svg` a heat map with a column per Service port; the\n' +
    'same limits hold (422 past `MAX_ANSWER_BYTES`, refused before tracing where the size is known).\n',
  response: {
    200: {
      description: 'The matrix.',
      content: {
        'application/json': {
          schema: ReachabilityJson,
          examples: {
            letters: {
              summary: 'format=json',
              value: {
            topology: { name: 'two-nodes', revision: 1 },
            endpoints: [
              { name: 'default/pod-a1', node: 'node-a', address: '10.1.1.2' },
              { name: 'default/pod-a2', node: 'node-a', address: '10.1.1.3' },
              { name: 'default/pod-b1', node: 'node-b', address: '10.1.2.2' },
              { name: 'kube-system/kube-proxy-a', node: 'node-a', address: '192.168.0.11' },
            ],
            legend: { ...LEGEND },
            rows: ['-DDD', 'D-DD', 'DD-D', 'DDD-'],
            counts: { DELIVERED: 12 },
            pairs: 12,
            traced: 10,
              },
            },
            serviceRows: {
              summary: 'to=services&format=rows',
              value: [
                {
                  from: 'default/pod-a1', fromNamespace: 'default', fromNode: 'node-a', fromAddress: '10.1.1.2', service: 'default/web', serviceNamespace: 'default',
                  clusterIP: '10.96.100.1', port: 80, portName: 'http', protocol: 'TCP', endpoint: null, disposition: 'DENIED',
                  decidedBy: [{ kind: 'Service', verdict: 'DENIED', namespace: 'default', name: 'web', dnat: 'no-local-endpoints', node: 'node-a' }],
                },
              ],
            },
            rows: {
              summary: 'format=rows',
              value: [
                { from: 'default/pod-a1', fromNamespace: 'default', fromNode: 'node-a', fromAddress: '10.1.1.2', to: 'default/pod-b1', toNamespace: 'default', toNode: 'node-b', toAddress: '10.1.2.2', disposition: 'DELIVERED' },
                {
                  from: 'ops/probe', fromNamespace: 'ops', fromNode: 'node-b', fromAddress: '10.1.2.3', to: 'shop/db', toNamespace: 'shop', toNode: 'node-b', toAddress: '10.1.2.2', disposition: 'DENIED',
                  decidedBy: [{ direction: 'ingress', verdict: 'DENIED', kind: 'NetworkPolicy', namespace: 'shop', name: 'db-from-web' }],
                },
              ],
            },
          },
        },
        'text/csv': {
          schema: { type: 'string' },
          example:
            'from,fromNamespace,fromNode,fromAddress,to,toNamespace,toNode,toAddress,disposition,decidedBy\r\n' +
            'default/pod-a1,default,node-a,10.1.1.2,default/pod-b1,default,node-b,10.1.2.2,DELIVERED,\r\n' +
            'ops/probe,ops,node-b,10.1.2.3,shop/db,shop,node-b,10.1.2.2,DENIED,ingress DENIED by NetworkPolicy shop/db-from-web (no rule admits)\r\n',
        },
        'image/svg+xml': {
          schema: { type: 'string' },
          example: '<svg xmlns="http://www.w3.org/2000/svg" width="560" height="…" viewBox="…">\n' +
            '<title>two-nodes revision 1: 12 of 12 pod pairs delivered</title>\n' +
            '…\n' +
            '</svg>\n',
        },
      },
    },
    400: BadRequest,
    404: NotFound,
    503: Busy,
    422: problemResponse(
      'The rows, the CSV or the SVG would pass `MAX_ANSWER_BYTES` (an SVG first drops what decided each cell, the policies or kube-proxy\'s verdict, from its cells\' ' +
        'titles, and says so in its title): nothing is answered; ask for the pods of one namespace or node.',
      answerTooLargeExample(
        '/v1/topologies/prod/reachability',
        '24990000 pairs as CSV would be larger than the limit of 33554432 bytes (MAX_ANSWER_BYTES); ask for the pods of one namespace or node (namespace=, node=), or for the letters (format=json), one byte a pair',
      ),
    ),
    413: problemResponse(
      'More than 5,000 pods; filter by namespace or node.',
      {
        type: 'urn:pathtrace:problem:payload-too-large',
        title: 'Request body too large',
        status: 413,
        detail: '7000 pods: a matrix answers at most 5000; filter by namespace or node',
        instance: '/v1/topologies/prod/reachability',
      },
    ),
  },
};

/** Whether Accept asks for CSV (text/csv without q=0). */
const acceptsCsv = (accept: string): boolean =>
  accept.split(',').some((range) => {
    const [type, ...params] = range.toLowerCase().split(';').map((p) => p.trim());
    return type === 'text/csv' && !params.some((p) => /^q=0(\.0*)?$/.test(p));
  });

/** The format asked for: `format=` wins, then Accept (CSV, SVG), then the letters. */
function matrixFormat(format: 'json' | 'rows' | 'csv' | 'svg' | undefined, accept: string | undefined) {
  if (format !== undefined) return format;
  if (accept !== undefined && acceptsCsv(accept)) return 'csv';
  return pickFormat(undefined, accept) === 'svg' ? 'svg' : 'json';
}

export default async function reachabilityRoutes(plain: FastifyInstance, options: { maxAnswerBytes?: number }) {
  const maxBytes = options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/topologies/:name/reachability',
    {
      schema: {
        ...reachabilityMatrixDoc,
        params: NameParams,
        querystring: ReachabilityQuery,
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const { revision: wanted, format, ...filter } = request.query;
      // A Service matrix's port selects Service ports, whatever their protocol.
      if (filter.to !== 'services') transportOf(filter.protocol, filter.port, { parameter: 'port' });
      reply.header('vary', 'Accept');
      const chosen = matrixFormat(format, request.headers.accept);
      return sendEncoded(reply, await app.work.run('matrix', [{ name, revision: wanted }], { ...filter, format: chosen, maxBytes }));
    },
  );
}
