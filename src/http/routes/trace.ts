// GET /v1/topologies/{name}/trace: what happens to a packet from one endpoint to another.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { TraceAnswer, TraceParams, TraceQuery } from './trace.schemas.js';
import { sendAnswer, type Format } from '../formats.js';
import { answerFlow } from '../trace-answer.js';

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
