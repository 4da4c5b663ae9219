// Decoding: a walk's record (record.ts) turned into the Hop and Step objects of model.ts, with the fabric's objects in
// them, the first time someone reads a path's hops: a dashboard's trace that only wants the disposition never pays for it.
import { Addr, type Family } from '../addr.js';
import type { Fabric, Link } from '../fabric.js';
import { TUNNEL_FDB, TUNNEL_IPCACHE, TUNNEL_IPIP } from '../fabric.js';
import { routeSource } from '../source.js';
import { policyStep } from '../policy/step.js';
import { dnatStep, serviceRef } from '../service/describe.js';
import { MASQ_REASONS } from '../service/policy.js';
import type { ServiceTable } from '../service/table.js';
import type { Disposition, DropDetail, Flow, Hop, OuterHeader, Path, ServiceDropRule, Step } from './model.js';
import {
  BRIDGE,
  DECAP,
  DELIVER,
  DENIED,
  DISPOSITION_OF,
  DNAT,
  DROP,
  ENCAP,
  EXITS_NETWORK,
  FORWARDING_DISABLED,
  HOP,
  HOW,
  LINK_DOWN,
  LOOP,
  MARTIAN,
  NEIGHBOR_UNREACHABLE,
  NO_FDB,
  NO_IPCACHE,
  NO_RECEIVER,
  NO_TUNNEL_NEIGHBOR,
  ORIGINATE,
  POLICY,
  RECEIVE,
  ROUTE,
  SERVICE_CLUSTER_IP_PORT,
  SERVICE_NO_LOCAL,
  SERVICE_REJECT,
  SERVICE_UNALLOCATED,
  SERVICE_SOURCE_RANGE,
  SNAT,
  TRANSMIT,
  TTL_EXCEEDED,
  WRONG_MAC,
} from './record.js';

/** A path as a walk recorded it, decoded on first read. */
export class RecordedPath implements Path {
  private decoded: readonly Hop[] | undefined;

  constructor(
    readonly disposition: Disposition,
    readonly choices: readonly number[],
    private readonly record: readonly number[],
    private readonly fabric: Fabric,
    private readonly flow: Flow,
    private readonly services?: ServiceTable,
    private readonly egressAt = -1,
    private readonly ingressAt = -1,
  ) {}

  /**
   * Operand k of the path's POLICY entry for a direction, as record.ts lists them (1 verdict, 2 pod, 4 policy, 5 rule,
   * 8 tier), or -1 when the walk met no policy check for the direction: read without decoding the path.
   */
  policyOperand(egress: boolean, k: number): number {
    const at = egress ? this.egressAt : this.ingressAt;
    return at < 0 ? -1 : this.record[at + 1 + k]!;
  }

  get hops(): readonly Hop[] {
    return (this.decoded ??= decode(this.fabric, this.flow, this.record, this.services));
  }
}

type EncapStep = Extract<Step, { type: 'ENCAPSULATE' }>;
type MutableOuter = { -readonly [K in keyof OuterHeader]: OuterHeader[K] };

/** The packet the entries are about: the flow's, or the outer one of a tunnel, with its source once it is known. */
interface Packet {
  src: Addr | undefined;
  /** The flow's changes with kube-proxy's DNAT, and so does its destination port. */
  dst: Addr;
  dstPort?: number;
  readonly encap: { readonly step: EncapStep; readonly outer: MutableOuter } | undefined;
}

/** What a source address is before the kernel picks one: the outer packet of a tunnel whose netns has no address for it. */
const UNSPECIFIED: Readonly<Record<Family, Addr>> = { 4: Addr.v4(0), 6: Addr.v6(0, 0, 0, 0) };

/** kube-proxy's drop rules, by their codes from SERVICE_REJECT on (record.ts lists them in this order). */
const SERVICE_RULES: readonly ServiceDropRule[] = ['reject', 'no-local-endpoints', 'source-range', 'cluster-ip-port', 'unallocated-cluster-ip'];

// Module functions rather than closures made per decode: a decode runs for every answer.
const linkOf = (links: readonly Link[], id: number) => (id < 0 ? undefined : links[id]);
const routeOf = (fibs: Fabric['fibs'], group: number) => (group < 0 ? undefined : fibs.route(group));
const top = (packets: Packet[]) => packets[packets.length - 1]!;
const neighborOf = (fibs: Fabric['fibs'], packets: Packet[], nh: number) => (nh < 0 ? top(packets).dst : fibs.gateway(nh)!);

export function decode(fabric: Fabric, flow: Flow, r: readonly number[], services?: ServiceTable): Hop[] {
  const { links, fibs, tunnels } = fabric;
  const packets: Packet[] = [{ src: flow.src, dst: flow.dst, dstPort: flow.dstPort, encap: undefined }];
  const hops: Hop[] = [];
  let ns = fabric.netns[0]!;
  let steps: Step[] = [];
  let i = 0;
  while (i < r.length) {
    switch (r[i]) {
      case HOP:
        ns = fabric.netns[r[i + 1]!]!;
        steps = [];
        hops.push({ netns: ns, in: linkOf(links, r[i + 2]!), out: linkOf(links, r[i + 3]!), steps, record: r, start: i });
        i += 4;
        break;
      case ORIGINATE:
        steps.push({ type: 'ORIGINATE', src: flow.src, dst: flow.dst, ttl: r[i + 1]! });
        i += 2;
        break;
      case RECEIVE:
        steps.push({ type: 'RECEIVE', link: links[r[i + 1]!]!, ttl: r[i + 2]! });
        i += 3;
        break;
      case ROUTE: {
        const p = top(packets);
        const found = routeOf(fibs, r[i + 1]!);
        // An outer packet without the tunnel's `local` gets the source its netns gives any packet it sends by this route.
        if (p.src === undefined) {
          p.src = (found && routeSource(ns, found, r[i + 2]!, p.dst)) ?? UNSPECIFIED[p.dst.family];
          p.encap!.outer.src = p.src;
        }
        steps.push({ type: 'ROUTE', netns: ns, src: p.src, dst: p.dst, route: found, group: r[i + 1]!, nexthop: r[i + 2]! });
        i += 3;
        break;
      }
      case BRIDGE:
        steps.push({ type: 'BRIDGE', bridge: links[r[i + 1]!]!, from: linkOf(links, r[i + 2]!), to: linkOf(links, r[i + 3]!), dst: top(packets).dst });
        i += 4;
        break;
      case TRANSMIT:
        steps.push({
          type: 'TRANSMIT',
          link: links[r[i + 1]!]!,
          neighbor: neighborOf(fibs, packets, r[i + 2]!),
          answeredBy: links[r[i + 3]!]!,
          how: HOW[r[i + 4]!]!,
          ttl: r[i + 5]!,
        });
        i += 6;
        break;
      case DELIVER:
        steps.push({ type: 'DELIVER', link: links[r[i + 1]!]!, dst: top(packets).dst });
        i += 2;
        break;
      case ENCAP: {
        const tunnel = links[r[i + 1]!]!;
        const mode = r[i + 2]!;
        const ref = r[i + 3]!;
        const mac = r[i + 4]!;
        const inner = top(packets);
        const dst = mode === TUNNEL_IPIP ? neighborOf(fibs, packets, ref) : tunnels.endpoints[ref]!;
        const ipip = mode === TUNNEL_IPIP;
        const local = tunnel.tunnel!.local;
        const outer: MutableOuter = {
          // Without `local`, the outer packet's route gives the source (see ROUTE). One that is never routed goes to an
          // address of the netns itself, and the kernel gives a packet to a local address that address as its source.
          src: local ?? dst,
          dst,
          protocol: ipip ? 'ipip' : 'udp',
          // External mode carries Cilium's source identity as the VNI, which the model does not know.
          vni: ipip || mode === TUNNEL_IPCACHE ? undefined : tunnel.tunnel!.vni,
          port: ipip ? undefined : tunnel.tunnel!.port,
          ttl: r[i + 5]!,
        };
        const gw = mode === TUNNEL_FDB ? lastRoute(steps) : undefined;
        const step: EncapStep = {
          type: 'ENCAPSULATE',
          link: tunnel,
          via: ipip ? 'gateway' : mode === TUNNEL_IPCACHE ? 'ipcache' : 'fdb',
          neighbor: gw === undefined ? undefined : (gw.route?.nexthops[gw.nexthop]?.gateway ?? inner.dst),
          lladdr: mac < 0 ? undefined : tunnels.macs[mac],
          outer,
          overhead: overheadOf(tunnel, dst),
        };
        steps.push(step);
        packets.push({ src: local, dst, encap: { step, outer } });
        i += 6;
        break;
      }
      case DNAT: {
        const p = packets[0]!;
        const step = dnatStep(services!, ns, p.dst, r, i + 1);
        if (step.to !== undefined) {
          p.dst = step.to.address;
          p.dstPort = step.to.port;
        }
        steps.push(step);
        i += 11;
        break;
      }
      case SNAT: {
        const p = packets[0]!;
        const last = lastRoute(steps)!;
        const [rule, node] = [r[i + 3]!, r[i + 4]!];
        const masq = fabric.masquerade;
        const family = p.dst.family;
        const to = (rule >= 0 ? masq!.target(rule, node, family) : undefined) ?? routeSource(ns, last.route!, last.nexthop, p.dst)!;
        const link = links[r[i + 1]!]!;
        steps.push(
          rule >= 0
            ? { type: 'SNAT', link, from: p.src!, to, reason: 'egress', egress: masq!.describe(rule, node, family, p.src!) }
            : { type: 'SNAT', link, from: p.src!, to, reason: MASQ_REASONS[r[i + 2]!]! },
        );
        p.src = to;
        i += 5;
        break;
      }
      case DECAP: {
        const p = packets.pop()!;
        steps.push({ type: 'DECAPSULATE', link: links[r[i + 1]!]!, outer: p.encap!.outer });
        i += 3;
        break;
      }
      case POLICY: {
        // Egress is judged against the destination the packet has then (after DNAT), ingress against the source it
        // arrives with (after SNAT); both at the port DNAT left.
        const egress = r[i + 1] === 1;
        const p = packets[0]!;
        const step = policyStep(fabric.policies!, r, i + 1, egress ? p.dst : p.src!, flow, p.dstPort);
        // Bridged to a pod of the same node, the walk's first netns after the source is the destination pod: the
        // verdict is shown in the node's hop, whose bridge the packet crossed, where the plugin takes it.
        const crossed = egress && ns.kind === 'pod' && hops.length >= 2 ? hops[hops.length - 2]! : undefined;
        (crossed !== undefined && crossed.netns.kind === 'node' ? (crossed.steps as Step[]) : steps).push(step);
        i += 12;
        break;
      }
      case DROP: {
        const code = r[i + 1]!;
        const a = r[i + 2]!;
        let detail: DropDetail;
        let operands = 1;
        switch (code) {
          case FORWARDING_DISABLED:
            detail = { kind: 'forwarding', family: a as Family };
            break;
          case TTL_EXCEEDED:
            detail = { kind: 'ttl', ttl: a };
            break;
          case LINK_DOWN:
            detail = { kind: 'carrier', link: links[a]! };
            break;
          case NEIGHBOR_UNREACHABLE:
            detail = { kind: 'neighbor', link: links[a]!, neighbor: neighborOf(fibs, packets, r[i + 3]!), blockedAt: linkOf(links, r[i + 4]!) };
            operands = 3;
            break;
          case EXITS_NETWORK:
            detail = { kind: 'exit', link: links[a]!, neighbor: neighborOf(fibs, packets, r[i + 3]!), external: links[r[i + 4]!]! };
            operands = 3;
            break;
          case LOOP: {
            const cycle = r.slice(i + 4, i + 4 + r[i + 3]!).map((id) => fabric.netns[id]!);
            detail = { kind: 'loop', cycle, ttl: a };
            operands = 2 + cycle.length;
            break;
          }
          case NO_TUNNEL_NEIGHBOR:
            detail = { kind: 'tunnel-neighbor', link: links[a]!, neighbor: neighborOf(fibs, packets, r[i + 3]!) };
            operands = 2;
            break;
          case NO_FDB:
            detail = { kind: 'fdb', link: links[a]!, neighbor: neighborOf(fibs, packets, r[i + 3]!), lladdr: tunnels.macs[r[i + 4]!]! };
            operands = 3;
            break;
          case NO_IPCACHE:
            detail = { kind: 'ipcache', link: links[a]!, dst: top(packets).dst };
            break;
          case NO_RECEIVER:
            detail = { kind: 'tunnel-receiver', link: links[a]!, at: links[r[i + 3]!]!, outer: top(packets).encap!.outer };
            operands = 2;
            break;
          case SERVICE_REJECT:
          case SERVICE_NO_LOCAL:
          case SERVICE_SOURCE_RANGE:
          case SERVICE_CLUSTER_IP_PORT:
          case SERVICE_UNALLOCATED:
            detail = {
              kind: 'service',
              service: a >= 0 ? serviceRef(services!, a) : undefined,
              rule: SERVICE_RULES[code - SERVICE_REJECT]!,
              dst: top(packets).dst,
              port: top(packets).dstPort,
              by: services!.replacedBy ?? 'kube-proxy',
            };
            break;
          case MARTIAN:
            detail = { kind: 'martian', link: links[a]! };
            break;
          case DENIED:
            detail = { kind: 'policy', direction: a === 1 ? 'egress' : 'ingress' };
            // Egress denied on the way across the node's bridge: the packet never reaches the pod it was bridged to.
            if (a === 1 && ns.kind === 'pod' && hops.length >= 2 && hops[hops.length - 2]!.netns.kind === 'node') {
              hops.pop();
              steps = hops[hops.length - 1]!.steps as Step[];
            }
            break;
          case WRONG_MAC:
            detail = { kind: 'tunnel-mac', link: links[a]!, lladdr: tunnels.macs[r[i + 3]!]!, outer: top(packets).encap!.outer };
            operands = 2;
            break;
          default:
            detail = { kind: 'route', route: routeOf(fibs, a) };
        }
        steps.push({ type: 'DROP', disposition: DISPOSITION_OF[code]!, detail });
        i += 2 + operands;
        break;
      }
      default:
        throw new Error(`corrupt trace record at ${i}`);
    }
  }
  return hops;
}

/** The ROUTE step that sent the packet into a tunnel: the last one of the hop so far. */
function lastRoute(steps: readonly Step[]): Extract<Step, { type: 'ROUTE' }> | undefined {
  for (let k = steps.length - 1; k >= 0; k--) {
    const s = steps[k]!;
    if (s.type === 'ROUTE') return s;
  }
  return undefined;
}

/**
 * The bytes the outer headers add: IP-in-IP an IPv4 header; VXLAN and Geneve (without options) the inner Ethernet
 * header, UDP, their own 8 bytes and the outer IP header. These are why flannel sets 1450 and Calico's tunl0 1480.
 */
function overheadOf(tunnel: Link, outerDst: Addr): number {
  const ip = outerDst.family === 4 ? 20 : 40;
  return tunnel.kind === 'ipip' ? ip : 14 + 8 + 8 + ip;
}
