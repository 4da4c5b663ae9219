// One flow, asked of one compiled topology revision, answered as the API's trace answer. Shared by the single trace, the
// batch, the what-if endpoint and the chat integration, so they all say the same thing about the same flow.
import type { CompiledTopology, Endpoint } from '../engine/topology.js';
import { EndpointError } from '../engine/topology.js';
import { explain } from '../engine/explain.js';
import type { Answer } from '../render/answer.js';
import { Problem } from './problem.js';

export interface FlowRequest {
  from: string;
  to: string;
  protocol?: 'icmp' | 'tcp' | 'udp';
  port?: number;
  ttl?: number;
}

function endpointProblem(err: EndpointError, parameter: 'from' | 'to'): Problem {
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

/** Traces a flow; a flow that cannot be traced at all (unknown or ambiguous names, no common family) throws a Problem. */
export function answerFlow(compiled: CompiledTopology, topology: { name: string; revision: number }, flow: FlowRequest): Answer {
  const protocol = flow.protocol ?? 'icmp';
  if (flow.port !== undefined && protocol === 'icmp') {
    throw new Problem(400, 'invalid-request', 'port goes with protocol=tcp or protocol=udp', {
      errors: [{ parameter: 'port', detail: 'needs protocol tcp or udp' }],
    });
  }
  const from = resolve(compiled, flow.from, 'source', 'from');
  const to = resolve(compiled, flow.to, 'destination', 'to');
  let t;
  try {
    t = compiled.trace(from, to, flow.ttl ?? 64);
  } catch (err) {
    if (err instanceof EndpointError) throw endpointProblem(err, 'to');
    throw err;
  }
  const report = explain(compiled.fabric, t, { from: from.name, to: to.name });
  const visited = new Set(t.paths.flatMap((p) => p.hops.map((h) => h.netns)));
  const endpoint = (e: Endpoint, address: string) => ({ name: e.name, kind: e.kind, netns: e.netns?.name ?? null, address });
  return {
    topology,
    flow: {
      src: t.flow.src.toString(),
      dst: t.flow.dst.toString(),
      protocol,
      ...(flow.port !== undefined ? { port: flow.port } : {}),
      ttl: t.flow.ttl,
    },
    source: endpoint(from, t.flow.src.toString()),
    destination: endpoint(to, t.flow.dst.toString()),
    disposition: report.disposition,
    summary: report.summary,
    hops: report.hops,
    ...(report.paths ? { paths: report.paths } : {}),
    notes: [...visited].flatMap((ns) => ns.ignored.map((note) => `${ns.name}: ${note}`)),
  };
}
