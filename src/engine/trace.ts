// The tracer: walks one packet through the fabric the way the Linux kernel would forward it, and records every decision.
// Per netns entered: local address → deliver; FIB lookup (longest prefix, then lowest metric; blackhole, unreachable and
// prohibit end it); a packet that was forwarded in needs forwarding on and a TTL above 1; then the next hop is resolved on
// the egress link's L2 domain (its owner, for IPv4 also a host answering for it on another of its links or a proxy-ARP
// answer) and the frame crosses veths, bridges and segments to it.
//
// A walk reads only the fabric's typed arrays and records its hops and steps as integers (netns, link, route group and
// next-hop numbers) in one flat record per path. Hop and Step objects, with the fabric's objects in them, are decoded from
// the record only when someone reads `path.hops`, and explain.ts writes sentences only when an answer is rendered: a
// dashboard's trace over 150,000 pods reads a few cache lines per netns and allocates a handful of objects.
import type { Addr, Family } from './addr.js';
import type { Fabric, Link, Netns } from './fabric.js';
import { BLACKHOLE, UNICAST } from './fib.js';
import { TUNNEL_FDB, TUNNEL_IPCACHE, TUNNEL_IPIP } from './fabric.js';
import type { Route } from './route.js';

export type Disposition =
  | 'DELIVERED'
  | 'EXITS_NETWORK'
  | 'NO_ROUTE'
  | 'BLACKHOLED'
  | 'UNREACHABLE'
  | 'NEIGHBOR_UNREACHABLE'
  | 'LINK_DOWN'
  | 'FORWARDING_DISABLED'
  | 'LOOP'
  | 'TTL_EXCEEDED';

// How bad each outcome is, for the answer to an ECMP split: the kernel spreads flows over every branch, so an answer that
// said DELIVERED while a branch drops would hide the flows that fail. DELIVERED is best; EXITS_NETWORK next (the packet
// leaves the model: no failure seen, but no delivery either); then the drops, whose order here only breaks ties so that
// the same trace always shows the same path.
const SEVERITY: Readonly<Record<Disposition, number>> = {
  DELIVERED: 0,
  EXITS_NETWORK: 1,
  NO_ROUTE: 2,
  BLACKHOLED: 3,
  UNREACHABLE: 4,
  NEIGHBOR_UNREACHABLE: 5,
  LINK_DOWN: 6,
  FORWARDING_DISABLED: 7,
  LOOP: 8,
  TTL_EXCEEDED: 9,
};

/** The index of the path with the worst disposition (the first of equals): the one an answer reports. */
export function worstPath(paths: readonly { readonly disposition: Disposition }[]): number {
  let worst = 0;
  for (let i = 1; i < paths.length; i++) if (SEVERITY[paths[i]!.disposition] > SEVERITY[paths[worst]!.disposition]) worst = i;
  return worst;
}

export interface Flow {
  readonly src: Addr;
  readonly dst: Addr;
  readonly ttl: number;
}

export type Step =
  | { readonly type: 'ORIGINATE'; readonly src: Addr; readonly dst: Addr; readonly ttl: number }
  | { readonly type: 'RECEIVE'; readonly link: Link; readonly ttl: number }
  | {
      readonly type: 'ROUTE';
      readonly netns: Netns;
      /** The packet routed: the flow's, or inside a tunnel the outer one. */
      readonly src: Addr;
      readonly dst: Addr;
      readonly route: Route | undefined;
      readonly nexthop: number;
    }
  | {
      readonly type: 'ENCAPSULATE';
      readonly link: Link;
      /** How the far end was found: the neighbour and FDB (VXLAN), Cilium's ipcache, or the route's gateway (IP-in-IP). */
      readonly via: 'fdb' | 'ipcache' | 'gateway';
      /** For `fdb`: the next hop, and the MAC its permanent neighbour entry gives. */
      readonly neighbor: Addr | undefined;
      readonly lladdr: string | undefined;
      readonly outer: OuterHeader;
      /** Bytes the outer headers add: what the inner packet loses of every MTU on the way. */
      readonly overhead: number;
    }
  | { readonly type: 'DECAPSULATE'; readonly link: Link; readonly outer: OuterHeader }
  | { readonly type: 'BRIDGE'; readonly bridge: Link; readonly from: Link | undefined; readonly to: Link | undefined; readonly dst: Addr }
  | {
      readonly type: 'TRANSMIT';
      readonly link: Link;
      readonly neighbor: Addr;
      /** The link that answered ARP/ND for the neighbour. */
      readonly answeredBy: Link;
      readonly how: 'owner' | 'host' | 'proxy';
      readonly ttl: number;
    }
  | { readonly type: 'DELIVER'; readonly link: Link; readonly dst: Addr }
  | { readonly type: 'DROP'; readonly disposition: Disposition; readonly detail: DropDetail };

export interface OuterHeader {
  readonly src: Addr;
  readonly dst: Addr;
  readonly protocol: 'udp' | 'ipip';
  /** VXLAN/Geneve only. */
  readonly vni: number | undefined;
  readonly port: number | undefined;
  readonly ttl: number;
}

export type DropDetail =
  | { readonly kind: 'route'; readonly route: Route | undefined }
  | { readonly kind: 'forwarding'; readonly family: Family }
  | { readonly kind: 'ttl'; readonly ttl: number }
  | { readonly kind: 'carrier'; readonly link: Link }
  | { readonly kind: 'neighbor'; readonly link: Link; readonly neighbor: Addr; readonly blockedAt: Link | undefined }
  | { readonly kind: 'loop'; readonly cycle: readonly Netns[]; readonly ttl: number }
  /** An IPv4 packet came back to the netns that sent it, whose own address its source is (a martian source). */
  | { readonly kind: 'martian'; readonly link: Link }
  | { readonly kind: 'exit'; readonly link: Link; readonly neighbor: Addr; readonly external: Link }
  /** A tunnel link without a permanent neighbour entry for the next hop (it cannot ARP through the tunnel). */
  | { readonly kind: 'tunnel-neighbor'; readonly link: Link; readonly neighbor: Addr }
  | { readonly kind: 'fdb'; readonly link: Link; readonly neighbor: Addr; readonly lladdr: string }
  | { readonly kind: 'ipcache'; readonly link: Link; readonly dst: Addr }
  /** The outer packet reached `at`, whose netns has no tunnel link that takes it. */
  | { readonly kind: 'tunnel-receiver'; readonly link: Link; readonly at: Link; readonly outer: OuterHeader }
  /** The receiving tunnel link's MAC is not the one the sender's neighbour entry gave. */
  | { readonly kind: 'tunnel-mac'; readonly link: Link; readonly lladdr: string; readonly outer: OuterHeader };

export interface Hop {
  readonly netns: Netns;
  /** The link the packet entered this netns by (undefined where it originated). */
  readonly in: Link | undefined;
  /** The link it left by: the route's device, or for a netns it only crossed at L2, the bridge port. */
  readonly out: Link | undefined;
  readonly steps: readonly Step[];
}

export interface Trace {
  readonly flow: Flow;
  readonly source: Netns;
  /** The path through the first next hop of every ECMP route; then every other combination. */
  readonly paths: readonly Path[];
}

export class Path {
  private decoded: readonly Hop[] | undefined;

  constructor(
    readonly disposition: Disposition,
    /** The next hop taken at each ECMP route on the way (index into the route's nexthops). */
    readonly choices: readonly number[],
    private readonly record: readonly number[],
    private readonly fabric: Fabric,
    private readonly flow: Flow,
  ) {}

  /** The hops and their steps, decoded from the walk's record the first time they are read. */
  get hops(): readonly Hop[] {
    return (this.decoded ??= decode(this.fabric, this.flow, this.record));
  }
}

/** Enough for any real ECMP fan-out; a pathological document cannot make one trace explode. */
const MAX_PATHS = 64;
const NO_CHOICES: readonly number[] = Object.freeze([]);

export function trace(fabric: Fabric, source: Netns, flow: Flow): Trace {
  // The destination is the same at every hop: who owns it is looked up once.
  const dstOwner = fabric.owners.first(flow.dst);
  let path = walk(fabric, source.id, flow, dstOwner, NO_CHOICES);
  if (path.choices.length === 0) return { flow, source, paths: [path] };
  // Every other next hop of an ECMP route makes another path, walked breadth first: at each decision a path took first,
  // the paths that share its earlier choices and take another branch there.
  const paths: Path[] = [];
  const pending: (readonly number[])[] = [];
  let forced = NO_CHOICES;
  for (;;) {
    for (let d = forced.length; d < path.choices.length; d++) {
      for (let j = 1; j < scratch.widths[d]! && paths.length + pending.length < MAX_PATHS; j++) {
        pending.push([...path.choices.slice(0, d), j]);
      }
    }
    paths.push(path);
    if (pending.length === 0 || paths.length >= MAX_PATHS) return { flow, source, paths };
    forced = pending.shift()!;
    path = walk(fabric, source.id, flow, dstOwner, forced);
  }
}

// ---- the record of a walk ----
//
// A sequence of entries, each an opcode and its operands; link, netns, group and next-hop numbers are -1 for none.
//   HOP netns in out            a netns entered (out is filled in when the packet leaves)
//   ORIGINATE ttl | RECEIVE link ttl | ROUTE group nexthop | BRIDGE bridge from to | DELIVER link
//   TRANSMIT link neighbor answeredBy how ttl    neighbor: the next hop whose gateway it is, or -1 for the destination
//   ENCAP link mode ref mac ttl   mode TUNNEL_FDB or TUNNEL_IPCACHE: ref is an endpoint number (Tunnels.endpoints), mac
//     the neighbour's MAC number (-1 for ipcache); TUNNEL_IPIP: ref the next hop (its gateway is the endpoint), or -1 for
//     the inner destination. Every entry up to the matching DECAP is about the outer packet.
//   DECAP link at                 link: the tunnel link that takes the packet; at: the link owning the outer destination
//   DROP code operands…   per code: NO_ROUTE, BLACKHOLED, UNREACHABLE group | FORWARDING_DISABLED family |
//     TTL_EXCEEDED ttl | LINK_DOWN link | NEIGHBOR_UNREACHABLE link neighbor blockedAt | EXITS_NETWORK link neighbor
//     external | LOOP ttl count netns… | NO_TUNNEL_NEIGHBOR link neighbor | NO_FDB link neighbor mac | NO_IPCACHE link |
//     NO_RECEIVER link at | WRONG_MAC link mac | MARTIAN link
const HOP = 0;
const ORIGINATE = 1;
const RECEIVE = 2;
const ROUTE = 3;
const BRIDGE = 4;
const TRANSMIT = 5;
const DELIVER = 6;
const DROP = 7;
const ENCAP = 8;
const DECAP = 9;

const DISPOSITIONS: readonly Disposition[] = [
  'DELIVERED',
  'EXITS_NETWORK',
  'NO_ROUTE',
  'BLACKHOLED',
  'UNREACHABLE',
  'NEIGHBOR_UNREACHABLE',
  'LINK_DOWN',
  'FORWARDING_DISABLED',
  'LOOP',
  'TTL_EXCEEDED',
  // The drop codes of tunnels, by the disposition each ends in: the sender cannot find the far end (as a neighbour it
  // cannot resolve), or the far end refuses the outer packet (the kernel answers port or protocol unreachable).
  'NEIGHBOR_UNREACHABLE',
  'NEIGHBOR_UNREACHABLE',
  'NEIGHBOR_UNREACHABLE',
  'UNREACHABLE',
  'NEIGHBOR_UNREACHABLE',
  // A packet back at its sender: Linux drops it as a martian source; the trace has gone round in a loop.
  'LOOP',
];
const DELIVERED = 0;
const EXITS_NETWORK = 1;
const NO_ROUTE = 2;
const BLACKHOLED = 3;
const UNREACHABLE = 4;
const NEIGHBOR_UNREACHABLE = 5;
const LINK_DOWN = 6;
const FORWARDING_DISABLED = 7;
const LOOP = 8;
const TTL_EXCEEDED = 9;
const NO_TUNNEL_NEIGHBOR = 10;
const NO_FDB = 11;
const NO_IPCACHE = 12;
const NO_RECEIVER = 13;
const WRONG_MAC = 14;
const MARTIAN = 15;

const HOW = ['owner', 'host', 'proxy'] as const;
const OWNER = 0;
const HOST = 1;
const PROXY = 2;

/** Tunnels in tunnels are legal; a document that nests them deeper than this is looping. */
const MAX_DEPTH = 8;
/** The TTL of a VXLAN or Geneve outer header: the kernel's default when the link sets none (ip4_dst_hoplimit). */
const OUTER_TTL = 64;

/**
 * What a walk writes as it goes, reused by every walk (tracing is synchronous): the record, which a finished path copies
 * once; the netns that forwarded the packet (for loops); the ECMP decisions taken per netns and the width of each; and,
 * while a packet travels encapsulated, the inner packet's state per tunnel level.
 */
const scratch = {
  record: new Array<number>(1024).fill(0),
  length: 0,
  forwardedAt: new Array<number>(256).fill(0),
  forwardings: 0,
  takenAt: new Array<number>(64).fill(0),
  taken: new Array<number>(64).fill(0),
  widths: new Array<number>(64).fill(0),
  innerDst: new Array<Addr | undefined>(MAX_DEPTH).fill(undefined),
  innerOwner: new Array<number>(MAX_DEPTH).fill(0),
  innerTtl: new Array<number>(MAX_DEPTH).fill(0),
  innerForwardings: new Array<number>(MAX_DEPTH).fill(0),
  innerFirst: new Array<number>(MAX_DEPTH).fill(0),
  tunnelLink: new Array<number>(MAX_DEPTH).fill(0),
  tunnelMac: new Array<number>(MAX_DEPTH).fill(0),
};

/** Who answered the last neighbour resolution, reused so that resolving allocates nothing. */
const answer = {
  /** The link that answers ARP/ND, or -1 for nobody. */
  link: -1,
  how: OWNER,
  /** The path to the answering link is in fabric.l2.scratch[0 .. pathLength). */
  pathLength: 0,
  /** A down link between the egress link and the neighbour (ARP gets no answer), or -1. */
  blockedAt: -1,
};

function put(x: number): void {
  scratch.record[scratch.length++] = x;
}

/** Starts the record of a hop into netns `ns`; returns where it is, so that its `out` can be filled in. */
function openHop(ns: number, inLink: number): number {
  const at = scratch.length;
  put(HOP);
  put(ns);
  put(inLink);
  put(-1);
  return at;
}

function walk(fabric: Fabric, source: number, flow: Flow, flowOwner: number, forced: readonly number[]): Path {
  const { fibs, owners, tunnels } = fabric;
  const record = scratch.record;
  scratch.length = 0;
  scratch.forwardings = 0;
  let choices: number[] | undefined;
  // The packet being routed: the flow's, or while it is encapsulated the outermost header's.
  let dst = flow.dst;
  let family = dst.family;
  let dstOwner = flowOwner;
  let ttl = flow.ttl;
  let depth = 0;
  // Loops are looked for among the forwardings of the current packet only: an outer packet crosses the same routers.
  let first = 0;
  let ns = source;
  let hop = openHop(ns, -1);
  put(ORIGINATE);
  put(ttl);
  let inLink = -1;

  for (;;) {
    if (inLink >= 0) {
      put(RECEIVE);
      put(inLink);
      put(ttl);
    }

    // The local table: an address of this netns, on any of its links, up or not (its local route stays).
    let local = -1;
    for (let o = dstOwner; o >= 0 && local < 0; o = owners.next(o)) if (owners.netns(o) === ns) local = owners.link(o);
    // IPv4 refuses a received packet whose source is its own address (fib_validate_source, accept_local off), whether it
    // would deliver or forward it, once the lookup found a route: the flow's packet has come back to its sender.
    const martian = inLink >= 0 && depth === 0 && ns === source && family === 4;
    if (local >= 0) {
      if (martian) return drop(fabric, flow, choices, MARTIAN, inLink);
      if (depth === 0) {
        put(DELIVER);
        put(local);
        return finish(fabric, flow, choices, DELIVERED);
      }
      // An outer packet has arrived: a tunnel link of this netns takes it, strips the outer header and receives the
      // inner packet, which is routed on from here.
      const sender = scratch.tunnelLink[depth - 1]!;
      const rx = tunnels.receiver(ns, sender);
      if (rx < 0) {
        put(DROP);
        put(NO_RECEIVER);
        put(sender);
        put(local);
        return finish(fabric, flow, choices, NO_RECEIVER);
      }
      const mac = scratch.tunnelMac[depth - 1]!;
      if (mac >= 0 && tunnels.linkMac(rx) >= 0 && tunnels.linkMac(rx) !== mac) {
        put(DROP);
        put(WRONG_MAC);
        put(rx);
        put(mac);
        return finish(fabric, flow, choices, WRONG_MAC);
      }
      put(DECAP);
      put(rx);
      put(local);
      depth--;
      dst = scratch.innerDst[depth]!;
      family = dst.family;
      dstOwner = scratch.innerOwner[depth]!;
      ttl = scratch.innerTtl[depth]!;
      scratch.forwardings = scratch.innerForwardings[depth]!;
      first = scratch.innerFirst[depth]!;
      inLink = rx;
      continue;
    }

    const group = fabric.route(ns, family, dst.w0, dst.w1, dst.w2, dst.w3);
    let choice = 0;
    if (group >= 0 && fibs.width(group) > 1) {
      // The same flow hashes to the same next hop on every visit of a netns (an outer packet is another flow).
      const key = ns * MAX_DEPTH + depth;
      let t = 0;
      const decisions = choices?.length ?? 0;
      while (t < decisions && scratch.takenAt[t] !== key) t++;
      if (t < decisions) choice = scratch.taken[t]!;
      else {
        if (decisions < forced.length) choice = forced[decisions]!;
        scratch.widths[decisions] = fibs.width(group);
        scratch.takenAt[decisions] = key;
        scratch.taken[decisions] = choice;
        (choices ??= []).push(choice);
      }
    }
    put(ROUTE);
    put(group);
    put(choice);
    const forwarded = inLink >= 0;
    // IPv4 (ip_route_input_slow) drops a packet it may not forward right after the lookup, whatever the lookup found;
    // IPv6 lets a reject route act first (its input handler) and checks forwarding in ip6_forward, on unicast routes only.
    if (forwarded && family === 4 && !fabric.forwards(ns)) return drop(fabric, flow, choices, FORWARDING_DISABLED, 4);
    if (group < 0) return drop(fabric, flow, choices, NO_ROUTE, -1);
    const type = fibs.type(group);
    if (type === BLACKHOLE) return drop(fabric, flow, choices, BLACKHOLED, group);
    if (type !== UNICAST) return drop(fabric, flow, choices, UNREACHABLE, group);

    if (forwarded) {
      if (!fabric.forwards(ns)) return drop(fabric, flow, choices, FORWARDING_DISABLED, family);
      if (martian) return drop(fabric, flow, choices, MARTIAN, inLink);
      if (ttl <= 1) return drop(fabric, flow, choices, TTL_EXCEEDED, ttl);
      const n = scratch.forwardings;
      let seen = first;
      while (seen < n && scratch.forwardedAt[seen] !== ns) seen++;
      if (seen < n) {
        put(DROP);
        put(LOOP);
        put(ttl);
        put(n - seen + 1);
        for (let i = seen; i < n; i++) put(scratch.forwardedAt[i]!);
        put(ns);
        return finish(fabric, flow, choices, LOOP);
      }
      scratch.forwardedAt[scratch.forwardings++] = ns;
      ttl--;
    }

    const nh = fibs.nexthop(group, choice);
    const out = fabric.linkAt(ns, fibs.dev(nh));
    record[hop + 3] = out;
    if (!fabric.hasCarrier(out)) return drop(fabric, flow, choices, LINK_DOWN, out);

    const mode = fabric.tunnelMode(out);
    if (mode !== 0) {
      // A tunnel: find the far end, push the inner packet's state and route the outer packet from this netns, as one
      // it sends itself.
      if (depth === MAX_DEPTH) {
        put(DROP);
        put(LOOP);
        put(ttl);
        put(1);
        put(ns);
        return finish(fabric, flow, choices, LOOP);
      }
      let endpoint: Addr;
      let ref: number;
      let mac = -1;
      if (mode === TUNNEL_IPIP) {
        // tunl0 has no remote: the outer destination is the route's gateway (or the inner destination on a direct route).
        ref = fibs.hasGateway(nh) ? nh : -1;
        endpoint = ref < 0 ? dst : fibs.gateway(nh)!;
      } else if (mode === TUNNEL_IPCACHE) {
        ref = tunnels.ipcache(out, family, dst.w0, dst.w1, dst.w2, dst.w3);
        if (ref < 0) return drop(fabric, flow, choices, NO_IPCACHE, out);
        endpoint = tunnels.endpoints[ref]!;
      } else {
        const gw = fibs.hasGateway(nh) ? fibs.gateway(nh)! : dst;
        mac = tunnels.neighbour(ns, fibs.dev(nh), family, gw.w0, gw.w1, gw.w2, gw.w3);
        const neighbor = gw === dst ? -1 : nh;
        if (mac < 0) {
          put(DROP);
          put(NO_TUNNEL_NEIGHBOR);
          put(out);
          put(neighbor);
          return finish(fabric, flow, choices, NO_TUNNEL_NEIGHBOR);
        }
        ref = tunnels.remote(ns, fibs.dev(nh), mac);
        if (ref < 0) {
          put(DROP);
          put(NO_FDB);
          put(out);
          put(neighbor);
          put(mac);
          return finish(fabric, flow, choices, NO_FDB);
        }
        endpoint = tunnels.endpoints[ref]!;
      }
      // IP-in-IP inherits the inner TTL (tunl0's default); VXLAN and Geneve start afresh.
      const outerTtl = mode === TUNNEL_IPIP ? ttl : OUTER_TTL;
      put(ENCAP);
      put(out);
      put(mode);
      put(ref);
      put(mac);
      put(outerTtl);
      scratch.innerDst[depth] = dst;
      scratch.innerOwner[depth] = dstOwner;
      scratch.innerTtl[depth] = ttl;
      scratch.innerForwardings[depth] = scratch.forwardings;
      scratch.innerFirst[depth] = first;
      scratch.tunnelLink[depth] = out;
      scratch.tunnelMac[depth] = mac;
      depth++;
      dst = endpoint;
      family = endpoint.family;
      dstOwner = owners.first(endpoint);
      ttl = outerTtl;
      first = scratch.forwardings;
      inLink = -1;
      continue;
    }

    // The neighbour: the gateway, or on a direct route the destination itself (whose owners are known already).
    const neighbor = fibs.hasGateway(nh) ? nh : -1;
    resolve(fabric, out, dst, neighbor, neighbor < 0 ? dstOwner : fibs.gatewayOwner(nh));
    const by = answer.link;
    if (by < 0 || answer.blockedAt >= 0) {
      put(DROP);
      put(NEIGHBOR_UNREACHABLE);
      put(out);
      put(neighbor);
      put(answer.blockedAt);
      return finish(fabric, flow, choices, NEIGHBOR_UNREACHABLE);
    }
    put(TRANSMIT);
    put(out);
    put(neighbor);
    put(by);
    put(answer.how);
    put(ttl);
    if (fabric.netnsOf(by) < 0) {
      put(DROP);
      put(EXITS_NETWORK);
      put(out);
      put(neighbor);
      put(by);
      return finish(fabric, flow, choices, EXITS_NETWORK);
    }

    hop = cross(fabric, hop, answer.pathLength);
    ns = record[hop + 1]!;
    inLink = by;
  }
}

/** Ends the walk with the path recorded so far. */
function finish(fabric: Fabric, flow: Flow, choices: number[] | undefined, disposition: number): Path {
  const record = scratch.record.slice(0, scratch.length);
  return new Path(DISPOSITIONS[disposition]!, choices ?? NO_CHOICES, record, fabric, flow);
}

/** Ends the walk with a DROP of one operand. */
function drop(fabric: Fabric, flow: Flow, choices: number[] | undefined, disposition: number, operand: number): Path {
  put(DROP);
  put(disposition);
  put(operand);
  return finish(fabric, flow, choices, disposition);
}

/**
 * Who answers ARP/ND for the neighbour on the L2 domain of link `out`, and the way a frame takes to it: fills in
 * `answer`. The neighbour is the gateway of next hop `nh`, or with nh = -1 the destination; `owner` is its first owner
 * entry. A gateway is of the destination's family (a route of one family cannot name a gateway of the other).
 */
function resolve(fabric: Fabric, out: number, dst: Addr, nh: number, owner: number): void {
  const { l2, owners, fibs } = fabric;
  const domain = l2.domain(out);
  // The owner of the address on this very domain.
  for (let o = owner; o >= 0; o = owners.next(o)) {
    const id = owners.link(o);
    if (id !== out && fabric.masterOf(id) < 0 && l2.domain(id) === domain) return reach(fabric, out, id, OWNER);
  }
  const neighbor = nh < 0 ? dst : fibs.gateway(nh)!;
  if (dst.family === 6) {
    // Neighbour discovery answers only for an address of the link the solicitation arrived on, or by proxy for an
    // address the link has a proxy entry for, in a netns that forwards (ndisc_recv_ns); proxy_arp does not apply.
    for (let p = l2.firstNdpProxy(domain); p >= 0; p = l2.ndpProxyAfter(p)) {
      const ns = fabric.netnsOf(p);
      if (p === out || ns < 0 || !fabric.isUp(p) || !fabric.forwards(ns)) continue;
      for (const a of fabric.links[p]!.proxyNdp) if (a.equals(neighbor)) return reach(fabric, out, p, PROXY);
    }
  } else {
    // Linux answers ARP for any of its addresses on any of its links (arp_ignore=0), up or down, since the address's
    // local route stays: a netns that owns the address on another link but has a link on this domain answers with it.
    for (let o = owner; o >= 0; o = owners.next(o)) {
      const ns = owners.netns(o);
      if (ns < 0) continue;
      for (let i = 0, n = fabric.linkCount(ns); i < n; i++) {
        const link = fabric.linkAt(ns, i);
        if (link !== out && fabric.masterOf(link) < 0 && l2.domain(link) === domain) return reach(fabric, out, link, HOST);
      }
    }
    // Proxy ARP: a link with proxy_arp answers for an address its netns would forward out of a different link.
    for (let p = l2.firstProxy(domain); p >= 0; p = l2.proxyAfter(p)) {
      const ns = fabric.netnsOf(p);
      if (p === out || ns < 0 || !fabric.isUp(p) || !fabric.forwards(ns)) continue;
      const group = fabric.route(ns, 4, neighbor.w0, 0, 0, 0);
      if (group >= 0 && fibs.type(group) === UNICAST && fibs.dev(fibs.nexthop(group, 0)) !== fabric.indexOf(p)) {
        return reach(fabric, out, p, PROXY);
      }
    }
  }
  answer.link = -1;
  answer.how = OWNER;
  answer.pathLength = 0;
  answer.blockedAt = -1;
}

function reach(fabric: Fabric, out: number, to: number, how: number): void {
  const pathLength = fabric.l2.path(out, to);
  const path = fabric.l2.scratch;
  const n = fabric.links.length;
  answer.link = to;
  answer.how = how;
  answer.pathLength = pathLength;
  answer.blockedAt = -1;
  for (let i = 1; i < pathLength; i++) {
    const v = path[i]!;
    if (v < n && !fabric.isUp(v)) {
      answer.blockedAt = v;
      return;
    }
  }
}

/**
 * Follows a frame along the L2 path in fabric.l2.scratch (link and segment vertices) from the egress link to the
 * neighbour, opening a hop for every netns it enters and recording a BRIDGE step wherever a bridge forwards it. Returns
 * where the hop of the neighbour's netns is in the record.
 */
function cross(fabric: Fabric, hop: number, length: number): number {
  const n = fabric.links.length;
  const path = fabric.l2.scratch;
  const record = scratch.record;
  let ns = record[hop + 1]!;
  const first = path[0]!;
  const second = length > 1 ? path[1]! : -1;
  // Routed out of a bridge: the bridge itself picks the port.
  if (second >= 0 && second < n && fabric.masterOf(second) === first) {
    put(BRIDGE);
    put(first);
    put(-1);
    put(second);
  }
  for (let i = 1; i < length; i++) {
    const v = path[i]!;
    if (v >= n) continue;
    if (fabric.netnsOf(v) !== ns) {
      ns = fabric.netnsOf(v);
      hop = openHop(ns, v);
    }
    const prev = path[i - 1]!;
    if (prev < n && fabric.masterOf(prev) === v) {
      const next = i + 1 < length && path[i + 1]! < n ? path[i + 1]! : -1;
      put(BRIDGE);
      put(v);
      put(prev);
      put(next);
      if (next >= 0) record[hop + 3] = next;
    }
  }
  return hop;
}

// ---- decoding ----

function decode(fabric: Fabric, flow: Flow, r: readonly number[]): Hop[] {
  const { links, fibs, tunnels } = fabric;
  const link = (id: number) => (id < 0 ? undefined : links[id]);
  const route = (group: number) => (group < 0 ? undefined : fibs.route(group));
  // The packet the entries are about: the flow's, and one outer header per tunnel it is inside.
  const packets: { src: Addr | undefined; dst: Addr; encap: { step: EncapStep; outer: MutableOuter } | undefined }[] = [
    { src: flow.src, dst: flow.dst, encap: undefined },
  ];
  const top = () => packets[packets.length - 1]!;
  const neighbor = (nh: number) => (nh < 0 ? top().dst : fibs.gateway(nh)!);
  const hops: Hop[] = [];
  let ns = fabric.netns[0]!;
  let steps: Step[] = [];
  let i = 0;
  while (i < r.length) {
    switch (r[i]) {
      case HOP:
        ns = fabric.netns[r[i + 1]!]!;
        steps = [];
        hops.push({ netns: ns, in: link(r[i + 2]!), out: link(r[i + 3]!), steps });
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
        const p = top();
        const found = route(r[i + 1]!);
        // The outer source the kernel picks when the tunnel names none: the route's preferred source, or the first
        // address of its device in the family.
        if (p.src === undefined) {
          const nh = found?.nexthops[r[i + 2]!];
          const dev = nh === undefined ? undefined : ns.links[nh.dev];
          p.src = found?.prefsrc ?? dev?.addrs.find((a) => a.addr.family === p.dst.family)?.addr ?? p.dst;
          p.encap!.outer.src = p.src;
        }
        steps.push({ type: 'ROUTE', netns: ns, src: p.src, dst: p.dst, route: found, nexthop: r[i + 2]! });
        i += 3;
        break;
      }
      case BRIDGE:
        steps.push({ type: 'BRIDGE', bridge: links[r[i + 1]!]!, from: link(r[i + 2]!), to: link(r[i + 3]!), dst: top().dst });
        i += 4;
        break;
      case TRANSMIT:
        steps.push({
          type: 'TRANSMIT',
          link: links[r[i + 1]!]!,
          neighbor: neighbor(r[i + 2]!),
          answeredBy: links[r[i + 3]!]!,
          how: HOW[r[i + 4]!]!,
          ttl: r[i + 5]!,
        });
        i += 6;
        break;
      case DELIVER:
        steps.push({ type: 'DELIVER', link: links[r[i + 1]!]!, dst: top().dst });
        i += 2;
        break;
      case ENCAP: {
        const tunnel = links[r[i + 1]!]!;
        const mode = r[i + 2]!;
        const ref = r[i + 3]!;
        const mac = r[i + 4]!;
        const inner = top();
        const dst = mode === TUNNEL_IPIP ? neighbor(ref) : tunnels.endpoints[ref]!;
        const ipip = mode === TUNNEL_IPIP;
        const outer: MutableOuter = {
          src: tunnel.tunnel!.local ?? dst,
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
        packets.push({ src: tunnel.tunnel!.local, dst, encap: { step, outer } });
        i += 6;
        break;
      }
      case DECAP: {
        const p = packets.pop()!;
        steps.push({ type: 'DECAPSULATE', link: links[r[i + 1]!]!, outer: p.encap!.outer });
        i += 3;
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
            detail = { kind: 'neighbor', link: links[a]!, neighbor: neighbor(r[i + 3]!), blockedAt: link(r[i + 4]!) };
            operands = 3;
            break;
          case EXITS_NETWORK:
            detail = { kind: 'exit', link: links[a]!, neighbor: neighbor(r[i + 3]!), external: links[r[i + 4]!]! };
            operands = 3;
            break;
          case LOOP: {
            const cycle = r.slice(i + 4, i + 4 + r[i + 3]!).map((id) => fabric.netns[id]!);
            detail = { kind: 'loop', cycle, ttl: a };
            operands = 2 + cycle.length;
            break;
          }
          case NO_TUNNEL_NEIGHBOR:
            detail = { kind: 'tunnel-neighbor', link: links[a]!, neighbor: neighbor(r[i + 3]!) };
            operands = 2;
            break;
          case NO_FDB:
            detail = { kind: 'fdb', link: links[a]!, neighbor: neighbor(r[i + 3]!), lladdr: tunnels.macs[r[i + 4]!]! };
            operands = 3;
            break;
          case NO_IPCACHE:
            detail = { kind: 'ipcache', link: links[a]!, dst: top().dst };
            break;
          case NO_RECEIVER:
            detail = { kind: 'tunnel-receiver', link: links[a]!, at: links[r[i + 3]!]!, outer: top().encap!.outer };
            operands = 2;
            break;
          case MARTIAN:
            detail = { kind: 'martian', link: links[a]! };
            break;
          case WRONG_MAC:
            detail = { kind: 'tunnel-mac', link: links[a]!, lladdr: tunnels.macs[r[i + 3]!]!, outer: top().encap!.outer };
            operands = 2;
            break;
          default:
            detail = { kind: 'route', route: route(a) };
        }
        steps.push({ type: 'DROP', disposition: DISPOSITIONS[code]!, detail });
        i += 2 + operands;
        break;
      }
      default:
        throw new Error(`corrupt trace record at ${i}`);
    }
  }
  return hops;
}

type EncapStep = Extract<Step, { type: 'ENCAPSULATE' }>;
type MutableOuter = { -readonly [K in keyof OuterHeader]: OuterHeader[K] };

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
