// A flow asked over HTTP: its ports checked, its ends resolved and its trace made, or the problem document that says why
// it cannot be traced at all.
import type { CompiledTopology, Endpoint, Transport } from '../engine/topology.js';
import { EndpointError } from '../engine/topology.js';
import { Addr } from '../engine/addr.js';
import { EndpointNotCandidate } from '../engine/service/nat.js';
import { resolveService, SERVICE_PREFIX, ServiceRefError, type ResolvedService } from '../engine/service/resolve.js';
import { traceEntering, traceFromSource } from '../engine/entry.js';
import type { Trace } from '../engine/trace.js';
import { traceAnswer, traceAnswerJson, type AnswerOptions, type FlowRequest } from './trace-answer.js';
import type { BareTraceAnswer, TraceAnswer } from './schema.js';
import { Problem } from './problem.js';

type Parameter = 'from' | 'to' | 'family' | 'enter' | 'src';

function endpointProblem(err: EndpointError, parameter: Parameter): Problem {
  const status = err.reason === 'unknown' ? 404 : 400;
  const slug = err.reason === 'unknown' ? 'unknown-endpoint' : err.reason === 'ambiguous' ? 'ambiguous-endpoint' : 'invalid-request';
  return new Problem(status, slug, err.message, {
    errors: [{ parameter, detail: err.message }],
    ...(err.candidates.length > 0 ? { candidates: err.candidates } : {}),
  });
}

function resolve(compiled: CompiledTopology, text: string, role: 'source' | 'destination', parameter: 'from' | 'to' | 'enter'): Endpoint {
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

/** `to=svc/<namespace>/<name>`: the Service's port (by `port`, number or name, or its only one) and ClusterIPs. */
function serviceEnd(compiled: CompiledTopology, flow: FlowRequest): ResolvedService {
  try {
    const protocol = flow.protocol === 'icmp' ? undefined : flow.protocol;
    return resolveService(compiled.services, flow.to, flow.port ?? flow.dstPort, protocol);
  } catch (err) {
    if (!(err instanceof ServiceRefError)) throw err;
    const parameter = err.reason === 'port' ? 'port' : 'to';
    throw new Problem(err.reason === 'unknown' ? 404 : 400, err.reason === 'unknown' ? 'unknown-endpoint' : 'invalid-request', err.message, {
      errors: [{ parameter, detail: err.message }],
      ...(err.candidates.length > 0 ? { candidates: err.candidates } : {}),
    });
  }
}

/** Traces a flow; a flow that cannot be traced at all (unknown or ambiguous names, no common family) throws a Problem. */
/** `established`: the flow is a reply within a connection that was allowed, which no policy is evaluated for. */
export function traceFlow(compiled: CompiledTopology, flow: FlowRequest, established = false): { ends: { from: Endpoint; to: Endpoint }; trace: Trace } {
  const service = flow.to.startsWith(SERVICE_PREFIX) ? serviceEnd(compiled, flow) : undefined;
  // A Service's port says its protocol: a trace to it needs no protocol of its own.
  const protocol = service?.protocol ?? flow.protocol ?? 'icmp';
  checkPorts(flow, protocol);
  const address = (parameter: 'from' | 'src', text: string) => {
    const a = Addr.tryParse(text);
    if (a === undefined) {
      throw new Problem(400, 'invalid-request', `${parameter}=${text} is not an IPv4 or IPv6 address`, { errors: [{ parameter, detail: 'is not an IPv4 or IPv6 address' }] });
    }
    return a;
  };
  // A client outside the model: `from` is its address, `enter` where its packet comes in.
  const outside = flow.enter === undefined ? undefined : { src: address('from', flow.from), at: resolve(compiled, flow.enter, 'source', 'enter') };
  const from = outside
    ? { name: flow.from, kind: 'address' as const, netns: undefined, addrs: [outside.src], v4: undefined, v6: undefined }
    : resolve(compiled, flow.from, 'source', 'from');
  const to: Endpoint = service
    ? {
        name: service.name,
        kind: 'service',
        netns: undefined,
        addrs: service.clusterIPs,
        v4: service.clusterIPs.find((a) => a.family === 4),
        v6: service.clusterIPs.find((a) => a.family === 6),
      }
    : resolve(compiled, flow.to, 'destination', 'to');
  let endpoint: Addr | undefined;
  if (flow.endpoint !== undefined) {
    endpoint = Addr.tryParse(flow.endpoint);
    if (endpoint === undefined) {
      throw new Problem(400, 'invalid-request', `endpoint ${JSON.stringify(flow.endpoint)} is not an IPv4 or IPv6 address`, {
        errors: [{ parameter: 'endpoint', detail: 'is not an IPv4 or IPv6 address' }],
      });
    }
  }
  // A port name is the Service's (resolved above) or else one of the destination pod's container ports.
  const dstPort = service?.port ?? (typeof flow.port === 'string' ? namedPort(compiled, to, flow.port, protocol) : (flow.dstPort ?? flow.port));
  const transport: Transport = { protocol, srcPort: flow.srcPort, dstPort, endpoint, established };
  const ttl = flow.ttl ?? 64;
  try {
    const trace = outside
      ? traceEntering(compiled, outside.src, outside.at, to, ttl, transport)
      : flow.src !== undefined
        ? traceFromSource(compiled, from, address('src', flow.src), to, ttl, transport)
        : compiled.trace(from, to, ttl, flow.family, transport);
    return { ends: { from, to }, trace };
  } catch (err) {
    if (err instanceof EndpointError) {
      const parameter = err.reason === 'outside' && flow.src !== undefined ? 'src' : outside && err.reason === 'unknown' ? 'enter' : flow.family === undefined ? 'to' : 'family';
      throw endpointProblem(err, parameter);
    }
    if (err instanceof EndpointNotCandidate) {
      throw new Problem(400, 'invalid-request', err.message, {
        errors: [{ parameter: 'endpoint', detail: err.message }],
        candidates: [...err.candidates],
      });
    }
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

/** answerFlow's answer as its JSON text (traceAnswerJson). */
export function answerFlowJson(compiled: CompiledTopology, topology: { name: string; revision: number }, flow: FlowRequest, options?: AnswerOptions) {
  const { ends, trace } = traceFlow(compiled, flow);
  return traceAnswerJson(compiled, topology, flow, ends, trace, options);
}
