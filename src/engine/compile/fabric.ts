// A fabric document (the kernel's view, in `ip -j` field names) compiled into the traced model. Routes get Linux's
// treatment: connected routes are derived from addresses (proto kernel scope link), routes through a link that is down are
// gone (the kernel flushes them), and a gateway that is not on a connected route of its device makes the kernel refuse the
// route unless it is onlink. What the kernel would refuse or drop is kept as a note, not silently lost.
import { Addr, type Family } from '../addr.js';
import { IfAddr } from '../ifaddr.js';
import { Prefix } from '../prefix.js';
import { Fib, RouteTable } from '../fib.js';
import { Route, type NextHop, type RouteType, type Scope } from '../route.js';
import { FabricBuilder, type Fabric, type Link, type Netns } from '../fabric.js';
import type { FabricDoc, NetnsDoc, RouteDoc } from '../../topology/schema.js';

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
    const byName = new Map<string, Link>();
    for (const ld of nd.links) {
      const addrs = (ld.addresses ?? []).map((a) => IfAddr.parse(a));
      byName.set(ld.name, b.addLink(ns, ld.name, ld.kind, ld.up ?? true, addrs, ld.proxyArp ?? false));
    }
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
    const routes = [...connectedRoutes(ns), ...(nd.routes ?? []).flatMap((r) => userRoute(ns, r))];
    ns.fib4 = new Fib(new RouteTable(4, routes.filter((r) => r.prefix.family === 4)));
    ns.fib6 = new Fib(new RouteTable(6, routes.filter((r) => r.prefix.family === 6)));
  }
  return b.build();
}

const DEFAULT_METRIC: Record<Family, number> = { 4: 0, 6: 1024 };

/** The routes the kernel adds for the addresses of links that are up: `<subnet> dev <link> proto kernel scope link src <addr>`. */
export function connectedRoutes(ns: Netns): Route[] {
  const out: Route[] = [];
  for (const link of ns.links) {
    if (!link.up || link.master >= 0) continue;
    for (const a of link.addrs) {
      // A host address (/32, /128) has no subnet to reach: the kernel adds no prefix route for it.
      if (a.bits === a.addr.bits) continue;
      const metric = a.addr.family === 6 ? 256 : 0;
      out.push(new Route(a.prefix, 'unicast', metric, [{ gateway: undefined, dev: link.index, onlink: false, weight: 1 }], 'link', 'kernel', a.addr));
    }
  }
  return out;
}

function userRoute(ns: Netns, r: RouteDoc): Route[] {
  if (r.table === 'local') {
    ns.ignored.push(`${describe(r)}: the local table is derived from the interface addresses`);
    return [];
  }
  const gateways = [r.gateway, ...(r.nexthops ?? []).map((n) => n.gateway)].filter((g) => g !== undefined);
  const family = gateways.length > 0 ? Addr.parse(gateways[0]!).family : undefined;
  const prefix = Prefix.parseRouteDst(r.dst, r.dst === 'default' ? family : undefined);
  const type: RouteType = r.type ?? 'unicast';
  const metric = r.metric ?? DEFAULT_METRIC[prefix.family];
  const prefsrc = r.prefsrc === undefined ? undefined : Addr.parse(r.prefsrc);
  if (type !== 'unicast') {
    return [new Route(prefix, type, metric, [], 'global', r.protocol, prefsrc)];
  }
  const specs = r.nexthops ?? [{ gateway: r.gateway, dev: r.dev, flags: r.flags, weight: 1 }];
  const nexthops: NextHop[] = [];
  for (const spec of specs) {
    const gateway = spec.gateway === undefined ? undefined : Addr.parse(spec.gateway);
    const onlink = spec.flags?.includes('onlink') ?? false;
    const dev = spec.dev === undefined ? deviceFor(ns, gateway!) : ns.links.find((l) => l.name === spec.dev);
    if (dev === undefined) {
      ns.ignored.push(`${describe(r)}: no connected route reaches the gateway ${spec.gateway}, so the kernel refuses it (Network is unreachable)`);
      return [];
    }
    if (!dev.up) {
      ns.ignored.push(`${describe(r)}: ${dev.name} is down, and the kernel removes the routes through a link that is down`);
      return [];
    }
    if (gateway !== undefined && !onlink && !onConnected(ns, dev, gateway)) {
      ns.ignored.push(
        `${describe(r)}: the gateway ${gateway} is not on a connected route of ${dev.name}, so the kernel refuses the route ` +
          '(Nexthop has invalid gateway) unless it is onlink',
      );
      return [];
    }
    nexthops.push({ gateway, dev: dev.index, onlink, weight: spec.weight ?? 1 });
  }
  const scope: Scope = r.scope ?? (nexthops.every((n) => n.gateway === undefined) ? 'link' : 'global');
  return [new Route(prefix, 'unicast', metric, nexthops, scope, r.protocol, prefsrc)];
}

function onConnected(ns: Netns, dev: Link, gateway: Addr): boolean {
  return dev.addrs.some((a) => a.bits < a.addr.bits && a.prefix.contains(gateway));
}

/** `ip route add X via G` without a device: the kernel takes the device of the connected route that holds G. */
function deviceFor(ns: Netns, gateway: Addr): Link | undefined {
  return ns.links.find((l) => l.up && l.master < 0 && onConnected(ns, l, gateway));
}

function describe(r: RouteDoc): string {
  return [r.type && r.type !== 'unicast' ? r.type : '', r.dst, r.gateway ? `via ${r.gateway}` : '', r.dev ? `dev ${r.dev}` : '']
    .filter(Boolean)
    .join(' ');
}
