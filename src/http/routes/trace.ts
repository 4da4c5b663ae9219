// GET /v1/topologies/{name}/trace: what happens to a packet from one endpoint to another.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { TopologyName } from '../../topology/schema.js';
import { TraceAnswer } from '../../answer/schema.js';
import { Family, Port, Size } from './traces.schemas.js';
import { sendAnswer, type Format } from '../formats.js';
import { answerFlow } from '../flow.js';

export const TraceParams = Type.Object({ name: TopologyName }, { additionalProperties: false });

export const TraceQuery = Type.Object(
  {
    from: Type.String({ minLength: 1, maxLength: 253, description: 'An address, a pod (namespace/name, or a bare name when unique), a node or a netns.' }),
    to: Type.String({ minLength: 1, maxLength: 253, description: 'Like from; may also be an address that nobody in the topology owns.' }),
    protocol: Type.Union([Type.Literal('icmp'), Type.Literal('tcp'), Type.Literal('udp')], { default: 'icmp' }),
    port: Type.Optional(Port),
    srcPort: Type.Optional(Port),
    dstPort: Type.Optional(Port),
    family: Type.Optional(Family),
    size: Type.Optional(Size),
    ttl: Type.Integer({ minimum: 1, maximum: 255, default: 64 }),
    revision: Type.Optional(Type.Integer({ minimum: 1 })),
    format: Type.Optional(
      Type.Union(['json', 'text', 'markdown', 'mermaid', 'svg'].map((f) => Type.Literal(f)), {
        description: 'The answer format; overrides Accept (application/json, text/plain, text/markdown, text/vnd.mermaid, image/svg+xml).',
      }),
    ),
  },
  { additionalProperties: false },
);

export default async function traceRoutes(plain: FastifyInstance) {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/topologies/:name/trace',
    { schema: { params: TraceParams, querystring: TraceQuery, response: { 200: TraceAnswer } } },
    async (request, reply) => {
      const { name } = request.params;
      const { format, revision: wanted, ...flow } = request.query;
      const { revision, compiled } = await app.compiled.get(name, wanted);
      return sendAnswer(request, reply, answerFlow(compiled, { name, revision }, flow), format as Format | undefined);
    },
  );
}
