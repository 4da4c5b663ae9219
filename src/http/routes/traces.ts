// POST /v1/topologies/{name}/traces: many flows in one answer (dashboards), optionally there and back.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Static } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { CompiledTopology } from '../../engine/topology.js';
import type { TraceAnswer } from '../../answer/schema.js';
import { Problem, problemBody } from '../problem.js';
import type { FlowRequest } from '../../answer/trace-answer.js';
import { answerFlow } from '../flow.js';
import { BatchAnswer, BatchBody, BatchParams, BatchQuery, MAX_FLOWS, type BatchItem } from './traces.schemas.js';

type Item = Static<typeof BatchItem>;

/** The flow back: from the destination to the source, the ports swapped. */
function reversed(flow: FlowRequest, from: string, to: string): FlowRequest {
  const { port, srcPort, dstPort, ...rest } = flow;
  const there = dstPort ?? port;
  return { ...rest, from, to, ...(there !== undefined ? { srcPort: there } : {}), ...(srcPort !== undefined ? { dstPort: srcPort } : {}) };
}

const routed = (a: Pick<TraceAnswer, 'hops'>) => a.hops.filter((h) => h.steps.some((s) => s.type === 'ROUTE' || s.type === 'DELIVER')).map((h) => h.netns);

export function traceFlows(compiled: CompiledTopology, topology: { name: string; revision: number }, flows: FlowRequest[], bidirectional: boolean) {
  const byDisposition: Record<string, number> = {};
  let errors = 0;
  const attempt = (flow: FlowRequest): { trace: Omit<TraceAnswer, 'topology'> } | { error: ReturnType<typeof problemBody> } => {
    try {
      const { topology: _, ...trace } = answerFlow(compiled, topology, flow);
      return { trace };
    } catch (err) {
      if (err instanceof Problem) return { error: problemBody(err) };
      throw err;
    }
  };
  const traces = flows.map((flow): Item => {
    const there = attempt(flow);
    if ('error' in there) {
      errors++;
      return { flow, error: there.error };
    }
    byDisposition[there.trace.disposition] = (byDisposition[there.trace.disposition] ?? 0) + 1;
    if (!bidirectional) return { flow, trace: there.trace };
    const dst = there.trace.destination;
    if (dst.netns === null) return { flow, trace: there.trace, return: null };
    const back = attempt(reversed(flow, dst.name, there.trace.source.name));
    if ('error' in back) return { flow, trace: there.trace, return: null, returnError: back.error };
    const forth = routed(there.trace);
    const returned = routed(back.trace).reverse();
    return {
      flow,
      trace: there.trace,
      return: back.trace,
      asymmetric: forth.join('\n') !== returned.join('\n'),
      returnFails: (there.trace.disposition === 'DELIVERED') !== (back.trace.disposition === 'DELIVERED'),
    };
  });
  return { topology, count: { flows: flows.length, errors, byDisposition }, traces };
}

export default async function tracesRoutes(plain: FastifyInstance) {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/topologies/:name/traces',
    { schema: { params: BatchParams, querystring: BatchQuery, body: BatchBody, response: { 200: BatchAnswer } } },
    async (request, reply) => {
      const { flows, bidirectional, revision: wanted } = request.body;
      if (flows.length > MAX_FLOWS) {
        throw new Problem(413, 'payload-too-large', `${flows.length} flows in one request; the limit is ${MAX_FLOWS}: split the batch`);
      }
      const { name } = request.params;
      const { revision, compiled } = await app.compiled.get(name, wanted);
      const answer = traceFlows(compiled, { name, revision }, flows, bidirectional ?? false);
      const text = request.query.format === 'text' || (request.query.format === undefined && /^text\/plain/.test(request.headers.accept ?? ''));
      if (!text) return answer;
      const lines = answer.traces.map((t, i) => {
        const head = `${i + 1}. ${t.trace ? t.trace.summary : `ERROR ${t.flow.from} → ${t.flow.to}: ${t.error!.detail}`}`;
        return t.return ? `${head}\n   back: ${t.return.summary}${t.asymmetric ? ' (asymmetric)' : ''}` : head;
      });
      // The response schema types JSON answers; the text form bypasses it.
      return (reply as FastifyReply).type('text/plain; charset=utf-8').send(`${lines.join('\n')}\n`);
    },
  );
}
