// The main table's routes (also from route6), without what the fabric derives (proto kernel connected routes) and what it
// does not model (the local table, broadcast/multicast/anycast routes, other tables, which are counted in warnings). A
// connected route is told derived or not from the link's kind, master and addresses, which are read before.
import { Addr } from '../../engine/addr.js';
import { Prefix } from '../../engine/prefix.js';
import type { IfAddr } from '../../engine/ifaddr.js';
import type { DumpRouteDoc, NextHopDoc, RouteDoc } from '../../topology/schema.js';
import { LINK_LOCAL6, type Conversion, type LinkRec, type NsRec } from './conversion.js';

const MULTICAST6 = Prefix.parse('ff00::/8');
const SKIPPED_TYPES = new Set(['local', 'broadcast', 'multicast', 'anycast']);
const ROUTE_TYPES = new Set(['unicast', 'blackhole', 'unreachable', 'prohibit']);
const SCOPES = new Set(['global', 'link', 'host']);

export function readRoutes(c: Conversion, ns: NsRec) {
  const seen = new Set<string>();
  const routes: RouteDoc[] = [];
  const present = new Set<string>();
  const read = (list: readonly DumpRouteDoc[], key: 'route' | 'route6') =>
    list.forEach((r, j) => {
      const id = JSON.stringify(r);
      if (seen.has(id)) return; // `table all` prints IPv6 routes too: the same entry in route6 is no second route
      seen.add(id);
      const rp = `${ns.pointer}/${key}/${j}`;
      const table = r.table === undefined ? 'main' : String(r.table);
      if (table === 'local' || table === '255') return;
      if (table !== 'main' && table !== '254') {
        c.warn('route-table-skipped', rp, `${ns.dump.name}: ${r.dst} in table ${table}`);
        return;
      }
      const route = readRoute(c, ns, r, rp, key === 'route6', present);
      if (route === undefined) return;
      c.origins.set(`/netns/${ns.index}/routes/${routes.length}`, rp);
      routes.push(route);
    });
  read(ns.dump.route, 'route');
  read(ns.dump.route6 ?? [], 'route6');
  if (routes.length > 0) ns.doc.routes = routes;

  // The other way round: a connected route the kernel does not hold (deleted, noprefixroute) and no listed route
  // replaces (same dst and metric) makes its addresses noprefixroute, so that the fabric derives none either.
  const dumpedV6 = ns.dump.route6 !== undefined || ns.dump.route.some((r) => isV6(r, false));
  for (const link of ns.links) {
    for (const a of derivable(link)) {
      // Link-local prefix routes are held but not read (see readRoute).
      if (a.addr.family === 6 && (!dumpedV6 || LINK_LOCAL6.contains(a.addr))) continue;
      if (present.has(`${a.prefix}|${link.name}`)) continue;
      const metric = a.addr.family === 6 ? 256 : 0;
      const defaultMetric = a.addr.family === 6 ? 1024 : 0;
      if (routes.some((r) => r.dst === a.prefix.toRouteDst() && (r.metric ?? defaultMetric) === metric)) continue;
      const at = link.doc.addresses!.indexOf(a.toString());
      link.doc.addresses![at] = { address: a.toString(), noprefixroute: true };
    }
  }
}

function readRoute(c: Conversion, ns: NsRec, r: DumpRouteDoc, rp: string, fromRoute6: boolean, present: Set<string>): RouteDoc | undefined {
  const type = r.type ?? 'unicast';
  if (SKIPPED_TYPES.has(type)) return undefined;
  if (!ROUTE_TYPES.has(type)) {
    c.warn('route-type-skipped', rp, `${ns.dump.name}: ${type} ${r.dst}`);
    return undefined;
  }
  if ('via' in r) {
    c.warn('route-via-skipped', rp, `${ns.dump.name}: ${r.dst} via ${JSON.stringify((r as { via: unknown }).via)}`);
    return undefined;
  }
  const v6 = isV6(r, fromRoute6);
  const dstText = r.dst === 'default' && v6 ? '::/0' : r.dst;
  let dst: Prefix;
  try {
    dst = Prefix.parseRouteDst(dstText, r.dst === 'default' ? (v6 ? 6 : 4) : undefined);
  } catch (err) {
    c.error(`${rp}/dst`, (err as Error).message);
    return undefined;
  }
  if (dst.family === 6 && (LINK_LOCAL6.contains(dst.addr) || MULTICAST6.contains(dst.addr))) return undefined;

  const doc: RouteDoc = { dst: dstText };
  if (type !== 'unicast') {
    doc.type = type as RouteDoc['type'];
    if (r.metric !== undefined) doc.metric = r.metric;
    if (r.protocol !== undefined) doc.protocol = String(r.protocol).slice(0, 32);
    return doc;
  }
  const gateway = (text: string | undefined, pointer: string): string | undefined => {
    if (text === undefined) return undefined;
    const a = Addr.tryParse(text);
    if (a === undefined) c.error(pointer, `${JSON.stringify(text)} is not an IPv4 or IPv6 address`);
    return a?.toString();
  };
  const dev = (name: string | undefined, pointer: string): string | undefined | null => {
    if (name === undefined) return undefined;
    if (name === 'lo') return null;
    if (!ns.byName.has(name)) {
      c.error(pointer, `netns ${ns.dump.name} has no link named ${name}`);
      return null;
    }
    return name;
  };

  if (r.nexthops !== undefined) {
    const hops: NextHopDoc[] = [];
    for (const [k, h] of r.nexthops.entries()) {
      const hp = `${rp}/nexthops/${k}`;
      const d = dev(h.dev, `${hp}/dev`);
      if (d === null) {
        if (h.dev === 'lo') c.warn('route-lo-skipped', rp, `${ns.dump.name}: ${r.dst} nexthop dev lo`);
        return undefined;
      }
      if (d === undefined) {
        c.error(`${hp}/dev`, 'a next hop names its device');
        return undefined;
      }
      const gw = gateway(h.gateway, `${hp}/gateway`);
      const hop: NextHopDoc = gw !== undefined ? { gateway: gw, dev: d } : { dev: d };
      if (h.weight !== undefined && h.weight >= 1 && h.weight <= 256) hop.weight = h.weight;
      if (h.flags?.includes('onlink')) hop.flags = ['onlink'];
      hops.push(hop);
    }
    if (hops.length === 0) return undefined;
    doc.nexthops = hops;
  } else {
    const gw = gateway(r.gateway, `${rp}/gateway`);
    if (gw !== undefined) doc.gateway = gw;
    const d = dev(r.dev, `${rp}/dev`);
    if (d === null) {
      if (r.dev === 'lo') c.warn('route-lo-skipped', rp, `${ns.dump.name}: ${r.dst} dev lo`);
      return undefined;
    }
    if (d !== undefined) doc.dev = d;
    if (r.flags?.includes('onlink')) doc.flags = ['onlink'];
  }
  if (r.metric !== undefined) doc.metric = r.metric;
  if (r.scope !== undefined && SCOPES.has(String(r.scope))) doc.scope = String(r.scope) as RouteDoc['scope'];
  if (r.protocol !== undefined) doc.protocol = String(r.protocol).slice(0, 32);
  if (r.prefsrc !== undefined) {
    const a = Addr.tryParse(r.prefsrc);
    if (a === undefined) c.error(`${rp}/prefsrc`, `${JSON.stringify(r.prefsrc)} is not an IPv4 or IPv6 address`);
    else doc.prefsrc = a.toString();
  }

  // A connected route the compiler derives from an address is left to it; one it would not derive is kept.
  if (doc.protocol === 'kernel' && doc.dev !== undefined && doc.gateway === undefined) {
    const link = ns.byName.get(doc.dev)!;
    const key = `${dst}|${link.name}`;
    if (derivable(link).some((a) => a.prefix.toString() === dst.toString())) {
      present.add(key);
      return undefined;
    }
    c.warn(
      'connected-route-kept',
      rp,
      `${ns.dump.name}: ${r.dst} dev ${link.name} proto kernel ${link.up ? '' : `(${link.name} is down) `}is kept as a route`,
    );
  }
  return doc;
}

/** The addresses of a link the compiler derives a connected route from: those of an up link that is no bridge port. */
function derivable(link: LinkRec): IfAddr[] {
  if (!link.up || link.doc.master !== undefined) return [];
  return link.addrs.filter((a) => a.addr.family === 6 || a.bits < 32);
}

/** The family of a route entry: route6 says so, and so do IPv6 addresses and `pref`, which only IPv6 routes print. */
function isV6(r: DumpRouteDoc, fromRoute6: boolean): boolean {
  if (fromRoute6 || 'pref' in r) return true;
  const texts = [r.dst, r.gateway, r.prefsrc, ...(r.nexthops ?? []).map((h) => h.gateway)];
  return texts.some((t) => t !== undefined && t.includes(':'));
}
