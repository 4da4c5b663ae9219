// Many flows through one compiled revision, each answered as a single trace would be (or with the problem that kept it
// from being traced), optionally there and back, with counts by disposition: the batch endpoint's and the what-if's answer.
import type { Static } from '@sinclair/typebox';
import type { CompiledTopology } from '../engine/topology.js';
import { worstPath, type Trace } from '../engine/trace.js';
import type { BareTraceAnswer } from './schema.js';
import type { BatchItem } from '../http/routes/traces.schemas.js';
import { Problem, problemBody } from './problem.js';
import { traceAnswer, type AnswerOptions, type FlowRequest } from './trace-answer.js';
import { traceFlow } from './flow.js';
import { answerTooLarge, jsonBytes } from './size.js';

/** Flows in one batch or what-if: a bound on the work and the answer of one request (413 beyond). */
export const MAX_FLOWS = 10_000;

type Item = Static<typeof BatchItem>;

/** The flow back: from the destination to the source, the ports swapped (`there`: the forward trace's destination port, a named one resolved). */
function reversed(flow: FlowRequest, from: string, to: string, there: number | undefined): FlowRequest {
  const { port: _, srcPort, dstPort: __, ...rest } = flow;
  return { ...rest, from, to, ...(there !== undefined ? { srcPort: there } : {}), ...(srcPort !== undefined ? { dstPort: srcPort } : {}) };
}

/** The netns that route the packet on the path the answer shows (the worst): what the ways there and back are compared by. */
const routed = (t: Trace) =>
  t.paths[worstPath(t.paths)]!.hops.filter((h) => h.steps.some((s) => s.type === 'ROUTE' || s.type === 'DELIVER')).map((h) => h.netns.name);

export interface BatchOptions extends AnswerOptions {
  bidirectional: boolean;
  /** The most bytes the answer may take (MAX_ANSWER_BYTES): past them the batch stops with a 422. */
  maxBytes: number;
}

/** Every flow's answer, or a 422 Problem as soon as the answers so far pass options.maxBytes. */
export function traceFlows(compiled: CompiledTopology, topology: { name: string; revision: number }, flows: FlowRequest[], options: BatchOptions) {
  const { bidirectional, maxBytes } = options;
  const byDisposition: Record<string, number> = {};
  let errors = 0;
  const attempt = (flow: FlowRequest): { answer: Omit<BareTraceAnswer, 'topology'>; engine: Trace } | { error: ReturnType<typeof problemBody> } => {
    try {
      const { ends, trace } = traceFlow(compiled, flow);
      const { topology: _, ...answer } = traceAnswer(compiled, topology, flow, ends, trace, options);
      return { answer, engine: trace };
    } catch (err) {
      if (err instanceof Problem) return { error: problemBody(err) };
      throw err;
    }
  };
  const itemOf = (flow: FlowRequest): Item => {
    const there = attempt(flow);
    if ('error' in there) {
      errors++;
      return { flow, error: there.error };
    }
    const trace = there.answer;
    byDisposition[trace.disposition] = (byDisposition[trace.disposition] ?? 0) + 1;
    if (!bidirectional) return { flow, trace };
    if (trace.destination.netns === null) return { flow, trace, return: null };
    const back = attempt(reversed(flow, trace.destination.name, trace.source.name, there.engine.flow.dstPort));
    if ('error' in back) return { flow, trace, return: null, returnError: back.error };
    return {
      flow,
      trace,
      return: back.answer,
      asymmetric: routed(there.engine).join('\n') !== routed(back.engine).reverse().join('\n'),
      returnFails: (trace.disposition === 'DELIVERED') !== (back.answer.disposition === 'DELIVERED'),
    };
  };
  const traces: Item[] = [];
  let bytes = 0;
  for (const flow of flows) {
    const item = itemOf(flow);
    // Each answer is counted as it is made, so that a batch too large to send stops here, not after its last flow.
    const size = jsonBytes(item) + 1;
    if (bytes + size > maxBytes) {
      const done = traces.length;
      throw answerTooLarge(
        maxBytes,
        `: the first ${done} of ${flows.length} flows took ${bytes} bytes, and flow ${done + 1} (${flow.from} → ${flow.to}) would pass it`,
        `, or fewer flows per request (${done} fit)`,
      );
    }
    bytes += size;
    traces.push(item);
  }
  return { topology, count: { flows: flows.length, errors, byDisposition }, traces };
}
