// One flow, asked of one compiled topology revision, answered as the API's trace answer. Shared by the single trace, the
// batch, the what-if endpoint and the chat integration, so they all say the same thing about the same flow.
import type { Family } from '../engine/addr.js';
import type { CompiledTopology, Endpoint } from '../engine/topology.js';
import type { Netns } from '../engine/fabric.js';
import { explain } from './explain.js';
import { worstPath, type Trace } from '../engine/trace.js';
import { hashedBranch, IP_PROTOCOL, type HashedBranch, type Unknown } from '../engine/multipath.js';
import { mtuReport } from '../engine/mtu.js';
import type { BareTraceAnswer, Detail } from './schema.js';
import { replacementNote, untranslatedNotes } from '../engine/service/resolve.js';

export interface FlowRequest {
  from: string;
  to: string;
  protocol?: 'icmp' | 'tcp' | 'udp' | 'sctp';
  /**
   * The first name of dstPort, kept as its alias; or a port's name: with `to=svc/…` a Service port's, else one of the
   * destination pod's container ports.
   */
  port?: number | string;
  srcPort?: number;
  dstPort?: number;
  family?: Family;
  /** The IP packet's size in bytes, checked against the MTU along the path. */
  size?: number;
  ttl?: number;
  /** The Service endpoint to trace, when kube-proxy would choose among several. */
  endpoint?: string;
  /** For `from` an address outside the model: the node or netns its packet enters by its uplink. */
  enter?: string;
  /** The source address the `from` node or netns sends from (one of its own, or loopback). */
  src?: string;
}

const UNKNOWN: Record<Unknown, string> = {
  seed: "the kernel keys its multipath hash with a secret drawn at boot (set the netns's multipathHashSeed, net.ipv4.fib_multipath_hash_seed, to name the branch)",
  ports: 'hash policy 1 hashes the source and destination ports, and the flow gives none (ICMP, or no srcPort and dstPort)',
  'flow-label': 'a forwarded IPv6 packet is hashed with its flow label, which the sending kernel draws per connection',
  'receive-hash': 'hash policy 1 on a forwarded packet takes the hash the packet arrives with (its socket\'s, or the NIC\'s) when it has one',
  'tunnel-source-port': "hash policy 1 hashes the tunnel's outer UDP source port, which the kernel derives from the inner flow with a key drawn at boot",
  ipip: "an IP-in-IP tunnel mixes the inner packet's hash (drawn per boot or per connection) into the outer lookup",
};

/** What the answer says of the branch: the kernel's when every ECMP netns on it hashes with a known seed. */
function ecmpNote(hashed: HashedBranch): string {
  const { unknown } = hashed;
  if (unknown !== undefined) {
    return `The branch at ${unknown.netns.name} (${unknown.route.prefix.toRouteDst()}) depends on what the topology cannot know: ${UNKNOWN[unknown.reason]}; every branch is traced in paths, and the answer is the worst.`;
  }
  if (hashed.path === undefined) return 'The branch the kernel takes is past the limit of paths traced.';
  return 'The branch the kernel takes: each netns hashes the flow as Linux does, with its own fib_multipath_hash_seed and policy.';
}


/** What the answer lists of a split flow unless asked for more (up to MAX_PATHS, every path the engine follows). */
export const DEFAULT_PATHS = 16;

export interface AnswerOptions {
  /** How much the answer says (default `full`). */
  detail?: Detail;
  /** How many paths of a split flow to list (default DEFAULT_PATHS); every one is traced and counted. */
  paths?: number;
  /** With `full`: only the prose that text and Markdown print (see ExplainOptions). */
  printed?: boolean;
}

/** The answer for a flow whose ends the topology resolved to from and to, and whose trace the engine made. */
export function traceAnswer(
  compiled: CompiledTopology,
  topology: { name: string; revision: number },
  flow: FlowRequest,
  ends: { from: Endpoint; to: Endpoint },
  t: Trace,
  options: AnswerOptions = {},
): BareTraceAnswer {
  return build(false, compiled, topology, flow, ends, t, options).answer;
}

/**
 * The answer as JSON text, JSON.stringify(traceAnswer(…)) byte for byte: a one-path answer's hops are written from the
 * text kept with them (explain.ts), not made as objects and serialised again, which was a fifth of a trace's cost.
 */
export function traceAnswerJson(...args: Parameters<typeof traceAnswer>): { text: string; disposition: BareTraceAnswer['disposition'] } {
  const { answer, hopsJson } = build(true, ...args);
  if (hopsJson === undefined) return { text: JSON.stringify(answer), disposition: answer.disposition };
  // The hops go where the object has them: after the summary (a one-path answer has no pathCount), before the rest.
  const { topology: named, flow: echoed, source, destination, disposition, summary, ...after } = answer;
  const head = JSON.stringify({ topology: named, flow: echoed, source, destination, disposition, summary });
  const tail = JSON.stringify(after);
  return { text: `${head.slice(0, -1)},"hops":${hopsJson}${tail.length > 2 ? `,${tail.slice(1)}` : '}'}`, disposition };
}

/** The answer object; with `json`, a one-path answer's hops as their JSON text beside it instead of in it. */
function build(json: boolean, ...[compiled, topology, flow, ends, t, options = {}]: Parameters<typeof traceAnswer>): { answer: BareTraceAnswer; hopsJson?: string } {
  const { detail = 'full', paths: listed = DEFAULT_PATHS, printed = false } = options;
  // The engine's flow has the transport a Service gave (`to=svc/…` takes its port's protocol and number) and a port
  // name resolved on the destination pod.
  const protocol = t.flow.protocol ?? flow.protocol ?? 'icmp';
  const dstPort = t.flow.dstPort ?? flow.dstPort;
  const { from, to } = ends;
  const explained = explain(compiled.fabric, t, { from: from.name, to: to.name }, { detail, paths: listed, printed, json });
  const family = t.flow.dst.family;
  const { srcPort } = flow;
  const src = t.flow.src.toString();
  const dst = t.flow.dst.toString();
  // Built field by field in the order the answer has always listed them (JSON keeps the order of insertion): spreading
  // optional parts into literals made and copied an object per part, a fifth of an answer's cost beyond its hops.
  const echoed: BareTraceAnswer['flow'] = { src, dst, protocol } as BareTraceAnswer['flow'];
  if (srcPort !== undefined) echoed.srcPort = srcPort;
  // Echoed under the names the request used, so that clients of `port` see the flow they sent.
  if (flow.dstPort !== undefined) echoed.dstPort = dstPort;
  if (flow.port !== undefined) echoed.port = dstPort;
  if (flow.size !== undefined) echoed.size = flow.size;
  echoed.ttl = t.flow.ttl;
  const answer: BareTraceAnswer = {
    topology,
    flow: echoed,
    source: { name: from.name, kind: from.kind, netns: from.netns?.name ?? null, address: src },
    destination: { name: to.name, kind: to.kind, netns: to.netns?.name ?? null, address: dst },
    disposition: explained.disposition,
    summary: explained.summary,
  };
  if (t.paths.length > 1) answer.pathCount = t.paths.length;
  if (detail === 'summary') return { answer };
  if (explained.hopsJson === undefined) answer.hops = explained.hops;
  const worst = mtuReport(t.paths[worstPath(t.paths)]!.hops, family, flow.size, detail === 'full');
  if (worst !== undefined) answer.mtu = worst;
  if (explained.paths) {
    answer.paths = explained.paths.map((p, i) => {
      const mtu = mtuReport(t.paths[i]!.hops, family, flow.size, detail === 'full');
      return mtu === undefined ? { ...p } : { ...p, mtu };
    });
    const omitted = t.paths.length - explained.paths.length;
    if (omitted > 0) answer.pathsOmitted = omitted;
  }
  const ipProtocol = protocol === 'icmp' ? (family === 4 ? IP_PROTOCOL.icmp : IP_PROTOCOL.icmpv6) : IP_PROTOCOL[protocol];
  const hashed = hashedBranch(t, { protocol: ipProtocol, srcPort: srcPort ?? 0, dstPort: dstPort ?? 0 });
  if (hashed) answer.ecmp = ecmpAnswer(hashed);
  answer.notes = notesOf(compiled, t, protocol, dstPort);
  return { answer, hopsJson: explained.hopsJson };
}

export function ecmpAnswer(hashed: HashedBranch): NonNullable<BareTraceAnswer['ecmp']> {
  const ecmp: NonNullable<BareTraceAnswer['ecmp']> = {
    kernel: hashed.path !== undefined,
    path: hashed.path ?? null,
    decisions: hashed.decisions.map(({ netns, route, nexthop, policy }) => {
      const nh = route.nexthops[nexthop]!;
      return {
        netns: netns.name,
        dst: route.prefix.toRouteDst(),
        policy,
        nexthop,
        ...(nh.gateway ? { gateway: nh.gateway.toString() } : {}),
        dev: netns.links[nh.dev]!.name,
      };
    }),
  } as NonNullable<BareTraceAnswer['ecmp']>;
  const { unknown } = hashed;
  if (unknown) ecmp.unknown = { netns: unknown.netns.name, dst: unknown.route.prefix.toRouteDst(), policy: unknown.policy, reason: unknown.reason };
  ecmp.note = ecmpNote(hashed);
  return ecmp;
}

/** The routes on the path that the kernel would refuse or has removed, then what the answer says of Services. */
function notesOf(compiled: CompiledTopology, t: Trace, protocol: string, dstPort: number | undefined): string[] {
  // The netns with ignored routes, each once, in the order the paths first visit them (most have none).
  const ignoring = new Set<Netns>();
  let dnat = false;
  for (const p of t.paths) {
    for (const h of p.hops) {
      if (h.netns.ignored.length > 0) ignoring.add(h.netns);
      if (!dnat) for (const s of h.steps) if (s.type === 'DNAT') dnat = true;
    }
  }
  const notes: string[] = [];
  for (const ns of ignoring) for (const note of ns.ignored) notes.push(`${ns.name}: ${note}`);
  notes.push(...(dnat ? replacementNote(compiled.services) : untranslatedNotes(compiled.services, t.flow.dst, protocol, dstPort)));
  return notes;
}
