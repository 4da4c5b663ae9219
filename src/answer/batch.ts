// Many flows through one compiled revision, each answered as a single trace would be (or with the problem that kept it
// from being traced), optionally there and back, with counts by disposition: the batch endpoint's and the what-if's answer.
import type { Static } from '@sinclair/typebox';
import type { CompiledTopology } from '../engine/topology.js';
import type { TraceAnswer } from './schema.js';
import type { BatchItem } from '../http/routes/traces.schemas.js';
import { Problem, problemBody } from './problem.js';
import type { FlowRequest } from './trace-answer.js';
import { answerFlow } from './flow.js';

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
