// A flow asked over HTTP: its ports checked, its ends resolved and its trace made, or the problem document that says why
// it cannot be traced at all.
import type { CompiledTopology, Endpoint } from '../engine/topology.js';
import { EndpointError } from '../engine/topology.js';
import type { Trace } from '../engine/trace.js';
import { traceAnswer, type AnswerOptions, type FlowRequest } from './trace-answer.js';
import type { BareTraceAnswer, TraceAnswer } from './schema.js';
import { Problem } from './problem.js';

type Parameter = 'from' | 'to' | 'family';

function endpointProblem(err: EndpointError, parameter: Parameter): Problem {
  const status = err.reason === 'unknown' ? 404 : 400;
  const slug = err.reason === 'unknown' ? 'unknown-endpoint' : err.reason === 'ambiguous' ? 'ambiguous-endpoint' : 'invalid-request';
  return new Problem(status, slug, err.message, {
    errors: [{ parameter, detail: err.message }],
    ...(err.candidates.length > 0 ? { candidates: err.candidates } : {}),
  });
}

function resolve(compiled: CompiledTopology, text: string, role: 'source' | 'destination', parameter: 'from' | 'to'): Endpoint {
  try {
    return compiled.resolve(text, role);
  } catch (err) {
    if (err instanceof EndpointError) throw endpointProblem(err, parameter);
    throw err;
  }
}

/** Throws a Problem for ports without tcp/udp, or for `port` and `dstPort` that differ. */
function checkPorts(flow: FlowRequest, protocol: 'icmp' | 'tcp' | 'udp' | 'sctp'): void {
  const given = (['port', 'srcPort', 'dstPort'] as const).filter((p) => flow[p] !== undefined);
  if (given.length > 0 && protocol === 'icmp') {
    throw new Problem(400, 'invalid-request', `${given.join(' and ')} ${given.length === 1 ? 'goes' : 'go'} with protocol=tcp, udp or sctp`, {
      errors: given.map((parameter) => ({ parameter, detail: 'needs protocol tcp, udp or sctp' })),
    });
  }
  if (flow.port !== undefined && flow.dstPort !== undefined && flow.port !== flow.dstPort) {
    throw new Problem(400, 'invalid-request', `port is another name for dstPort: port=${flow.port} and dstPort=${flow.dstPort} disagree`, {
      errors: [{ parameter: 'port', detail: `differs from dstPort (${flow.dstPort})` }],
    });
  }
}

/** A port name, looked up among the destination pod's container ports for the protocol, as NetworkPolicy does. */
function namedPort(compiled: CompiledTopology, to: Endpoint, name: string, protocol: string): number {
  const number = compiled.namedPort(to, name, protocol.toUpperCase());
  if (number !== undefined) return number;
  const detail = `${to.name} has no ${protocol.toUpperCase()} container port named ${name}`;
  throw new Problem(400, 'invalid-request', `port ${name} is a name, and ${detail}`, { errors: [{ parameter: 'port', detail }] });
}

/** Traces a flow; a flow that cannot be traced at all (unknown or ambiguous names, no common family) throws a Problem. */
export function traceFlow(compiled: CompiledTopology, flow: FlowRequest): { ends: { from: Endpoint; to: Endpoint }; trace: Trace } {
  checkPorts(flow, flow.protocol ?? 'icmp');
  const from = resolve(compiled, flow.from, 'source', 'from');
  const to = resolve(compiled, flow.to, 'destination', 'to');
  const protocol = flow.protocol ?? 'icmp';
  const dstPort = typeof flow.port === 'string' ? namedPort(compiled, to, flow.port, protocol) : (flow.dstPort ?? flow.port);
  const transport = { protocol, ...(flow.srcPort !== undefined ? { srcPort: flow.srcPort } : {}), ...(dstPort !== undefined ? { dstPort } : {}) };
  try {
    return { ends: { from, to }, trace: compiled.trace(from, to, flow.ttl ?? 64, flow.family, transport) };
  } catch (err) {
    if (err instanceof EndpointError) throw endpointProblem(err, flow.family === undefined ? 'to' : 'family');
    throw err;
  }
}

/** A flow's trace answer, in full unless the options ask for less; see traceFlow for the flows that throw. */
export function answerFlow(
  compiled: CompiledTopology,
  topology: { name: string; revision: number },
  flow: FlowRequest,
  options?: AnswerOptions & { detail?: 'full' },
): TraceAnswer;
export function answerFlow(compiled: CompiledTopology, topology: { name: string; revision: number }, flow: FlowRequest, options: AnswerOptions): BareTraceAnswer;
export function answerFlow(compiled: CompiledTopology, topology: { name: string; revision: number }, flow: FlowRequest, options?: AnswerOptions): BareTraceAnswer {
  const { ends, trace } = traceFlow(compiled, flow);
  return traceAnswer(compiled, topology, flow, ends, trace, options);
}
