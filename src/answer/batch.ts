// Many flows through one compiled revision, each answered as a single trace would be (or with the problem that kept it
// from being traced), optionally there and back, with counts by disposition: the batch endpoint's and the what-if's answer.
import type { Static } from '@sinclair/typebox';
import type { CompiledTopology } from '../engine/topology.js';
import { worstPath, type Trace } from '../engine/trace.js';
import type { BareHop, BareTraceAnswer } from './schema.js';
import type { BareStep } from './steps.js';
import type { Addr } from '../engine/addr.js';
import type { DnatStep as EngineDnat, SnatStep as EngineSnat } from '../engine/service/describe.js';
import { serviceJson, serviceName } from './service-steps.js';
import type { BatchItem } from '../http/routes/traces.schemas.js';
import { Problem, problemBody } from './problem.js';
import { traceAnswer, type AnswerOptions, type FlowRequest } from './trace-answer.js';
import { traceFlow } from './flow.js';
import { Buffer } from 'node:buffer';
import { answerTooLarge } from './size.js';
import { MAX_FLOWS } from '../topology/requests.js';

export function checkFlowCount(flows: number): void {
  if (flows > MAX_FLOWS) throw new Problem(413, 'payload-too-large', `${flows} flows in one request; the limit is ${MAX_FLOWS}: split the batch`);
}

type Item = Static<typeof BatchItem>;

/** The flow back: from the destination to the source, the ports swapped (`there`: the forward trace's destination port, a named one resolved). */
function reversed(flow: FlowRequest, from: string, to: string, there: number | undefined): FlowRequest {
  const { port: _, srcPort, dstPort: __, ...rest } = flow;
  return { ...rest, from, to, ...(there !== undefined ? { srcPort: there } : {}), ...(srcPort !== undefined ? { dstPort: srcPort } : {}) };
}

/** The netns that route the packet on the path the answer shows (the worst): what the ways there and back are compared by. */
const routed = (t: Trace) =>
  t.paths[worstPath(t.paths)]!.hops.filter((h) => h.steps.some((s) => s.type === 'ROUTE' || s.type === 'DELIVER')).map((h) => h.netns.name);

const ESTABLISHED =
  'a reply within the connection the request opened: NetworkPolicy and the admin policies admit it without evaluating ' +
  'their rules (conntrack), as the API defines policies over connections';

type Attempt = (flow: FlowRequest) => { answer: Omit<BareTraceAnswer, 'topology'>; engine: Trace } | { error: ReturnType<typeof problemBody> };
type Reply = Pick<Item, 'return' | 'returnError' | 'asymmetric' | 'returnFails'>;

/**
 * The way back of a flow kube-proxy DNATed (on the path the answer shows): from the endpoint to the client as the
 * endpoint saw it (the masquerade address when the request was masqueraded, which brings the reply to the node that
 * translated it; then on from that node to the client), with the UNNAT step where conntrack reverses the translation.
 * Undefined when the path has no DNAT.
 */
function serviceReply(engine: Trace, trace: Omit<BareTraceAnswer, 'topology'>, flow: FlowRequest, attempt: Attempt): Reply | undefined {
  const path = engine.paths[worstPath(engine.paths)]!;
  let dnat: EngineDnat | undefined;
  let snat: EngineSnat | undefined;
  for (const h of path.hops) {
    for (const s of h.steps) {
      if (s.type === 'DNAT' && s.to !== undefined) dnat = s;
      else if (s.type === 'SNAT') snat = s;
    }
  }
  if (dnat === undefined || dnat.to === undefined) return undefined;
  const node = dnat.netns.name;
  const endpoint = path.hops[path.hops.length - 1]!.netns.name;
  const service = `${hostPort(dnat.matched.address, dnat.matched.port)}`;
  const client = engine.flow.src;
  const { protocol } = engine.flow;
  const ports = { ...(flow.srcPort !== undefined ? { dstPort: flow.srcPort } : {}), srcPort: dnat.to.port };
  // To the client by its name when the reply is addressed to it (the summary then names it as the request did).
  const clientOutside = trace.source.netns === null;
  const to = snat !== undefined ? snat.to.toString() : clientOutside ? client.toString() : trace.source.name;
  const first = attempt({ from: endpoint, src: dnat.to.address.toString(), to, protocol, ...ports });
  if ('error' in first) return { return: null, returnError: first.error };
  const unnat = {
    type: 'UNNAT' as const,
    service: serviceJson(dnat.service),
    src: { from: hostPort(dnat.to.address, dnat.to.port), to: service },
    ...(snat !== undefined ? { dst: { from: snat.to.toString(), to: client.toString() } } : {}),
  };
  const prose = trace.hops?.[0]?.steps[0]?.explanation !== undefined;
  const said =
    `conntrack in ${node} reverses kube-proxy's translation of the request: the reply's source ${unnat.src.from} becomes ${service}, ` +
    `the ${FRONTEND[dnat.frontend]} of ${serviceName(dnat.service)} the client sent to` +
    (snat !== undefined ? `, and its destination ${snat.to} (the masquerade address) becomes the client's ${client} again` : '');
  const step = prose ? { ...unnat, explanation: said } : unnat;
  // Masqueraded by a node that is not the client: the reply to the masquerade address goes on from that node.
  const onward = snat !== undefined && trace.source.netns !== node;
  const withStep = (hops: BareHop[]) => stepIn(hops, node, step as BareStep, onward);
  const ok = (d: string) => d === 'DELIVERED' || (clientOutside && d === 'EXITS_NETWORK');
  let reply = first.answer;
  let routes = routed(first.engine);
  if (onward) {
    // The reply to the masquerade address ends in the node that masqueraded the request (its own address); conntrack
    // sends it on from there to the client.
    const atNode = first.answer.disposition === 'DELIVERED' && first.answer.hops !== undefined ? first.answer.hops.at(-1)?.netns === node : first.engine.paths[worstPath(first.engine.paths)]!.hops.at(-1)!.netns.name === node;
    if (first.answer.disposition !== 'DELIVERED' || !atNode) {
      return { return: first.answer, asymmetric: true, returnFails: true };
    }
    const on = attempt({ from: node, to: clientOutside ? client.toString() : trace.source.name, protocol, ...ports, srcPort: dnat.matched.port });
    if ('error' in on) return { return: null, returnError: on.error };
    const { hops: _, paths: __, pathCount: ___, pathsOmitted: ____, ecmp: _____, mtu: ______, ...rest } = on.answer;
    reply = {
      ...rest,
      source: first.answer.source,
      summary: `${on.answer.summary} (the reply of ${endpoint}, un-NATed in ${node})`,
      ...(first.answer.hops !== undefined && on.answer.hops !== undefined
        ? { hops: [...withStep(first.answer.hops).slice(0, -1), joined(withStep(first.answer.hops).at(-1)!, on.answer.hops[0]!), ...on.answer.hops.slice(1)], notes: [...(first.answer.notes ?? []), ...(on.answer.notes ?? [])] }
        : {}),
    };
    // The node is in both legs: once.
    routes = [...routes, ...routed(on.engine).slice(1)];
  } else {
    const crosses = routes.includes(node) || first.engine.paths[worstPath(first.engine.paths)]!.hops.some((h) => h.netns.name === node);
    if (!crosses) {
      const note =
        `the reply does not pass ${node}, where kube-proxy translated the request: conntrack cannot reverse the DNAT, and ` +
        `the client gets a reply from ${unnat.src.from}, which matches none of its connections`;
      return { return: { ...first.answer, notes: [...(first.answer.notes ?? []), note] }, asymmetric: true, returnFails: true };
    }
    reply = {
      ...first.answer,
      summary: `${first.answer.summary} (conntrack un-NATs it in ${node}: from ${service})`,
      ...(first.answer.hops !== undefined ? { hops: withStep(first.answer.hops) } : {}),
      ...(first.answer.paths !== undefined ? { paths: first.answer.paths.map((p) => ({ ...p, hops: withStep(p.hops) })) } : {}),
    };
  }
  // What the client receives: from the Service address and port, to itself.
  reply = { ...reply, flow: { ...reply.flow, src: dnat.matched.address.toString(), dst: client.toString(), srcPort: dnat.matched.port } };
  return {
    return: reply,
    asymmetric: routed(engine).join('\n') !== routes.reverse().join('\n'),
    returnFails: !ok(reply.disposition),
  };
}

/** The hops with `step` right after the first step of `node`'s hop; `onward`: the node sends the reply on rather than keeping it. */
const stepIn = (hops: BareHop[], node: string, step: BareStep, onward: boolean): BareHop[] =>
  hops.map((h) => (h.netns === node ? { ...h, steps: [...h.steps.slice(0, 1), step, ...h.steps.slice(1).filter((s) => !onward || s.type !== 'DELIVER')] } : h));

/**
 * The way back of a flow the data path masqueraded on its way out of the cluster (an `egress` SNAT on the path the
 * answer shows): from the destination to the node's address it saw (entering where the request left the model, for an
 * outside one), un-NATed by conntrack in that node, and on to the pod. Undefined when the path has no such SNAT.
 */
function egressReply(engine: Trace, trace: Omit<BareTraceAnswer, 'topology'>, flow: FlowRequest, attempt: Attempt): Reply | undefined {
  const path = engine.paths[worstPath(engine.paths)]!;
  let snat: EngineSnat | undefined;
  let node = '';
  for (const h of path.hops) {
    for (const s of h.steps) {
      if (s.type === 'SNAT' && s.reason === 'egress') {
        snat = s;
        node = h.netns.name;
      }
    }
  }
  if (snat === undefined) return undefined;
  const { protocol, src: client, dst: far } = engine.flow;
  const ports = { ...(flow.srcPort !== undefined ? { dstPort: flow.srcPort } : {}), ...(engine.flow.dstPort !== undefined ? { srcPort: engine.flow.dstPort } : {}) };
  const outside = trace.destination.netns === null;
  // An outside destination answers into the netns the request left the model from.
  const from = outside ? { from: far.toString(), enter: path.hops.at(-1)!.netns.name } : { from: trace.destination.name, src: far.toString() };
  const first = attempt({ ...from, to: snat.to.toString(), protocol, ...ports });
  if ('error' in first) return { return: null, returnError: first.error };
  const arrived = first.engine.paths[worstPath(first.engine.paths)]!.hops.at(-1)!.netns.name === node;
  if (first.answer.disposition !== 'DELIVERED' || !arrived) return { return: first.answer, asymmetric: true, returnFails: true };
  const on = attempt({ from: far.toString(), enter: node, to: trace.source.name, protocol, ...ports });
  if ('error' in on) return { return: null, returnError: on.error };
  const unnat = { type: 'UNNAT' as const, dst: { from: snat.to.toString(), to: client.toString() } };
  const prose = trace.hops?.[0]?.steps[0]?.explanation !== undefined;
  const said = `conntrack in ${node} reverses ${snat.egress!.agent}'s masquerade of the request: the reply's destination ${snat.to} becomes the pod's ${client} again`;
  const step = (prose ? { ...unnat, explanation: said } : unnat) as BareStep;
  const { hops: _, paths: __, pathCount: ___, pathsOmitted: ____, ecmp: _____, mtu: ______, ...rest } = on.answer;
  const legs = first.answer.hops !== undefined && on.answer.hops !== undefined ? stepIn(first.answer.hops, node, step, true) : undefined;
  const reply = {
    ...rest,
    source: first.answer.source,
    summary: `${on.answer.summary} (the reply of ${far}, un-NATed in ${node})`,
    flow: { ...on.answer.flow, src: far.toString(), dst: client.toString() },
    ...(legs !== undefined ? { hops: [...legs.slice(0, -1), joined(legs.at(-1)!, on.answer.hops![0]!), ...on.answer.hops!.slice(1)], notes: [...(first.answer.notes ?? []), ...(on.answer.notes ?? [])] } : {}),
  };
  const there = routed(engine);
  const back = [...routed(first.engine), ...routed(on.engine).slice(1)];
  return { return: reply, asymmetric: there.join('\n') !== back.reverse().join('\n'), returnFails: reply.disposition !== 'DELIVERED' };
}

/**
 * The node's hop of a reply in two legs: as it came in (and was un-NATed), then as it goes on (the second leg's start,
 * an ORIGINATE or, for a leg that enters the node, its RECEIVE again, left out).
 */
function joined(arrived: BareHop, leaves: BareHop): BareHop {
  const { out: _, ...hop } = arrived;
  return { ...hop, ...(leaves.out !== undefined ? { out: leaves.out } : {}), steps: [...arrived.steps, ...leaves.steps.filter((s) => s.type !== 'ORIGINATE' && s.type !== 'RECEIVE')] };
}

const FRONTEND = { clusterIP: 'ClusterIP', externalIP: 'externalIP', loadBalancer: 'load-balancer IP', nodePort: 'NodePort' } as const;

/** `10.1.2.3:80`, `[fd00::3]:80`. */
export const hostPort = (a: Addr, port: number) => (a.family === 6 ? `[${a}]:${port}` : `${a}:${port}`);

export interface BatchOptions extends AnswerOptions {
  bidirectional: boolean;
  /** The most bytes the answer may take (MAX_ANSWER_BYTES): past them the batch stops with a 422. */
  maxBytes: number;
}

/**
 * Every flow's item, handed to `add` as it is made, which says how many bytes its JSON takes: as soon as the items so far
 * pass options.maxBytes, a 422 Problem, so that a batch too large to send stops there, not after its last flow.
 */
function answerFlows(compiled: CompiledTopology, topology: { name: string; revision: number }, flows: FlowRequest[], options: BatchOptions, add: (item: Item) => number) {
  const { bidirectional, maxBytes } = options;
  const byDisposition: Record<string, number> = {};
  let errors = 0;
  // A reply of a request that was delivered belongs to the connection the request opened: policies are not evaluated.
  const policed = compiled.fabric.policies !== undefined;
  const attempt = (flow: FlowRequest, established = false): ReturnType<Attempt> => {
    try {
      const { ends, trace } = traceFlow(compiled, flow, established);
      const { topology: _, ...answer } = traceAnswer(compiled, topology, flow, ends, trace, options);
      if (established && policed && answer.notes !== undefined) answer.notes = [...answer.notes, ESTABLISHED];
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
    // Through a Service: the reply comes from the endpoint, and conntrack un-NATs it in the node that translated it.
    const delivered = trace.disposition === 'DELIVERED';
    const service = delivered ? serviceReply(there.engine, trace, flow, (f) => attempt(f, true)) : undefined;
    if (service !== undefined) return { flow, trace, ...service };
    // Masqueraded on its way out: the reply comes to the node's address, and conntrack sends it on to the pod.
    const masqueraded = trace.disposition === 'DELIVERED' || trace.disposition === 'EXITS_NETWORK' ? egressReply(there.engine, trace, flow, attempt) : undefined;
    if (masqueraded !== undefined) return { flow, trace, ...masqueraded };
    if (trace.destination.netns === null) return { flow, trace, return: null };
    // Not delivered, the request opened no connection: its reverse is a flow of its own, policies and all.
    const back = attempt(reversed(flow, trace.destination.name, trace.source.name, there.engine.flow.dstPort), delivered);
    if ('error' in back) return { flow, trace, return: null, returnError: back.error };
    return {
      flow,
      trace,
      return: back.answer,
      asymmetric: routed(there.engine).join('\n') !== routed(back.engine).reverse().join('\n'),
      returnFails: (trace.disposition === 'DELIVERED') !== (back.answer.disposition === 'DELIVERED'),
    };
  };
  let bytes = 0;
  for (let done = 0; done < flows.length; done++) {
    const flow = flows[done]!;
    // A comma or a bracket each.
    const size = add(itemOf(flow)) + 1;
    if (bytes + size > maxBytes) {
      throw answerTooLarge(
        maxBytes,
        `: the first ${done} of ${flows.length} flows took ${bytes} bytes, and flow ${done + 1} (${flow.from} → ${flow.to}) would pass it`,
        `, or fewer flows per request (${done} fit)`,
      );
    }
    bytes += size;
  }
  return { flows: flows.length, errors, byDisposition };
}

/** Every flow's answer as an object (for the text form, drawn from them), or a 422 Problem past options.maxBytes. */
export function traceFlows(compiled: CompiledTopology, topology: { name: string; revision: number }, flows: FlowRequest[], options: BatchOptions) {
  const traces: Item[] = [];
  const count = answerFlows(compiled, topology, flows, options, (item) => {
    traces.push(item);
    return Buffer.byteLength(JSON.stringify(item));
  });
  return { topology, count, traces };
}

/**
 * Every flow's answer written out as the JSON array's elements, or a 422 Problem past options.maxBytes: each answer is
 * encoded as it is made and let go, so that 10,000 of them (20 MB at detail=hops) are never held as objects, nor as one
 * string to flatten and encode (that took a third of a batch's time, with the garbage collector's work for the objects).
 */
export function writeFlows(compiled: CompiledTopology, topology: { name: string; revision: number }, flows: FlowRequest[], options: BatchOptions) {
  const traces = new Utf8Chunks();
  const count = answerFlows(compiled, topology, flows, options, (item) => {
    if (traces.bytes > 0) traces.write(',');
    return traces.write(JSON.stringify(item));
  });
  return { count, traces };
}

const encoder = new TextEncoder();

/** Text written as UTF-8 into chunks as it comes, framed once at the end: no string of the whole is ever made. */
export class Utf8Chunks {
  private static readonly SIZE = 2 ** 20;
  private readonly full: Uint8Array[] = [];
  // Not zeroed: only the bytes written are ever read, and a batch of one flow should not pay for clearing a megabyte.
  private chunk: Uint8Array = Buffer.allocUnsafe(Utf8Chunks.SIZE);
  private used = 0;
  /** Bytes written so far. */
  bytes = 0;

  /** Writes `text`, and says how many bytes it took. */
  write(text: string): number {
    const before = this.bytes;
    let rest = text;
    for (;;) {
      // encodeInto stops before a character that does not fit whole: the next chunk takes it.
      const { read, written } = encoder.encodeInto(rest, this.chunk.subarray(this.used));
      this.used += written;
      this.bytes += written;
      if (read === rest.length) return this.bytes - before;
      rest = rest.slice(read);
      this.full.push(this.chunk.subarray(0, this.used));
      // At most 3 bytes a UTF-16 unit: the rest fits in the next chunk.
      this.chunk = Buffer.allocUnsafe(Math.max(Utf8Chunks.SIZE, 3 * rest.length));
      this.used = 0;
    }
  }

  /**
   * `head`, what was written and `tail`, as the chunks they are in, each on an ArrayBuffer of its own (to be handed
   * over, not copied): joining 20 MB of a batch into one array took ~100 ms and as many megabytes again. The last chunk
   * is copied out when it fills less than half of its megabyte, so that a small batch's answer does not hold one.
   */
  framed(head: string, tail: string): Uint8Array[] {
    const used = this.chunk.subarray(0, this.used);
    const last = this.used < Utf8Chunks.SIZE / 2 ? new Uint8Array(used) : used;
    return [encoder.encode(head), ...this.full, last, encoder.encode(tail)];
  }
}
