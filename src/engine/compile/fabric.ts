// A fabric document (the kernel's view, in `ip -j` field names) compiled into the traced model. Routes get Linux's
// treatment: connected routes are derived from addresses (proto kernel), routes through a link that is down are gone (the
// kernel flushes them; a multipath route loses only its dead next hops), and a gateway that no direct route of its device
// reaches makes the kernel refuse the route unless it is onlink. What the kernel would refuse or drop is kept as a note,
// not silently lost.
import { Addr, type Family } from '../addr.js';
import { IfAddr } from '../ifaddr.js';
import { Prefix } from '../prefix.js';
import { Fib, RouteTable } from '../fib.js';
import { Route, type NextHop, type RouteType, type Scope } from '../route.js';
import { FabricBuilder, type Fabric, type Link, type Netns, type Tunnel } from '../fabric.js';
import type { FabricDoc, LinkAddressDoc, LinkDoc, NetnsDoc, RouteDoc } from '../../topology/schema.js';

export const EMPTY_FIB4 = new Fib(new RouteTable(4, []));
export const EMPTY_FIB6 = new Fib(new RouteTable(6, []));

export function compileFabric(doc: FabricDoc): Fabric {
  const b = new FabricBuilder();
  for (const s of doc.segments ?? []) {
    const segment = b.segment(s.name, s.cidr === undefined ? undefined : Prefix.parse(s.cidr));
    for (const text of s.external ?? []) {
      const addr = Addr.parse(text);
      const host = b.addLink(undefined, `external ${text}`, 'external', true, [IfAddr.of(addr, segment.cidr?.bits ?? addr.bits)]);
      b.plug(host, segment);
    }
  }

  const compiled: { ns: Netns; doc: NetnsDoc; byName: Map<string, Link> }[] = [];
  for (const nd of doc.netns) {
    const forwarding = nd.forwarding ?? (nd.kind === 'node' || nd.kind === 'router');
    const ns = b.addNetns(nd.name, nd.kind, nd.node, forwarding, EMPTY_FIB4, EMPTY_FIB6);
    if (nd.multipathHashPolicy !== undefined) ns.multipathHashPolicy = nd.multipathHashPolicy;
    if (nd.multipathHashSeed !== undefined) ns.multipathHashSeed = nd.multipathHashSeed;
    const byName = new Map<string, Link>();
    for (const ld of nd.links) {
      const addrs = (ld.addresses ?? []).map(linkAddress);
      const proxyNdp = (ld.proxyNdp ?? []).map((a) => Addr.parse(a));
      const options = { mtu: ld.mtu, mac: ld.mac?.toLowerCase(), tunnel: tunnelOf(ld, nd), proxyNdp };
      byName.set(ld.name, b.addLink(ns, ld.name, ld.kind, ld.up ?? true, addrs, ld.proxyArp ?? false, options));
    }
    const dev = (name: string) => byName.get(name)!.index;
    ns.neigh = (nd.neigh ?? []).map((n) => ({ dst: Addr.parse(n.dst), lladdr: n.lladdr.toLowerCase(), dev: dev(n.dev) }));
    ns.fdb = (nd.fdb ?? []).map((e) => ({ mac: e.mac.toLowerCase(), dev: dev(e.dev), dst: Addr.parse(e.dst) }));
    compiled.push({ ns, doc: nd, byName });
  }
  const netnsByName = new Map(compiled.map((c) => [c.ns.name, c]));

  for (const { doc: nd, byName } of compiled) {
    for (const ld of nd.links) {
      const link = byName.get(ld.name)!;
      if (ld.peer) {
        const peer = netnsByName.get(ld.peer.netns)?.byName.get(ld.peer.link);
        if (peer) b.pair(link, peer);
      }
      if (ld.master !== undefined) {
        const master = byName.get(ld.master);
        if (master) b.enslave(link, master);
      }
      if (ld.segment !== undefined) b.plug(link, b.segment(ld.segment));
    }
  }

  for (const { ns, doc: nd } of compiled) {
    const routes = kernelRoutes(ns, nd.routes ?? []);
    ns.fib4 = new Fib(new RouteTable(4, routes.filter((r) => r.prefix.family === 4)));
    ns.fib6 = new Fib(new RouteTable(6, routes.filter((r) => r.prefix.family === 6)));
  }
  return b.build();
}

/** An address of a fabric link: a string, or {address, noprefixroute}. */
export function linkAddress(doc: LinkAddressDoc): IfAddr {
  return typeof doc === 'string' ? IfAddr.parse(doc) : IfAddr.parse(doc.address, doc.noprefixroute ?? false);
}

/**
 * The family of a route document's "default", which does not say it: the route's `family`, else its gateways', else
 * that of the netns's addresses when they are of one family (`families`). Undefined when none of these tells.
 */
export function defaultFamily(r: RouteDoc, families: ReadonlySet<Family>): Family | undefined {
  if (r.family !== undefined) return r.family;
  for (const text of [r.gateway, ...(r.nexthops ?? []).map((n) => n.gateway)]) {
    const gateway = text === undefined ? undefined : Addr.tryParse(text);
    if (gateway !== undefined) return gateway.family;
  }
  return families.size === 1 ? [...families][0] : undefined;
}

/** The family a route document's dst is to be read in: enforced when the route names one, required for "default". */
export function dstFamily(r: RouteDoc, families: ReadonlySet<Family>): Family | undefined {
  return r.dst === 'default' ? defaultFamily(r, families) : r.family;
}

/** The UDP port the kernel gives a tunnel created without one: Linux's own VXLAN port, and Geneve's IANA port. */
const DEFAULT_PORT = { vxlan: 8472, geneve: 6081 } as const;

function tunnelOf(ld: LinkDoc, nd: NetnsDoc): Tunnel | undefined {
  if (ld.kind !== 'vxlan' && ld.kind !== 'geneve' && ld.kind !== 'ipip') return undefined;
  return {
    vni: ld.kind === 'ipip' ? 0 : (ld.vni ?? 0),
    port: ld.kind === 'ipip' ? 0 : (ld.port ?? DEFAULT_PORT[ld.kind]),
    local: ld.local === undefined ? undefined : Addr.parse(ld.local),
    underlay: ld.underlay === undefined ? -1 : nd.links.findIndex((l) => l.name === ld.underlay),
    ipcache: (ld.ipcache ?? []).map((e) => ({ prefix: Prefix.parse(e.prefix), tunnelEndpoint: Addr.parse(e.tunnelEndpoint) })),
  };
}

const DEFAULT_METRIC: Record<Family, number> = { 4: 0, 6: 1024 };
const LINK_LOCAL6 = Prefix.parse('fe80::/10');

/**
 * The route the kernel adds for an interface address, `<subnet> dev <link> proto kernel`: in IPv4 with scope link and
 * `src <addr>` (a table shared by several namespaces leaves src out), in IPv6 with metric 256 and neither. An IPv4 /32
 * gets none (fib_add_ifaddr: no subnet to reach); an IPv6 /128 does (addrconf adds the prefix route of any length).
 */
export function connectedRoute(a: IfAddr, dev: number, withSrc = true): Route | undefined {
  const direct = [{ gateway: undefined, dev, onlink: false, weight: 1 }];
  if (a.addr.family === 6) return new Route(a.prefix, 'unicast', 256, direct, 'global', 'kernel', undefined);
  if (a.bits === 32) return undefined;
  return new Route(a.prefix, 'unicast', 0, direct, 'link', 'kernel', withSrc ? a.addr : undefined);
}

/**
 * The connected routes of the links that are up; a second address in a subnet (a secondary) adds no second route, and a
 * noprefixroute address none.
 */
function connectedRoutes(ns: Netns): Route[] {
  const out: Route[] = [];
  for (const link of ns.links) {
    if (!link.up || link.master >= 0) continue;
    const seen = new Set<string>();
    for (const a of link.addrs) {
      const route = a.noprefixroute ? undefined : connectedRoute(a, link.index);
      if (route === undefined || seen.has(route.prefix.toString())) continue;
      seen.add(route.prefix.toString());
      out.push(route);
    }
  }
  return out;
}

/**
 * The routes the kernel holds for a document's netns. Routes without a gateway are taken first, since a gateway is only
 * accepted when one of them (or a connected route) reaches it: a dump lists routes in table order, not in the order they
 * were added. (A connected route that a listed route replaces still counts: the kernel checked the gateways of routes
 * added before the replacement, and of the replacing route itself, against it.) Then the routes are added in document
 * order, each as `ip route append` would (see add()).
 */
function kernelRoutes(ns: Netns, docs: readonly RouteDoc[]): Route[] {
  const connected = connectedRoutes(ns);
  const families = new Set(ns.links.flatMap((l) => l.addrs.map((a) => a.addr.family)));
  const hasGateway = (r: RouteDoc) => r.gateway !== undefined || (r.nexthops ?? []).some((n) => n.gateway !== undefined);
  const result = new Map<RouteDoc, { route: Route | undefined; notes: string[] }>();
  for (const r of docs) if (!hasGateway(r)) result.set(r, userRoute(ns, r, connected, families));
  const direct = [...connected, ...[...result.values()].flatMap((x) => (x.route && x.route.type === 'unicast' ? [x.route] : []))];
  for (const r of docs) if (hasGateway(r)) result.set(r, userRoute(ns, r, direct, families));
  const routes = [...connected];
  const derived = new Set(connected);
  for (const r of docs) {
    const { route, notes } = result.get(r)!;
    ns.ignored.push(...notes);
    if (route !== undefined) add(ns, routes, derived, route, r);
  }
  return routes;
}

/**
 * Adds a listed route to the routes the kernel holds. A route of the same destination and metric as a derived connected
 * route replaces it: a table that shows the one and not the other is what `ip route replace` leaves (a table with both
 * lists the connected route too, and that one then replaces the derived one with itself). Otherwise, as `ip route
 * append`: IPv4 keeps the second route behind the first, which wins; IPv6 makes two routes with gateways ECMP siblings
 * (rt6_qualify_for_ecmp), refuses a next hop it already holds (rt6_duplicate_nexthop: File exists), and keeps any other
 * second route behind the first.
 */
function add(ns: Netns, routes: Route[], derived: Set<Route>, route: Route, doc: RouteDoc): void {
  const same = (x: Route) => x.metric === route.metric && x.prefix.equals(route.prefix);
  const i = routes.findIndex((x) => same(x) && derived.has(x));
  if (i >= 0) {
    derived.delete(routes[i]!);
    routes[i] = route;
    return;
  }
  if (route.prefix.family === 4) {
    routes.push(route);
    return;
  }
  const held = routes.filter(same);
  if (held.some((x) => x.nexthops.some((a) => route.nexthops.some((b) => sameNexthop(a, b))) || (isReject(x) && isReject(route)))) {
    ns.ignored.push(`${describe(doc)}: the kernel already holds this next hop for ${route.prefix} metric ${route.metric} (File exists)`);
    return;
  }
  const sibling = qualifiesForEcmp(route) ? held.find(qualifiesForEcmp) : undefined;
  if (sibling === undefined) {
    routes.push(route);
    return;
  }
  const { prefix, type, metric, scope, protocol, prefsrc } = sibling;
  routes[routes.indexOf(sibling)] = new Route(prefix, type, metric, [...sibling.nexthops, ...route.nexthops], scope, protocol, prefsrc);
}

/** IPv6 spreads flows only over routes through gateways (rt6_qualify_for_ecmp). */
function qualifiesForEcmp(r: Route): boolean {
  return r.type === 'unicast' && r.nexthops.every((n) => n.gateway !== undefined);
}

/** A reject route's next hop is lo, so two of them (blackhole, unreachable, prohibit) are the same next hop to IPv6. */
function isReject(r: Route): boolean {
  return r.type !== 'unicast';
}

function sameNexthop(a: NextHop, b: NextHop): boolean {
  return a.dev === b.dev && (a.gateway === undefined ? b.gateway === undefined : b.gateway !== undefined && a.gateway.equals(b.gateway));
}

function userRoute(
  ns: Netns,
  r: RouteDoc,
  direct: readonly Route[],
  families: ReadonlySet<Family>,
): { route: Route | undefined; notes: string[] } {
  const notes: string[] = [];
  const refuse = (why: string) => ({ route: undefined, notes: [...notes, `${describe(r)}: ${why}`] });
  if (r.table === 'local') return refuse('the local table is derived from the interface addresses');
  const family = dstFamily(r, families);
  // Validation asks for a family where nothing tells one; a document compiled unvalidated loses the route, not a guess.
  if (r.dst === 'default' && family === undefined) return refuse('"default" does not say its family: give family 4 or 6');
  const prefix = Prefix.parseRouteDst(r.dst, family);
  const type: RouteType = r.type ?? 'unicast';
  const metric = r.metric ?? DEFAULT_METRIC[prefix.family];
  const prefsrc = r.prefsrc === undefined ? undefined : Addr.parse(r.prefsrc);
  if (type !== 'unicast') {
    return { route: new Route(prefix, type, metric, [], 'global', r.protocol, prefsrc), notes };
  }
  const specs = r.nexthops ?? [{ gateway: r.gateway, dev: r.dev, flags: r.flags, weight: 1 }];
  const nexthops: NextHop[] = [];
  for (const spec of specs) {
    const gateway = spec.gateway === undefined ? undefined : Addr.parse(spec.gateway);
    const onlink = spec.flags?.includes('onlink') ?? false;
    const dev = spec.dev === undefined ? deviceFor(ns, direct, gateway!) : ns.links.find((l) => l.name === spec.dev);
    if (dev === undefined) {
      return refuse(`no direct route reaches the gateway ${spec.gateway}, so the kernel refuses the route (Network is unreachable)`);
    }
    if (!dev.up) {
      // The kernel marks the next hops through a link that goes down dead, and removes a route once all of them are.
      if (specs.length === 1) return refuse(`${dev.name} is down, and the kernel removes the routes through a link that is down`);
      notes.push(`${describe(r)}: the next hop ${gateway ? `via ${gateway} ` : ''}dev ${dev.name} is dead: ${dev.name} is down`);
      continue;
    }
    if (gateway !== undefined && !onlink && !reaches(direct, dev, gateway)) {
      return refuse(
        `the gateway ${gateway} is not on a connected route of ${dev.name}, so the kernel refuses the route ` +
          '(Nexthop has invalid gateway) unless it is onlink',
      );
    }
    if (gateway !== undefined && ns.links.some((l) => l.addrs.some((a) => a.addr.equals(gateway)))) {
      // A gateway that is one of the netns's own addresses: IPv6 refuses it; IPv4 accepts the route, but the next hop
      // then has host scope and the kernel uses the gateway only for scope link (rt_set_nexthop), so packets go straight
      // to their destination on dev, as `ip route get` shows.
      if (gateway.family === 6) return refuse(`the gateway ${gateway} is a local address, which IPv6 refuses`);
      // onlink asks the kernel to take the gateway as a neighbour on dev, and a local address is none (fib_check_nh_v4_gw).
      if (onlink) return refuse(`the gateway ${gateway} is a local address, and onlink makes the kernel refuse it (Nexthop has invalid gateway)`);
      notes.push(`${describe(r)}: ${gateway} is an address of this netns, so the kernel sends to the destination directly`);
      nexthops.push({ gateway: undefined, dev: dev.index, onlink, weight: spec.weight ?? 1 });
      continue;
    }
    nexthops.push({ gateway, dev: dev.index, onlink, weight: spec.weight ?? 1 });
  }
  if (nexthops.length === 0) return refuse('every next hop is dead, so the kernel removes the route');
  const scope: Scope = r.scope ?? (nexthops.every((n) => n.gateway === undefined) ? 'link' : 'global');
  return { route: new Route(prefix, 'unicast', metric, nexthops, scope, r.protocol, prefsrc), notes };
}

/**
 * Whether the kernel takes `gateway` as reachable through `dev` without onlink. IPv4 (fib_check_nh_v4_gw) looks the
 * gateway up among the routes of scope link or host: connected routes and `ip route add X dev D`, through dev. IPv6
 * (ip6_route_check_nh) wants a route through dev without a gateway, and takes a link-local gateway as it is.
 */
function reaches(direct: readonly Route[], dev: Link, gateway: Addr): boolean {
  if (gateway.family === 6 && LINK_LOCAL6.contains(gateway)) return true;
  return direct.some((r) => r.nexthops.some((n) => n.dev === dev.index) && isDirect(r, gateway));
}

function isDirect(r: Route, gateway: Addr): boolean {
  return (gateway.family === 6 || r.scope !== 'global') && r.prefix.contains(gateway);
}

/** `ip route add X via G` without a device: the kernel takes the device of the longest direct route that holds G. */
function deviceFor(ns: Netns, direct: readonly Route[], gateway: Addr): Link | undefined {
  let best: Route | undefined;
  for (const r of direct) if (isDirect(r, gateway) && (best === undefined || r.prefix.bits > best.prefix.bits)) best = r;
  return best === undefined ? undefined : ns.links[best.nexthops[0]!.dev];
}

function describe(r: RouteDoc): string {
  return [r.type && r.type !== 'unicast' ? r.type : '', r.dst, r.gateway ? `via ${r.gateway}` : '', r.dev ? `dev ${r.dev}` : '']
    .filter(Boolean)
    .join(' ');
}
