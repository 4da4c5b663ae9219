// Writes openapi.yaml, the published contract, from the routes themselves: the app is built with @fastify/swagger, which
// reads every route's schema (summary, description, parameters, request and response schemas, examples). Run it after
// changing a route or a schema; test/openapi.test.ts fails while openapi.yaml is not current.
//
//   npx tsx tools/openapi.ts           write openapi.yaml
//   npx tsx tools/openapi.ts --check   exit 1 when openapi.yaml is not current, without writing it
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import swagger from '@fastify/swagger';
import { parse, stringify } from 'yaml';
import { buildApp } from '../src/app.js';
import { openDb } from '../src/store/db.js';
import { Cluster, Dumps, Fabric, TopologyBody, TopologyName, TopologyPutBody } from '../src/topology/schema.js';
import { ProblemDocument } from '../src/http/problem.js';
import { Status } from '../src/http/routes/health.js';
import { OPENAPI_FILE } from '../src/http/routes/openapi.js';
import { RevisionList, TopologyDocument, TopologyList, TopologyMeta, TopologyWritten } from '../src/http/routes/topologies.schemas.js';
import { AnswerHop, AnswerPath, TraceAnswer } from '../src/answer/schema.js';
import * as steps from '../src/answer/steps.js';
import { ImportAnswer, KubernetesImportBody } from '../src/http/routes/import.schemas.js';
import { BatchAnswer, BatchBody } from '../src/http/routes/traces.schemas.js';
import { WhatIfAnswer, WhatIfBody } from '../src/http/routes/whatif.schemas.js';
import { MatrixRow, ReachabilityAnswer, ReachabilityJson } from '../src/http/routes/reachability.js';
import { DiffAnswer } from '../src/answer/diff.js';


/**
 * The schemas the contract names (components.schemas), by that name. Routes inline their schemas; wherever one of these
 * appears in the generated document it is replaced by a reference, so that a generated client has one type for it.
 */
const named: Record<string, unknown> = {
  Status,
  Problem: ProblemDocument,
  TopologyName,
  Cluster,
  Fabric,
  Dumps,
  TopologyBody,
  TopologyPutBody,
  TopologyMeta,
  TopologyDocument,
  TopologyWritten,
  TopologyList,
  RevisionList,
  TraceAnswer,
  AnswerHop,
  AnswerPath,
  AnswerRoute: steps.AnswerRoute,
  OuterHeader: steps.OuterHeader,
  OriginateStep: steps.OriginateStep,
  ReceiveStep: steps.ReceiveStep,
  RouteStep: steps.RouteStep,
  EncapsulateStep: steps.EncapsulateStep,
  DecapsulateStep: steps.DecapsulateStep,
  BridgeStep: steps.BridgeStep,
  TransmitStep: steps.TransmitStep,
  DeliverStep: steps.DeliverStep,
  DropStep: steps.DropStep,
  BatchBody,
  BatchAnswer,
  WhatIfBody,
  WhatIfAnswer,
  ReachabilityAnswer,
  MatrixRow,
  ReachabilityJson,
  DiffAnswer,
  KubernetesImportBody,
  KubernetesImportAnswer: ImportAnswer,
};

const base = {
  openapi: '3.1.0',
  info: {
    title: 'pathtrace',
    version: '0.1.0',
    summary: 'Named Kubernetes cluster topologies, stored with their revisions, traced hop by hop as the Linux kernel would.',
    description: 'pathtrace stores named network topologies of Kubernetes clusters in Postgres and traces packets through them hop by\n' +
      'hop, routing them as the Linux kernel would (longest-prefix match, bridges, veth pairs, ARP, tunnels).\n' +
      '\n' +
      'A topology comes in one of two forms:\n' +
      '\n' +
      '- **cluster**: what users know, in the field names of the Kubernetes API: nodes with their addresses and pod CIDRs,\n' +
      '  pods with their IPs, and the CNI plugin that wires them (bridge, flannel, calico, cilium, weave). The service derives\n' +
      '  the network namespaces, links and routes the plugin would program.\n' +
      '- **fabric**: what the kernel sees, in the field names of `ip -j link|addr|route`: network namespaces with their\n' +
      '  links, addresses, routes, neighbours and FDB entries, and the L2 segments that join them.\n' +
      '- **dumps** (on writes only): the kernel state of real namespaces as iproute2 prints it, pasted verbatim (`ip -j -d\n' +
      '  link show`, `ip -j addr show`, `ip -j route show table all`, `ip -j neigh show`, `bridge -j fdb show` and a few\n' +
      '  sysctls, per namespace). It is converted to the fabric it describes and stored as that fabric; the answer lists in\n' +
      '  `warnings` what the fabric does not model or had to infer (veths whose peer was not dumped, segments, routes of\n' +
      '  other tables...).\n' +
      '\n' +
      'Conventions:\n' +
      '\n' +
      '- Every topology is named like a Kubernetes object (`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`). Every change creates a\n' +
      '  new revision; `ETag` carries the revision (`"3"`) and `If-Match` makes a write fail (412) instead of overwriting a\n' +
      '  change the client has not seen.\n' +
      '- Request and response bodies are JSON. Bodies are validated as sent: no type coercion, no defaults written into the\n' +
      '  stored document, unknown properties rejected.\n' +
      '- Errors are RFC 9457 problem documents (`application/problem+json`) with a stable `type`\n' +
      '  (`urn:pathtrace:problem:<slug>`) and, for invalid input, the list of offending places: JSON pointers into the body\n' +
      '  or parameter names.\n' +
      '- Lists are paged: pass the `nextCursor` of a page back as `cursor` to get the next one; `nextCursor` is null on the\n' +
      '  last page.\n' +
      '- Any request may also be answered 500 (`urn:pathtrace:problem:internal`, details only in the service\'s log), and\n' +
      '  while the service shuts down, with a plain 503.\n',
    license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
  },
  servers: [
    {
      url: 'http://127.0.0.1:8080',
      description: 'A local instance (`npm start`; HOST and PORT change the address).',
    },
  ],
  tags: [
    { name: 'topologies', description: 'Named topologies and their revisions.' },
    { name: 'trace', description: 'Packets traced hop by hop through a stored topology.' },
    { name: 'import', description: 'Topologies built from what kubectl prints.' },
    { name: 'health', description: 'Probes for orchestrators and load balancers, and metrics.' },
    { name: 'page', description: 'The web page served at `/` and its files.' },
    { name: 'contract', description: 'This document, served by the service itself.' },
  ],
  security: [{ bearer: [] }],
};

/** What every operation that needs a token may also answer. */
const AUTH_RESPONSES = {
  401: { $ref: '#/components/responses/Unauthorized' },
  403: { $ref: '#/components/responses/Forbidden' },
  429: { $ref: '#/components/responses/RateLimited' },
};

const securitySchemes = {
  bearer: {
    type: 'http' as const,
    scheme: 'bearer',
    description:
      'A token from AUTH_TOKENS or `npm run token`, or a JWT of the configured OpenID Connect issuer. Scopes: `read` (GET, batches of ' +
      'traces, what-if), `write` (also writes and imports), `admin` (both). Without authentication configured the service ' +
      'listens on loopback only and needs no token.',
  },
};

const problemOf = (description: string, example: Record<string, unknown>) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' }, example } },
});

const authResponses = {
  Unauthorized: problemOf('No bearer token, or one that is not valid (unknown, revoked, expired, not for this service). `WWW-Authenticate` says which.', {
    type: 'urn:pathtrace:problem:unauthorized',
    title: 'Authentication required',
    status: 401,
    detail: 'send a bearer token: Authorization: Bearer <token>',
  }),
  Forbidden: problemOf("The token does not grant the operation's scope.", {
    type: 'urn:pathtrace:problem:forbidden',
    title: 'Not allowed',
    status: 403,
    detail: 'POST /v1/topologies needs the write scope; this token has read',
  }),
  RateLimited: problemOf('The caller has sent more requests this minute than its budget (`Retry-After` says when to retry).', {
    type: 'urn:pathtrace:problem:rate-limited',
    title: 'Too many requests',
    status: 429,
    detail: 'more than 6000 requests a minute from token:dashboards; retry in 12 seconds, or ask the operator for a higher RATE_LIMIT',
  }),
};

/** Operations that do not declare `security: []` need a token: they may answer 401, 403 and 429 too. */
function addAuthResponses(paths: Paths) {
  for (const item of Object.values(paths)) {
    for (const op of Object.values(item)) {
      if (Array.isArray(op.security) && op.security.length === 0) continue;
      op.responses = { ...(op.responses as object), ...AUTH_RESPONSES };
    }
  }
}

type Operation = { [key: string]: unknown };
type Paths = Record<string, Record<string, Operation>>;

/**
 * A TypeBox schema as @fastify/swagger writes it into the document: a record's patternProperties become
 * additionalProperties (swagger's conversion for OpenAPI), so that the named schemas match the routes' ones.
 */
function asSwaggerWrites(node: unknown): unknown {
  if (node === null || typeof node !== 'object') return node;
  if (Array.isArray(node)) return node.map(asSwaggerWrites);
  const { patternProperties, ...rest } = node as { patternProperties?: Record<string, unknown> };
  const converted = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, asSwaggerWrites(v)]));
  return patternProperties === undefined ? converted : { ...converted, additionalProperties: asSwaggerWrites(Object.values(patternProperties)[0]) };
}

/** The same JSON whatever the order of the keys. */
function canonical(node: unknown): string {
  return JSON.stringify(node, (_, v) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

/** Replaces every occurrence of a named schema below node (and node itself unless it is that schema) by a reference. */
function refer(node: unknown, byJson: Map<string, string>, self?: string): unknown {
  if (node === null || typeof node !== 'object') return node;
  const name = byJson.get(canonical(node));
  if (name !== undefined && name !== self) return { $ref: `#/components/schemas/${name}` };
  if (Array.isArray(node)) return node.map((v) => refer(v, byJson));
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, refer(v, byJson)]));
}

/**
 * What a route's schema cannot say as JSON Schema about its request body (named examples; the whole body of a route that
 * parses its own) it says under x-request-body, which is merged into the generated requestBody here.
 */
function mergeRequestBodies(paths: Paths) {
  for (const item of Object.values(paths)) {
    for (const op of Object.values(item)) {
      const extra = op['x-request-body'] as { content?: Record<string, object> } | undefined;
      if (extra === undefined) continue;
      delete op['x-request-body'];
      const body = (op.requestBody ?? { required: true, content: {} }) as { content: Record<string, object> };
      for (const [type, media] of Object.entries(extra.content ?? {})) body.content[type] = { ...body.content[type], ...media };
      op.requestBody = { ...extra, ...body };
    }
  }
}

/** The contract as the routes declare it, as the YAML text of openapi.yaml. */
export async function openapiYaml(): Promise<string> {
  const db = await openDb({ memory: true });
  const examples = parse(readFileSync(new URL('../src/http/routes/examples.yaml', import.meta.url), 'utf8'));
  const app = await buildApp({
    db,
    beforeRoutes: async (root) => {
      // Kept as const: OpenAPI 3.1 schemas are JSON Schema, and the components then match the route schemas exactly.
      await root.register(swagger, { openapi: { ...base, components: { examples, securitySchemes } }, convertConstToEnum: false });
    },
  });
  try {
    await app.ready();
    const document = JSON.parse(JSON.stringify(app.swagger())) as { paths: Paths; components: Record<string, unknown> };
    mergeRequestBodies(document.paths);
    addAuthResponses(document.paths);
    const schemas = Object.entries(named).map(([name, schema]) => [name, asSwaggerWrites(JSON.parse(JSON.stringify(schema)))] as const);
    const byJson = new Map(schemas.map(([name, schema]) => [canonical(schema), name]));
    const { openapi, info, servers, tags, security, paths, components } = refer(document, byJson) as typeof document & Record<string, unknown>;
    components.schemas = Object.fromEntries(schemas.map(([name, schema]) => [name, refer(schema, byJson, name)]));
    components.responses = authResponses;
    return (
      '# The published HTTP contract of pathtrace, generated from the route schemas by tools/openapi.ts: do not edit it.\n' +
      stringify({ openapi, info, servers, tags, security, paths, components }, { lineWidth: 0, aliasDuplicateObjects: false })
    );
  } finally {
    await app.close();
    await db.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const yaml = await openapiYaml();
  const current = readFileSync(OPENAPI_FILE, 'utf8');
  if (process.argv.includes('--check')) {
    if (yaml !== current) {
      console.error('openapi.yaml is not current: run npx tsx tools/openapi.ts');
      process.exit(1);
    }
    console.log('openapi.yaml is current');
  } else if (yaml === current) console.log('openapi.yaml is current; nothing to write');
  else {
    writeFileSync(OPENAPI_FILE, yaml);
    console.log('openapi.yaml written');
  }
}
