// GET /v1/topologies/{name}/reachability: the disposition of every ordered pair of pods, as JSON or an SVG heat map.
import type { FastifyInstance } from 'fastify';
import { sendEncoded } from '../work.js';
import { LEGEND } from '../../answer/matrix.js';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { CloneType, Type, type Static } from '@sinclair/typebox';
import { pickFormat } from '../formats.js';
import { BadRequest, NotFound, problemResponse, Busy } from '../responses.js';
import { NameParams } from './topologies.schemas.js';
import { Problem } from '../problem.js';
import { MAX_REVISION } from './topologies.schemas.js';
import { Port, Protocol } from './traces.schemas.js';


export const ReachabilityQuery = Type.Object(
  {
    namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 253, examples: ['default'] })),
    node: Type.Optional(Type.String({ minLength: 1, maxLength: 253, examples: ['node-a'] })),
    revision: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_REVISION, examples: [1] })),
    format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('svg')])),
    protocol: Type.Optional(CloneType(Protocol, { description: 'The protocol of every flow (default icmp): NetworkPolicy rules match on it.', examples: ['tcp'] })),
    port: Type.Optional(CloneType(Port, { description: 'The destination port of every flow; with `protocol=tcp`, `udp` or `sctp` (400 otherwise).', examples: [80] })),
  },
  { additionalProperties: false },
);

export const ReachabilityAnswer = Type.Object({
  topology: Type.Object({ name: Type.String(), revision: Type.Integer() }),
  protocol: Type.Optional(Type.String({ description: 'The protocol asked for.' })),
  port: Type.Optional(Type.Integer({ description: 'The destination port asked for.' })),
  endpoints: Type.Array(Type.Object({ name: Type.String(), node: Type.Union([Type.String(), Type.Null()]), address: Type.String() })),
  legend: Type.Record(Type.String(), Type.String(), { description: 'The letter used in rows for each disposition; "-" is a pod to itself, "?" no common address family.' }),
  rows: Type.Array(Type.String(), { description: 'rows[i][j] is the outcome from endpoints[i] to endpoints[j].' }),
  counts: Type.Record(Type.String(), Type.Integer()),
  pairs: Type.Integer(),
  traced: Type.Integer({ description: 'Traces it took: pods that the kernel cannot tell apart share one trace per destination.' }),
});
export type ReachabilityAnswerDoc = Static<typeof ReachabilityAnswer>;

const reachabilityMatrixDoc = {
  tags: ['traces'],
  operationId: 'reachabilityMatrix',
  summary: 'Which pods reach which',
  description: 'The outcome of every ordered pair of pods (optionally only the pods of one `namespace` or `node`), as rows of one\n' +
    'letter per destination (`legend` says which disposition each letter is; `-` is a pod to itself, `?` a pair without\n' +
    'a common address family), with counts. Pods the kernel cannot tell apart (the same routes, links on the same\n' +
    'layer-2 domains in the same state) share one trace per destination, so a 1,000-pod matrix takes well under a\n' +
    'second. `format=svg` (or `Accept: image/svg+xml`) draws it as a heat map. At most 5,000 pods (413 beyond).\n',
  response: {
    200: {
      description: 'The matrix.',
      content: {
        'application/json': {
          schema: ReachabilityAnswer,
          example: {
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

export default async function reachabilityRoutes(plain: FastifyInstance) {
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
      if (filter.port !== undefined && (filter.protocol ?? 'icmp') === 'icmp') {
        throw new Problem(400, 'invalid-request', 'port goes with protocol=tcp, udp or sctp', {
          errors: [{ parameter: 'port', detail: 'needs protocol tcp, udp or sctp' }],
        });
      }
      const chosen = format ?? (pickFormat(undefined, request.headers.accept) === 'svg' ? 'svg' : 'json');
      reply.header('vary', 'Accept');
      return sendEncoded(reply, await app.work.run('matrix', [{ name, revision: wanted }], { ...filter, format: chosen }));
    },
  );
}
