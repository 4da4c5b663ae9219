// A compiled fabric written back as a fabric document: what a cluster compiles to, in the kernel's own terms. Used to
// show users the routes their cluster implies, to apply faults to a compiled cluster, and to realise it in real network
// namespaces. Connected routes are left out (the kernel derives them from the addresses, and so does the compiler).
import { DEFAULT_MTU, type Fabric, type FdbEntry, type IpcacheEntry, type Link, type Neighbour, type Netns } from './fabric.js';
import type { Fib } from './fib.js';
import type { Route } from './route.js';
import type { FabricDoc, LinkDoc, NetnsDoc, RouteDoc } from '../topology/schema.js';

/** Every route of a FIB, the netns's own first, without the shared routes its own routes shadow. */
export function fibRoutes(fib: Fib): Route[] {
  const own = fib.own.groups.flat();
  const mine = new Set(fib.own.groups.map((g) => g[0]!.prefix.toString()));
  const shared = (fib.shared?.groups ?? []).filter((g) => !mine.has(g[0]!.prefix.toString())).flat();
  return [...own, ...shared];
}

export function routeDoc(route: Route, ns: Netns): RouteDoc {
  const doc = route.toJSON((dev) => ns.links[dev]!.name) as RouteDoc;
  // "default" does not say its family, and without a gateway nothing else in the route does.
  const placed = route.nexthops.some((n) => n.gateway !== undefined);
  return route.prefix.bits === 0 && !placed ? { ...doc, family: route.prefix.family } : doc;
}

/**
 * The netns's neighbour and FDB entries, without those for its own addresses and MACs: compilers share one list among
 * all nodes, and the entry of a node for itself is never looked up (nor programmed by the CNI).
 */
export function remoteNeighbours(ns: Netns): { neigh: Neighbour[]; fdb: FdbEntry[] } {
  const own = new Set(ns.links.flatMap((l) => l.addrs.map((a) => a.addr.toString())));
  const macs = new Set(ns.links.flatMap((l) => (l.mac === undefined ? [] : [l.mac])));
  return {
    neigh: ns.neigh.filter((n) => !own.has(n.dst.toString())),
    fdb: ns.fdb.filter((e) => !macs.has(e.mac) && !own.has(e.dst.toString())),
  };
}

function neighbours(ns: Netns): Pick<NetnsDoc, 'neigh' | 'fdb'> {
  const { neigh, fdb } = remoteNeighbours(ns);
  return {
    ...(neigh.length > 0 ? { neigh: neigh.map((n) => ({ dst: n.dst.toString(), lladdr: n.lladdr, dev: ns.links[n.dev]!.name })) } : {}),
    ...(fdb.length > 0 ? { fdb: fdb.map((e) => ({ mac: e.mac, dev: ns.links[e.dev]!.name, dst: e.dst.toString() })) } : {}),
  };
}

/**
 * A link as the document would write it, without its ipcache: a compiler hands one ipcache to every node, so whoever
 * compares links compares that list once (see ipcacheDoc).
 */
export function linkDoc(fabric: Fabric, ns: Netns, l: Link): LinkDoc {
  const { links, segments } = fabric;
  const doc: LinkDoc = { name: l.name, kind: l.kind === 'external' ? 'physical' : l.kind };
  if (l.addrs.length > 0) doc.addresses = l.addrs.map((a) => (a.noprefixroute ? { address: a.toString(), noprefixroute: true } : a.toString()));
  if (l.peer >= 0) {
    const peer = links[l.peer]!;
    doc.peer = { netns: fabric.netns[peer.netns]!.name, link: peer.name };
  }
  if (l.master >= 0) doc.master = links[l.master]!.name;
  if (l.segment >= 0) doc.segment = segments[l.segment]!.name;
  if (!l.up) doc.up = false;
  if (l.proxyArp) doc.proxyArp = true;
  if (l.proxyNdp.length > 0) doc.proxyNdp = l.proxyNdp.map((a) => a.toString());
  if (l.mtu !== DEFAULT_MTU) doc.mtu = l.mtu;
  if (l.mac !== undefined) doc.mac = l.mac;
  const t = l.tunnel;
  if (t !== undefined) {
    if (l.kind !== 'ipip') {
      doc.vni = t.vni;
      doc.port = t.port;
    }
    if (t.local !== undefined) doc.local = t.local.toString();
    if (t.underlay >= 0) doc.underlay = ns.links[t.underlay]!.name;
  }
  return doc;
}

export function ipcacheDoc(ipcache: readonly IpcacheEntry[]): NonNullable<LinkDoc['ipcache']> {
  return ipcache.map((e) => ({ prefix: e.prefix.toString(), tunnelEndpoint: e.tunnelEndpoint.toString() }));
}

export function materialise(fabric: Fabric): FabricDoc {
  const { links, segments } = fabric;
  const netns = fabric.netns.map((ns) => ({
    name: ns.name,
    kind: ns.kind,
    ...(ns.node !== undefined ? { node: ns.node } : {}),
    forwarding: ns.forwarding,
    links: ns.links.map((l) => {
      const doc = linkDoc(fabric, ns, l);
      if (l.tunnel !== undefined && l.tunnel.ipcache.length > 0) doc.ipcache = ipcacheDoc(l.tunnel.ipcache);
      return doc;
    }),
    routes: [...fibRoutes(ns.fib4), ...fibRoutes(ns.fib6)].filter((r) => r.protocol !== 'kernel').map((r) => routeDoc(r, ns)),
    ...neighbours(ns),
  }));
  const external = new Map<number, string[]>();
  for (const l of links) {
    if (l.netns >= 0 || l.segment < 0) continue;
    external.set(l.segment, [...(external.get(l.segment) ?? []), ...l.addrs.map((a) => a.addr.toString())]);
  }
  return {
    netns,
    segments: segments.map((s) => ({
      name: s.name,
      ...(s.cidr ? { cidr: s.cidr.toString() } : {}),
      ...(external.has(s.id) ? { external: external.get(s.id) } : {}),
    })),
  };
}
