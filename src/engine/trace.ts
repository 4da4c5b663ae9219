// The tracer: walks one packet through the fabric the way the Linux kernel would forward it, and records every decision.
// Per netns entered: local address → deliver; FIB lookup (longest prefix, then lowest metric; blackhole, unreachable and
// prohibit end it); a packet that was forwarded in needs forwarding on and a TTL above 1; then the next hop is resolved on
// the egress link's L2 domain (its owner, for IPv4 also a host answering for it on another of its links or a proxy-ARP
// answer) and the frame crosses veths, bridges and segments to it. Steps hold references, not sentences: explain.ts writes
// the sentences only when an answer is rendered, so tracing itself stays cheap.
import type { Addr, Family } from './addr.js';
import type { Fabric, Link, Netns } from './fabric.js';
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

export interface Flow {
  readonly src: Addr;
  readonly dst: Addr;
  readonly ttl: number;
}

export type Step =
  | { readonly type: 'ORIGINATE'; readonly src: Addr; readonly dst: Addr; readonly ttl: number }
  | { readonly type: 'RECEIVE'; readonly link: Link; readonly ttl: number }
  | { readonly type: 'ROUTE'; readonly netns: Netns; readonly dst: Addr; readonly route: Route | undefined; readonly nexthop: number }
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

export type DropDetail =
  | { readonly kind: 'route'; readonly route: Route | undefined }
  | { readonly kind: 'forwarding'; readonly family: Family }
  | { readonly kind: 'ttl'; readonly ttl: number }
  | { readonly kind: 'carrier'; readonly link: Link }
  | { readonly kind: 'neighbor'; readonly link: Link; readonly neighbor: Addr; readonly blockedAt: Link | undefined }
  | { readonly kind: 'loop'; readonly cycle: readonly Netns[]; readonly ttl: number }
  | { readonly kind: 'exit'; readonly link: Link; readonly neighbor: Addr; readonly external: Link };

export interface Hop {
  readonly netns: Netns;
  /** The link the packet entered this netns by (undefined where it originated). */
  readonly in: Link | undefined;
  /** The link it left by: the route's device, or for a netns it only crossed at L2, the bridge port. */
  out: Link | undefined;
  readonly steps: Step[];
}

export interface Path {
  readonly disposition: Disposition;
  readonly hops: readonly Hop[];
  /** The next hop taken at each ECMP route on the way (index into the route's nexthops). */
  readonly choices: readonly number[];
}

export interface Trace {
  readonly flow: Flow;
  readonly source: Netns;
  /** The path through the first next hop of every ECMP route; then every other combination. */
  readonly paths: readonly Path[];
}

/** Enough for any real ECMP fan-out; a pathological document cannot make one trace explode. */
const MAX_PATHS = 64;

export function trace(fabric: Fabric, source: Netns, flow: Flow): Trace {
  const paths: Path[] = [];
  const pending: number[][] = [[]];
  while (pending.length > 0 && paths.length < MAX_PATHS) {
    const prefix = pending.shift()!;
    paths.push(walk(fabric, source, flow, prefix, (choices, width) => {
      for (let j = 1; j < width && paths.length + pending.length < MAX_PATHS; j++) pending.push([...choices, j]);
    }));
  }
  return { flow, source, paths };
}

function walk(
  fabric: Fabric,
  source: Netns,
  flow: Flow,
  forced: readonly number[],
  fork: (choices: number[], width: number) => void,
): Path {
  const { dst } = flow;
  const hops: Hop[] = [];
  const choices: number[] = [];
  const forwardedAt: Netns[] = [];
  /** The next hop taken at each netns with an ECMP route: the same flow hashes to the same next hop on every visit. */
  let taken: Map<Netns, number> | undefined;
  let ttl = flow.ttl;
  let hop: Hop = { netns: source, in: undefined, out: undefined, steps: [{ type: 'ORIGINATE', src: flow.src, dst, ttl }] };
  hops.push(hop);
  let inLink: Link | undefined;

  for (;;) {
    const ns = hop.netns;
    if (inLink !== undefined) hop.steps.push({ type: 'RECEIVE', link: inLink, ttl });

    const local = fabric.localLink(ns, dst);
    if (local !== undefined) {
      hop.steps.push({ type: 'DELIVER', link: local, dst });
      return { disposition: 'DELIVERED', hops, choices };
    }

    const route = (dst.family === 4 ? ns.fib4 : ns.fib6).lookup(dst);
    let choice = 0;
    if (route !== undefined && route.ecmp) {
      taken ??= new Map();
      const before = taken.get(ns);
      if (before !== undefined) choice = before;
      else {
        const k = choices.length;
        if (k < forced.length) choice = forced[k]!;
        else fork([...choices], route.nexthops.length);
        choices.push(choice);
        taken.set(ns, choice);
      }
    }
    hop.steps.push({ type: 'ROUTE', netns: ns, dst, route, nexthop: choice });
    const forwarded = inLink !== undefined;
    // IPv4 (ip_route_input_slow) drops a packet it may not forward right after the lookup, whatever the lookup found;
    // IPv6 lets a reject route act first (its input handler) and checks forwarding in ip6_forward, on unicast routes only.
    if (forwarded && !ns.forwarding && dst.family === 4) return end(hop, hops, choices, 'FORWARDING_DISABLED', { kind: 'forwarding', family: 4 });
    if (route === undefined) return end(hop, hops, choices, 'NO_ROUTE', { kind: 'route', route });
    if (route.type === 'blackhole') return end(hop, hops, choices, 'BLACKHOLED', { kind: 'route', route });
    if (route.type !== 'unicast') return end(hop, hops, choices, 'UNREACHABLE', { kind: 'route', route });

    if (forwarded) {
      if (!ns.forwarding) return end(hop, hops, choices, 'FORWARDING_DISABLED', { kind: 'forwarding', family: dst.family });
      if (ttl <= 1) return end(hop, hops, choices, 'TTL_EXCEEDED', { kind: 'ttl', ttl });
      const seen = forwardedAt.indexOf(ns);
      if (seen >= 0) return end(hop, hops, choices, 'LOOP', { kind: 'loop', cycle: [...forwardedAt.slice(seen), ns], ttl });
      forwardedAt.push(ns);
      ttl--;
    }

    const nh = route.nexthops[choice]!;
    const out = ns.links[nh.dev]!;
    hop.out = out;
    if (!fabric.carrier(out)) return end(hop, hops, choices, 'LINK_DOWN', { kind: 'carrier', link: out });

    const neighbor = nh.gateway ?? dst;
    const answer = resolve(fabric, out, neighbor);
    if (answer.link === undefined || answer.blockedAt !== undefined) {
      return end(hop, hops, choices, 'NEIGHBOR_UNREACHABLE', { kind: 'neighbor', link: out, neighbor, blockedAt: answer.blockedAt });
    }
    hop.steps.push({ type: 'TRANSMIT', link: out, neighbor, answeredBy: answer.link, how: answer.how, ttl });
    if (answer.link.netns < 0) return end(hop, hops, choices, 'EXITS_NETWORK', { kind: 'exit', link: out, neighbor, external: answer.link });

    hop = cross(fabric, hops, hop, answer.pathLength, dst);
    inLink = answer.link;
  }
}

function end(hop: Hop, hops: Hop[], choices: number[], disposition: Disposition, detail: DropDetail): Path {
  hop.steps.push({ type: 'DROP', disposition, detail });
  return { disposition, hops, choices };
}

interface Answer {
  link: Link | undefined;
  how: 'owner' | 'host' | 'proxy';
  /** The path to the answering link is in fabric.l2.scratch[0 .. pathLength). */
  pathLength: number;
  /** A down link between the egress link and the neighbour: ARP gets no answer. */
  blockedAt: Link | undefined;
}

const NOBODY: Answer = { link: undefined, how: 'owner', pathLength: 0, blockedAt: undefined };

/** Who answers ARP/ND for `neighbor` on the L2 domain of `out`, and the way a frame takes to it. */
function resolve(fabric: Fabric, out: Link, neighbor: Addr): Answer {
  const { l2, owners, links, linkMaster } = fabric;
  const domain = l2.domain(out.id);
  // The owner of the address on this very domain.
  for (let o = owners.first(neighbor); o >= 0; o = owners.next(o)) {
    const id = owners.link(o);
    if (id !== out.id && linkMaster[id]! < 0 && l2.domain(id) === domain) return reach(fabric, out, links[id]!, 'owner');
  }
  // Neighbour discovery answers only for an address of the link the solicitation arrived on, and proxy NDP needs
  // explicit proxy entries (proxy_arp does not apply to IPv6): past the owner on the domain, nobody answers.
  if (neighbor.family === 6) return NOBODY;
  // Linux answers ARP for any of its addresses on any of its links (arp_ignore=0), up or down, since the address's
  // local route stays: a netns that owns the address on another link but has a link on this domain answers with that one.
  for (let o = owners.first(neighbor); o >= 0; o = owners.next(o)) {
    const owner = links[owners.link(o)]!;
    if (owner.netns < 0) continue;
    for (const link of fabric.netns[owner.netns]!.links) {
      if (link !== out && link.master < 0 && l2.domain(link.id) === domain) return reach(fabric, out, link, 'host');
    }
  }
  // Proxy ARP: a link with proxy_arp answers for an address its netns would forward out of a different link.
  for (let p = l2.firstProxy(domain); p >= 0; p = l2.proxyAfter(p)) {
    const link = links[p]!;
    if (link === out || link.netns < 0 || !link.up) continue;
    const ns = fabric.netns[link.netns]!;
    if (!ns.forwarding) continue;
    const route = (neighbor.family === 4 ? ns.fib4 : ns.fib6).lookup(neighbor);
    if (route !== undefined && route.type === 'unicast' && route.nexthops[0]!.dev !== link.index) {
      return reach(fabric, out, link, 'proxy');
    }
  }
  return NOBODY;
}

function reach(fabric: Fabric, out: Link, to: Link, how: Answer['how']): Answer {
  const pathLength = fabric.l2.path(out.id, to.id);
  const path = fabric.l2.scratch;
  const { links, linkUp } = fabric;
  for (let i = 1; i < pathLength; i++) {
    const v = path[i]!;
    if (v < links.length && linkUp[v] === 0) return { link: to, how, pathLength, blockedAt: links[v] };
  }
  return { link: to, how, pathLength, blockedAt: undefined };
}

/**
 * Follows a frame along an L2 path (link and segment vertices) from the egress link to the neighbour, adding a hop for
 * every netns it enters and a BRIDGE step wherever a bridge forwards it. Returns the hop of the neighbour's netns.
 */
function cross(fabric: Fabric, hops: Hop[], from: Hop, length: number, dst: Addr): Hop {
  const { links, linkNetns, linkMaster } = fabric;
  const n = links.length;
  const path = fabric.l2.scratch;
  let hop = from;
  const first = path[0]!;
  const second = length > 1 ? path[1]! : -1;
  // Routed out of a bridge: the bridge itself picks the port.
  if (second >= 0 && second < n && linkMaster[second] === first) {
    hop.steps.push({ type: 'BRIDGE', bridge: links[first]!, from: undefined, to: links[second], dst });
  }
  for (let i = 1; i < length; i++) {
    const v = path[i]!;
    if (v >= n) continue;
    if (linkNetns[v] !== hop.netns.id) {
      hop = { netns: fabric.netns[linkNetns[v]!]!, in: links[v], out: undefined, steps: [] };
      hops.push(hop);
    }
    const prev = path[i - 1]!;
    if (prev < n && linkMaster[prev] === v) {
      const next = i + 1 < length ? links[path[i + 1]!] : undefined;
      hop.steps.push({ type: 'BRIDGE', bridge: links[v]!, from: links[prev], to: next, dst });
      if (next !== undefined) hop.out = next;
    }
  }
  return hop;
}
