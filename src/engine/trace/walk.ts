// The walk: one packet through the fabric the way the Linux kernel would forward it. Per netns entered: local address →
// deliver (or, for an outer packet, decapsulate); FIB lookup (longest prefix, then lowest metric; blackhole, unreachable
// and prohibit end it); a packet that was forwarded in needs forwarding on and a TTL above 1; a tunnel encapsulates and
// routes the outer packet from the same netns; otherwise the next hop is resolved on the egress link's L2 domain
// (neighbour.ts) and the frame crosses veths, bridges and segments to it (cross.ts).
//
// A Walker holds everything a walk writes as it goes, so that walks never share state: a trace takes a walker of its own
// for as long as it runs (trace.ts), and a walker's buffers are reused by its next walk, so the walk allocates nothing
// but the path it returns.
import type { Addr, Family } from '../addr.js';
import { NO_MATCH, ServiceNat, TRANSLATED } from '../service/nat.js';
import { UNALLOCATED_CLUSTER_IP, type ServiceTable } from '../service/table.js';
import type { Fabric, Netns } from '../fabric.js';
import { TUNNEL_IPCACHE, TUNNEL_IPIP } from '../fabric.js';
import { BLACKHOLE, UNICAST } from '../fib.js';
import { PolicyCheck } from '../policy/check.js';
import { cross } from './cross.js';
import { RecordedPath } from './decode.js';
import type { Flow, Path, Trace } from './model.js';
import { resolve, Resolution } from './neighbour.js';
import {
  BLACKHOLED,
  DELIVERED,
  DENIED,
  DISPOSITION_OF,
  EXITS_NETWORK,
  FORWARDING_DISABLED,
  LINK_DOWN,
  LOOP,
  MARTIAN,
  NEIGHBOR_UNREACHABLE,
  NO_FDB,
  NO_IPCACHE,
  NO_RECEIVER,
  NO_ROUTE,
  NO_TUNNEL_NEIGHBOR,
  Recorder,
  SERVICE_CLUSTER_IP_PORT,
  SERVICE_NO_LOCAL,
  SERVICE_REJECT,
  SERVICE_SOURCE_RANGE,
  SERVICE_UNALLOCATED,
  TTL_EXCEEDED,
  UNREACHABLE,
  WRONG_MAC,
} from './record.js';

/** Enough for any real ECMP fan-out; a pathological document cannot make one trace explode. Answers cite it. */
export const MAX_PATHS = 64;
const NO_CHOICES: readonly number[] = Object.freeze([]);
/** Tunnels in tunnels are legal; a document that nests them deeper than this is looping. */
const MAX_DEPTH = 8;
/** The TTL of a VXLAN or Geneve outer header: the kernel's default when the link sets none (ip4_dst_hoplimit). */
const OUTER_TTL = 64;
const NAT_CODES = { reject: SERVICE_REJECT, noLocal: SERVICE_NO_LOCAL, sourceRange: SERVICE_SOURCE_RANGE };

export class Walker {
  private readonly record = new Recorder();
  /** kube-proxy's DNAT and masquerade, and the flow's packet as NAT has left it (nat.src, nat.dst) for later rules. */
  readonly nat = new ServiceNat();
  /** The link a packet from outside the model enters its first netns by (a node's uplink), or -1: the netns sends it. */
  private entry = -1;
  private readonly answer = new Resolution();
  private readonly policy = new PolicyCheck();
  /** The netns that forwarded the packets so far, in order (for loops). */
  private readonly forwardedAt: number[] = new Array<number>(256).fill(0);
  private forwardings = 0;
  /**
   * The ECMP decisions taken, in order: where (netns and packet), which next hop, and of how many. A packet is the
   * flow's (0) or one outer packet (numbered as the walk encapsulates): the kernel hashes a packet's header, so the same
   * packet takes the same next hop on every visit of a netns, and another packet decides afresh.
   */
  private readonly takenNs: number[] = new Array<number>(64).fill(0);
  private readonly takenPacket: number[] = new Array<number>(64).fill(0);
  private readonly taken: number[] = new Array<number>(64).fill(0);
  private readonly widths: number[] = new Array<number>(64).fill(0);
  private packets = 0;
  /** While a packet travels encapsulated, per tunnel level, the inner packet's state and the tunnel it went into. */
  private readonly innerDst = new Array<Addr | undefined>(MAX_DEPTH).fill(undefined);
  private readonly innerOwner = new Array<number>(MAX_DEPTH).fill(0);
  private readonly innerTtl = new Array<number>(MAX_DEPTH).fill(0);
  private readonly innerForwardings = new Array<number>(MAX_DEPTH).fill(0);
  private readonly innerFirst = new Array<number>(MAX_DEPTH).fill(0);
  private readonly innerPacket = new Array<number>(MAX_DEPTH).fill(0);
  private readonly tunnelLink = new Array<number>(MAX_DEPTH).fill(0);
  /** The tunnel's facts (Tunnels.tunnel) for finding its receiver. */
  private readonly tunnelFacts = new Array<number>(MAX_DEPTH).fill(0);
  private readonly tunnelMac = new Array<number>(MAX_DEPTH).fill(0);
  /**
   * Where the last walk met kube-proxy's DNAT, for the trace's other walks to resume there: up to the DNAT, every
   * endpoint's walk is the same walk (and so is every ECMP branch that decides the same before it). Valid while the
   * buffers below it (record, forwardings, decisions) are as that walk left them: a walk that starts afresh clears it.
   */
  private resumable = false;
  private atRecord = 0;
  private atNs = 0;
  private atHop = 0;
  private atInLink = 0;
  private atTtl = 0;
  private atForwardings = 0;
  private atPackets = 0;
  private atPacket = 0;
  private atEgressFrom = 0;
  private atDecisions = 0;

  /**
   * Every path of the flow from `source`: the first next hop of every ECMP route, then every other combination; and
   * where kube-proxy DNATs the packet, all of that once per endpoint it may choose (only `endpoint`'s when given).
   */
  trace(fabric: Fabric, source: Netns, flow: Flow, services?: ServiceTable, endpoint?: Addr, entry = -1, sourceId = source.id, dstOwner = fabric.owners.first(flow.dst), srcOwner?: number): Trace {
    this.answer.fit(fabric);
    this.entry = entry;
    // The destination is the same at every hop until a DNAT: who owns it is looked up once (or by the caller).
    const nat = this.nat;
    nat.start(services, flow.protocol, flow.dst, flow.srcPort ?? 0, flow.dstPort ?? 0, endpoint, srcOwner);
    this.resumable = false;
    const paths: Path[] = [];
    const endpoints = this.branches(fabric, sourceId, flow, dstOwner, paths);
    for (let k = 1; k < endpoints && paths.length < MAX_PATHS; k++) {
      nat.pick = k;
      this.branches(fabric, sourceId, flow, dstOwner, paths);
    }
    return { flow, source, paths };
  }

  /** The paths through every ECMP branch, added to `paths`; answers how many endpoints the first one's DNAT chose among. */
  private branches(fabric: Fabric, source: number, flow: Flow, dstOwner: number, paths: Path[]): number {
    let path = this.walk(fabric, source, flow, dstOwner, NO_CHOICES);
    const endpoints = this.nat.width;
    if (path.choices.length === 0) {
      paths.push(path);
      return endpoints;
    }
    // Every other next hop of an ECMP route makes another path, walked breadth first: at each decision a path took first,
    // the paths that share its earlier choices and take another branch there.
    const pending: (readonly number[])[] = [];
    let forced = NO_CHOICES;
    for (;;) {
      for (let d = forced.length; d < path.choices.length; d++) {
        for (let j = 1; j < this.widths[d]! && paths.length + pending.length < MAX_PATHS; j++) {
          pending.push([...path.choices.slice(0, d), j]);
        }
      }
      paths.push(path);
      if (pending.length === 0 || paths.length >= MAX_PATHS) return endpoints;
      forced = pending.shift()!;
      path = this.walk(fabric, source, flow, dstOwner, forced);
    }
  }

  /** One path: the one through the `forced` next hops at the first ECMP decisions, and the first at the others. */
  private walk(fabric: Fabric, source: number, flow: Flow, flowOwner: number, forced: readonly number[]): Path {
    const { fibs, owners, tunnels } = fabric;
    const record = this.record;
    const answer = this.answer;
    const nat = this.nat;
    nat.reset(flow.src, flow.dst, flow.dstPort ?? 0);
    const resume = this.resumable && this.sharesPrefix(forced);
    this.resumable = false;
    let choices: number[] | undefined;
    // The packet being routed: the flow's, or while it is encapsulated the outermost header's. Its destination's words
    // are kept apart from the Addr, which only an explanation and a proxy's answer read: a tunnel endpoint's Addr is
    // one more object in the heap, and a cache miss.
    let dst = flow.dst;
    let family = dst.family;
    let d0 = dst.w0;
    let d1 = dst.w1;
    let d2 = dst.w2;
    let d3 = dst.w3;
    let dstOwner = flowOwner;
    let ttl = flow.ttl;
    let depth = 0;
    let packet = 0;
    // Loops are looked for among the forwardings of the current packet only: an outer packet crosses the same routers.
    let first = 0;
    let ns = source;
    let hop: number;
    let inLink = this.entry;
    // NetworkPolicy: the source pod's egress is checked where its packet first enters another netns (its node's, or
    // across a bridge the destination pod's), after kube-proxy's DNAT there, so against the endpoint and its port; the
    // destination pod's ingress at delivery, against the source the packet has then (masqueraded or not).
    const policies = flow.established ? undefined : fabric.policies;
    const masq = fabric.masquerade;
    let egressFrom = policies === undefined ? -1 : policies.podOfNetns[source]!;
    if (resume) {
      // The packet is where the last walk met the DNAT, as it was then (before the DNAT, depth 0, so the flow's).
      record.rewind(this.atRecord, this.atHop);
      ns = this.atNs;
      hop = this.atHop;
      inLink = this.atInLink;
      ttl = this.atTtl;
      this.forwardings = this.atForwardings;
      this.packets = this.atPackets;
      packet = this.atPacket;
      egressFrom = this.atEgressFrom;
      if (this.atDecisions > 0) choices = this.taken.slice(0, this.atDecisions);
    } else {
      record.reset();
      this.forwardings = 0;
      this.packets = 0;
      hop = record.hop(ns, this.entry);
      if (this.entry < 0) record.originate(ttl);
    }
    let resuming = resume;

    for (;;) {
      let verdict = NO_MATCH;
      if (resuming) {
        resuming = false;
        verdict = nat.again(record, NAT_CODES, ns);
      } else {
        if (inLink >= 0) record.receive(inLink, ttl);
        // kube-proxy's rules in a node: PREROUTING for a packet that came in, OUTPUT for one the node sends (service/nat.ts).
        // A socket routes its packet before OUTPUT: one the node cannot route (connect() fails) meets no rule at all.
        if (depth === 0 && nat.applies(fabric, ns) && (inLink >= 0 || this.routable(fabric, ns, -1, family, d0, d1, d2, d3, dstOwner, ttl))) {
          const at = record.length;
          verdict = nat.prerouting(fabric, record, NAT_CODES, ns, inLink, family, d0, d1, d2, d3, dstOwner);
          // kube-proxy rejects and drops in its filter chains (INPUT, FORWARD, OUTPUT), after the routing decision, which
          // is the untranslated destination's: a packet the kernel cannot deliver or forward here ends as the routing
          // says, and the rule never sees it. Not so the firewall of loadBalancerSourceRanges: the nftables mode's acts
          // before routing (filter-prerouting), the iptables mode's after the DNAT to an endpoint, whose route decides.
          // (A packet the node sends was found routable above.)
          const filtered = verdict === SERVICE_REJECT || verdict === SERVICE_NO_LOCAL;
          if (filtered && inLink >= 0 && !this.routable(fabric, ns, inLink, family, d0, d1, d2, d3, dstOwner, ttl)) {
            record.length = at;
            verdict = NO_MATCH;
          } else if (verdict === TRANSLATED) this.keep(at, ns, hop, inLink, ttl, packet, egressFrom, choices);
        }
      }
      if (verdict === TRANSLATED) {
        this.resumable = true;
        dst = nat.dst;
        d0 = nat.d0;
        d1 = nat.d1;
        d2 = nat.d2;
        d3 = nat.d3;
        dstOwner = nat.dstOwner;
        // A packet to another destination: the netns it crossed on the way here may see it again without a loop.
        first = this.forwardings;
      } else if (verdict !== NO_MATCH) return this.finish(fabric, flow, choices, verdict);
      if (egressFrom >= 0 && inLink >= 0 && depth === 0) {
        if (this.policy.egress(fabric, policies!, record, egressFrom, dst, dstOwner, flow, nat.dstPort)) return this.drop(fabric, flow, choices, DENIED, 1);
        egressFrom = -1;
      }

      // The local table: an address of this netns, on any of its links, up or not (its local route stays).
      let local = -1;
      for (let o = dstOwner; o >= 0 && local < 0; o = owners.next(o)) if (owners.netns(o) === ns) local = owners.link(o);
      // IPv4 refuses a received packet whose source is its own address (fib_validate_source, accept_local off), whether it
      // would deliver or forward it, once the lookup found a route: the flow's packet has come back to its sender.
      const martian = inLink >= 0 && depth === 0 && ns === source && family === 4 && !nat.snatted && this.entry < 0;
      if (local >= 0) {
        if (martian) return this.drop(fabric, flow, choices, MARTIAN, inLink);
        if (depth === 0) {
          const pod = policies === undefined || ns === source ? -1 : policies.podOfNetns[ns]!;
          if (pod >= 0 && this.policy.ingress(fabric, policies!, record, pod, nat.src, flow, nat.dstPort)) return this.drop(fabric, flow, choices, DENIED, 0);
          record.deliver(local);
          return this.finish(fabric, flow, choices, DELIVERED);
        }
        // An outer packet has arrived: a tunnel link of this netns takes it, strips the outer header and receives the
        // inner packet, which is routed on from here.
        const sender = this.tunnelLink[depth - 1]!;
        const receiver = tunnels.receiver(ns, this.tunnelFacts[depth - 1]!);
        if (receiver < 0) {
          record.drop(NO_RECEIVER);
          record.put(sender);
          record.put(local);
          return this.finish(fabric, flow, choices, NO_RECEIVER);
        }
        const rx = tunnels.receiverLink(receiver);
        const mac = this.tunnelMac[depth - 1]!;
        if (tunnels.wrongMac(receiver, mac)) {
          record.drop(WRONG_MAC);
          record.put(rx);
          record.put(mac);
          return this.finish(fabric, flow, choices, WRONG_MAC);
        }
        record.decap(rx, local);
        depth--;
        dst = this.innerDst[depth]!;
        family = dst.family;
        d0 = dst.w0;
        d1 = dst.w1;
        d2 = dst.w2;
        d3 = dst.w3;
        dstOwner = this.innerOwner[depth]!;
        ttl = this.innerTtl[depth]!;
        this.forwardings = this.innerForwardings[depth]!;
        first = this.innerFirst[depth]!;
        packet = this.innerPacket[depth]!;
        inLink = rx;
        continue;
      }

      const group = fabric.route(ns, family, d0, d1, d2, d3);
      let choice = 0;
      const width = group >= 0 ? fibs.width(group) : 0;
      if (width > 1) {
        const decisions = choices?.length ?? 0;
        let t = 0;
        while (t < decisions && (this.takenNs[t] !== ns || this.takenPacket[t] !== packet)) t++;
        if (t < decisions) choice = this.taken[t]!;
        else {
          if (decisions < forced.length) choice = forced[decisions]!;
          this.widths[decisions] = width;
          this.takenNs[decisions] = ns;
          this.takenPacket[decisions] = packet;
          this.taken[decisions] = choice;
          (choices ??= []).push(choice);
        }
      }
      record.route(group, choice);
      const forwarded = inLink >= 0;
      // IPv4 (ip_route_input_slow) drops a packet it may not forward right after the lookup, whatever the lookup found;
      // IPv6 lets a reject route act first (its input handler) and checks forwarding in ip6_forward, on unicast routes only.
      if (forwarded && family === 4 && !fabric.forwards(ns)) return this.drop(fabric, flow, choices, FORWARDING_DISABLED, 4);
      if (group < 0) return this.drop(fabric, flow, choices, NO_ROUTE, -1);
      const type = fibs.type(group);
      if (type === BLACKHOLE) return this.drop(fabric, flow, choices, BLACKHOLED, group);
      if (type !== UNICAST) return this.drop(fabric, flow, choices, UNREACHABLE, group);

      if (forwarded) {
        if (!fabric.forwards(ns)) return this.drop(fabric, flow, choices, FORWARDING_DISABLED, family);
        if (martian) return this.drop(fabric, flow, choices, MARTIAN, inLink);
        if (ttl <= 1) return this.drop(fabric, flow, choices, TTL_EXCEEDED, ttl);
        const n = this.forwardings;
        let seen = first;
        while (seen < n && this.forwardedAt[seen] !== ns) seen++;
        if (seen < n) {
          record.drop(LOOP);
          record.put(ttl);
          record.put(n - seen + 1);
          for (let i = seen; i < n; i++) record.put(this.forwardedAt[i]!);
          record.put(ns);
          return this.finish(fabric, flow, choices, LOOP);
        }
        this.forwardedAt[this.forwardings++] = ns;
        ttl--;
      }

      // The nftables mode's cluster-ips-check (in FORWARD, and in OUTPUT after the DNAT): a packet still addressed to a
      // ClusterIP is for a port no Service rule took, and is rejected; one to the service CIDR, for an unallocated address.
      if (depth === 0) {
        const sp = nat.clusterIPsCheck(ns, family, d0, d1, d2, d3);
        if (sp >= 0) return this.drop(fabric, flow, choices, SERVICE_CLUSTER_IP_PORT, sp);
        if (sp === UNALLOCATED_CLUSTER_IP) return this.drop(fabric, flow, choices, SERVICE_UNALLOCATED, -1);
      }

      const nh = fibs.nexthop(group, choice);
      const dev = fibs.dev(nh);
      const pinned = fibs.link(nh);
      const out = pinned >= 0 ? pinned : fabric.linkAt(ns, dev);
      record.out(hop, out);
      if (!fabric.hasCarrier(out)) return this.drop(fabric, flow, choices, LINK_DOWN, out);
      if (depth === 0 && !nat.snatted) {
        if (nat.wantsSnat(ns)) nat.postrouting(fabric, record, ns, out, group, choice);
        else if (masq !== undefined && masq.nodeOfNetns[ns]! >= 0) nat.egress(fabric, masq, record, ns, out, group, choice, family, d0, d1, d2, d3, dstOwner);
      }
      const gateway = fibs.hasGateway(nh);

      const mode = fabric.tunnelMode(out);
      if (mode !== 0) {
        // A tunnel: find the far end, push the inner packet's state and route the outer packet from this netns, as one
        // it sends itself.
        if (depth === MAX_DEPTH) {
          record.drop(LOOP);
          record.put(ttl);
          record.put(1);
          record.put(ns);
          return this.finish(fabric, flow, choices, LOOP);
        }
        const tunnel = tunnels.tunnel(ns, out);
        let endpoint: Addr;
        let endpointOwner: number;
        let ref: number;
        let mac = -1;
        if (mode === TUNNEL_IPIP) {
          // tunl0 has no remote: the outer destination is the route's gateway (or the inner destination on a direct route),
          // of the inner packet's family.
          ref = gateway ? nh : -1;
          endpoint = gateway ? fibs.gateway(nh)! : dst;
          endpointOwner = gateway ? fibs.gatewayOwner(nh) : dstOwner;
          if (gateway) {
            d0 = fibs.gatewayWord(nh, 0);
            d1 = fibs.gatewayWord(nh, 1);
            d2 = fibs.gatewayWord(nh, 2);
            d3 = fibs.gatewayWord(nh, 3);
          }
        } else {
          if (mode === TUNNEL_IPCACHE) {
            ref = tunnels.ipcache(tunnel, family, d0, d1, d2, d3);
            if (ref < 0) return this.drop(fabric, flow, choices, NO_IPCACHE, out);
          } else {
            const entry = gateway
              ? tunnels.neighbour(ns, dev, family, fibs.gatewayWord(nh, 0), fibs.gatewayWord(nh, 1), fibs.gatewayWord(nh, 2), fibs.gatewayWord(nh, 3))
              : tunnels.neighbour(ns, dev, family, d0, d1, d2, d3);
            const neighbor = gateway ? nh : -1;
            if (entry < 0) {
              record.drop(NO_TUNNEL_NEIGHBOR);
              record.put(out);
              record.put(neighbor);
              return this.finish(fabric, flow, choices, NO_TUNNEL_NEIGHBOR);
            }
            mac = tunnels.neighbourMac(entry);
            ref = tunnels.remote(entry);
            if (ref < 0) {
              record.drop(NO_FDB);
              record.put(out);
              record.put(neighbor);
              record.put(mac);
              return this.finish(fabric, flow, choices, NO_FDB);
            }
          }
          endpoint = tunnels.endpoints[ref]!;
          endpointOwner = tunnels.endpointOwner(ref, owners);
          family = tunnels.endpointFamily(ref);
          d0 = tunnels.endpointWord(ref, 0);
          d1 = tunnels.endpointWord(ref, 1);
          d2 = tunnels.endpointWord(ref, 2);
          d3 = tunnels.endpointWord(ref, 3);
        }
        // IP-in-IP inherits the inner TTL (tunl0's default); VXLAN and Geneve start afresh.
        const outerTtl = mode === TUNNEL_IPIP ? ttl : OUTER_TTL;
        record.encap(out, mode, ref, mac, outerTtl);
        this.innerDst[depth] = dst;
        this.innerOwner[depth] = dstOwner;
        this.innerTtl[depth] = ttl;
        this.innerForwardings[depth] = this.forwardings;
        this.innerFirst[depth] = first;
        this.innerPacket[depth] = packet;
        this.tunnelLink[depth] = out;
        this.tunnelFacts[depth] = tunnel;
        this.tunnelMac[depth] = mac;
        depth++;
        packet = ++this.packets;
        dst = endpoint;
        dstOwner = endpointOwner;
        ttl = outerTtl;
        first = this.forwardings;
        inLink = -1;
        continue;
      }

      // The neighbour: the gateway, or on a direct route the destination itself (whose owners are known already).
      const neighbor = gateway ? nh : -1;
      resolve(fabric, answer, out, family, dst, neighbor, gateway ? fibs.gatewayOwner(nh) : dstOwner);
      const by = answer.link;
      if (by < 0 || answer.blockedAt >= 0) {
        record.drop(NEIGHBOR_UNREACHABLE);
        record.put(out);
        record.put(neighbor);
        record.put(answer.blockedAt);
        return this.finish(fabric, flow, choices, NEIGHBOR_UNREACHABLE);
      }
      record.transmit(out, neighbor, by, answer.how, ttl);
      if (fabric.netnsOf(by) < 0) {
        record.drop(EXITS_NETWORK);
        record.put(out);
        record.put(neighbor);
        record.put(by);
        return this.finish(fabric, flow, choices, EXITS_NETWORK);
      }

      hop = cross(fabric, record, hop, answer);
      ns = record.netnsOf(hop);
      inLink = by;
    }
  }

  /**
   * Whether the kernel delivers the packet to `ns` itself or routes it on: the destination is its own, or a unicast route
   * holds it and, for a packet that came in by `inLink`, the netns forwards and the TTL allows it.
   */
  private routable(fabric: Fabric, ns: number, inLink: number, family: Family, d0: number, d1: number, d2: number, d3: number, dstOwner: number, ttl: number): boolean {
    const { owners, fibs } = fabric;
    for (let o = dstOwner; o >= 0; o = owners.next(o)) if (owners.netns(o) === ns) return true;
    // The local table's `local 127.0.0.0/8 dev lo` (and ::1): the netns's own packet to loopback is routed, whether the
    // fabric lists lo's addresses or not, and meets OUTPUT's rules (kube-proxy's localhost NodePorts).
    if (inLink < 0 && (family === 4 ? d0 >>> 24 === 127 : d0 === 0 && d1 === 0 && d2 === 0 && d3 === 1)) return true;
    const group = fabric.route(ns, family, d0, d1, d2, d3);
    if (group < 0 || fibs.type(group) !== UNICAST) return false;
    return inLink < 0 || (fabric.forwards(ns) && ttl > 1);
  }

  /** Keeps where this walk met the DNAT (the record's length before its step), for the trace's other walks. */
  private keep(at: number, ns: number, hop: number, inLink: number, ttl: number, packet: number, egressFrom: number, choices: number[] | undefined): void {
    this.atRecord = at;
    this.atNs = ns;
    this.atHop = hop;
    this.atInLink = inLink;
    this.atTtl = ttl;
    this.atForwardings = this.forwardings;
    this.atPackets = this.packets;
    this.atPacket = packet;
    this.atEgressFrom = egressFrom;
    this.atDecisions = choices?.length ?? 0;
  }

  /**
   * Whether a walk through the `forced` next hops takes the kept walk's decisions up to its DNAT (the first next hop
   * where `forced` says nothing), and so the same walk there.
   */
  private sharesPrefix(forced: readonly number[]): boolean {
    for (let d = 0; d < this.atDecisions; d++) if ((d < forced.length ? forced[d]! : 0) !== this.taken[d]) return false;
    return true;
  }

  /** Ends the walk with the path recorded so far. */
  private finish(fabric: Fabric, flow: Flow, choices: number[] | undefined, code: number): Path {
    return new RecordedPath(DISPOSITION_OF[code]!, choices ?? NO_CHOICES, this.record.copy(), fabric, flow, this.nat.table, this.record.egressAt, this.record.ingressAt);
  }

  /** Ends the walk with a DROP of one operand. */
  private drop(fabric: Fabric, flow: Flow, choices: number[] | undefined, code: number, operand: number): Path {
    this.record.drop(code);
    this.record.put(operand);
    return this.finish(fabric, flow, choices, code);
  }
}
