// One flow, asked of one compiled topology revision, answered as the API's trace answer. Shared by the single trace, the
// batch, the what-if endpoint and the chat integration, so they all say the same thing about the same flow.
import type { Family } from '../engine/addr.js';
import type { CompiledTopology, Endpoint } from '../engine/topology.js';
import { explain } from './explain.js';
import { worstPath, type Trace } from '../engine/trace.js';
import { hashedBranch } from '../engine/multipath.js';
import { mtuReport } from '../engine/mtu.js';
import type { TraceAnswer } from './schema.js';

export interface FlowRequest {
  from: string;
  to: string;
  protocol?: 'icmp' | 'tcp' | 'udp';
  /** The first name of dstPort, kept as its alias. */
  port?: number;
  srcPort?: number;
  dstPort?: number;
  family?: Family;
  /** The IP packet's size in bytes, checked against the MTU along the path. */
  size?: number;
  ttl?: number;
}

const ECMP_NOTE =
  'Linux keys its multipath hash with a secret drawn at boot, so this shows how hash-threshold splits flows over the ' +
  'next hops by weight (with a stand-in hash), not a promise of the branch this flow takes on a real node.';

/** The answer for a flow whose ends the topology resolved to from and to, and whose trace the engine made. */
export function traceAnswer(
  compiled: CompiledTopology,
  topology: { name: string; revision: number },
  flow: FlowRequest,
  ends: { from: Endpoint; to: Endpoint },
  t: Trace,
): TraceAnswer {
  const protocol = flow.protocol ?? 'icmp';
  const dstPort = flow.dstPort ?? flow.port;
  const { from, to } = ends;
  const explained = explain(compiled.fabric, t, { from: from.name, to: to.name });
  const family = t.flow.dst.family;
  const mtuOf = (i: number) => {
    const mtu = mtuReport(t.paths[i]!.hops, family, flow.size);
    return mtu === undefined ? {} : { mtu };
  };
  const { srcPort } = flow;
  const l4 = protocol !== 'icmp' && srcPort !== undefined && dstPort !== undefined ? { protocol, srcPort, dstPort } : undefined;
  const hashed = hashedBranch(t, l4);
  const visited = new Set(t.paths.flatMap((p) => p.hops.map((h) => h.netns)));
  const endpoint = (e: Endpoint, address: string) => ({ name: e.name, kind: e.kind, netns: e.netns?.name ?? null, address });
  return {
    topology,
    flow: {
      src: t.flow.src.toString(),
      dst: t.flow.dst.toString(),
      protocol,
      ...(srcPort !== undefined ? { srcPort } : {}),
      // Echoed under the names the request used, so that clients of `port` see the flow they sent.
      ...(flow.dstPort !== undefined ? { dstPort } : {}),
      ...(flow.port !== undefined ? { port: dstPort } : {}),
      ...(flow.size !== undefined ? { size: flow.size } : {}),
      ttl: t.flow.ttl,
    },
    source: endpoint(from, t.flow.src.toString()),
    destination: endpoint(to, t.flow.dst.toString()),
    disposition: explained.disposition,
    summary: explained.summary,
    hops: explained.hops,
    ...mtuOf(worstPath(t.paths)),
    ...(explained.paths ? { paths: explained.paths.map((p, i) => ({ ...p, ...mtuOf(i) })) } : {}),
    ...(hashed
      ? {
          ecmp: {
            policy: hashed.policy,
            path: hashed.path ?? null,
            decisions: hashed.decisions.map(({ netns, route, nexthop }) => {
              const nh = route.nexthops[nexthop]!;
              return {
                netns: netns.name,
                dst: route.prefix.toRouteDst(),
                nexthop,
                ...(nh.gateway ? { gateway: nh.gateway.toString() } : {}),
                dev: netns.links[nh.dev]!.name,
              };
            }),
            model: true as const,
            note: ECMP_NOTE,
          },
        }
      : {}),
    notes: [...visited].flatMap((ns) => ns.ignored.map((note) => `${ns.name}: ${note}`)),
  };
}
