// The source address Linux gives a packet that a netns sends without binding one: the matched route's preferred source
// (`src`), else an address of the route's device (IPv4: its primary address, the first on the gateway's subnet if one
// is, inet_select_addr; IPv6: the one sharing the longest prefix with the destination, RFC 6724's last rule, link-local
// only towards a link-local destination), else (IPv4) the first address on any link of the netns or (IPv6) the longest
// match among all of them. A node sending through flannel.1 or Calico's tunl0 therefore speaks from the tunnel device's
// address, not from its eth0's; and a tunnel's outer packet, which its netns sends, gets its source the same way.
import { Addr } from './addr.js';
import type { Fabric, Netns } from './fabric.js';
import { Prefix } from './prefix.js';
import type { Route } from './route.js';

const LINK_LOCAL6 = Prefix.parse('fe80::/10');

const LOOPBACK4 = Addr.parse('127.0.0.1');
const LOOPBACK6 = Addr.parse('::1');

/** The source address for a packet from `ns` to `dst`, or undefined when no route or no address gives one. */
export function sourceAddress(fabric: Fabric, ns: Netns, dst: Addr): Addr | undefined {
  // The local table is looked up before the main one: to loopback the kernel speaks from loopback (`local 127.0.0.0/8
  // dev lo src 127.0.0.1`, `local ::1 dev lo`), and to an address of the netns's own from that address (its local
  // route's src), whatever the main table routes it by.
  if (dst.family === 4 ? dst.w0 >>> 24 === 127 : dst.w0 === 0 && dst.w1 === 0 && dst.w2 === 0 && dst.w3 === 1) return dst.family === 4 ? LOOPBACK4 : LOOPBACK6;
  const { owners } = fabric;
  for (let o = owners.first(dst); o >= 0; o = owners.next(o)) if (owners.netns(o) === ns.id) return dst;
  const group = fabric.route(ns.id, dst.family, dst.w0, dst.w1, dst.w2, dst.w3);
  return group < 0 ? undefined : routeSource(ns, fabric.fibs.route(group), 0, dst);
}

/** The source address for a packet from `ns` to `dst` that `route` sends through its next hop `nexthop`, or undefined. */
export function routeSource(ns: Netns, route: Route, nexthop: number, dst: Addr): Addr | undefined {
  if (route.prefsrc !== undefined) return route.prefsrc;
  const linkLocal = dst.family === 6 && LINK_LOCAL6.contains(dst);
  const usable = (a: Addr) => a.family === dst.family && (dst.family === 4 || LINK_LOCAL6.contains(a) === linkLocal);
  const nh = route.nexthops[nexthop];
  const dev = nh === undefined ? undefined : ns.links[nh.dev];
  const own = (dev?.addrs ?? []).filter((a) => usable(a.addr));
  if (dst.family === 4) {
    const gateway = nh?.gateway;
    const onSubnet = gateway === undefined ? undefined : own.find((a) => a.prefix.contains(gateway));
    if (own.length > 0) return (onSubnet ?? own[0]!).addr;
    for (const link of ns.links) for (const a of link.addrs) if (usable(a.addr)) return a.addr;
    return undefined;
  }
  // IPv6 prefers the outgoing device's addresses (RFC 6724 rule 5), then any of the netns's, by longest match (rule 8).
  const all = own.length > 0 ? own.map((a) => a.addr) : ns.links.flatMap((l) => l.addrs.map((a) => a.addr)).filter(usable);
  return all.length > 0 ? longestMatch(all, dst) : undefined;
}

function longestMatch(addrs: readonly Addr[], dst: Addr): Addr {
  let best = addrs[0]!;
  let bestBits = -1;
  for (const a of addrs) {
    let bits = 0;
    while (bits < 128 && Prefix.of(a, bits + 1).contains(dst)) bits++;
    if (bits > bestBits) {
      best = a;
      bestBits = bits;
    }
  }
  return best;
}
