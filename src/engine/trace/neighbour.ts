// Neighbour resolution: who answers ARP/ND for a next hop on the L2 domain of the egress link, and the way a frame takes
// to it. The owner of the address on that domain; for IPv4 also a host answering with an address of another of its
// links (arp_ignore=0) or a link with proxy_arp; for IPv6 a link with a proxy NDP entry.
import type { Addr, Family } from '../addr.js';
import type { Fabric } from '../fabric.js';
import { UNICAST } from '../fib.js';
import { HOST, OWNER, PERMANENT, PROXY } from './record.js';

/** The answer of one resolution, owned by one walk and overwritten by its next resolution, so resolving allocates nothing. */
export class Resolution {
  /** The link that answers ARP/ND, or -1 for nobody. */
  link = -1;
  /** OWNER, HOST or PROXY (record.ts). */
  how = OWNER;
  /** The L2 path from the egress link to the answering link: path[0 .. pathLength), links and segments (see L2.path). */
  path = new Int32Array(0);
  pathLength = 0;
  /** A down link between the egress link and the neighbour (ARP gets no answer), or -1. */
  blockedAt = -1;

  /** Makes `path` long enough for any path of the fabric's L2. */
  fit(fabric: Fabric): void {
    if (this.path.length < fabric.l2.vertices) this.path = new Int32Array(fabric.l2.vertices);
  }
}

/**
 * Resolves the neighbour on the L2 domain of link `out` into `answer`. The neighbour is the gateway of next hop `nh`, or
 * with nh = -1 the destination; `owner` is its first owner entry. A gateway is of the destination's family (a route of
 * one family cannot name a gateway of the other). The addresses are read only when no owner answers.
 */
export function resolve(fabric: Fabric, answer: Resolution, out: number, family: Family, dst: Addr, nh: number, owner: number): void {
  const { l2, owners, fibs } = fabric;
  const neighbor = nh < 0 ? dst : fibs.gateway(nh)!;
  // A permanent entry is used as it is: no ARP or ND is sent.
  const permanent = fabric.permanentNeighbour(out, neighbor);
  if (permanent >= 0) return reach(fabric, answer, out, permanent, PERMANENT);
  const domain = l2.domain(out);
  // The owner of the address on this very domain.
  for (let o = owner; o >= 0; o = owners.next(o)) {
    const id = owners.link(o);
    if (id !== out && fabric.masterOf(id) < 0 && l2.domain(id) === domain) return reach(fabric, answer, out, id, OWNER);
  }
  if (family === 6) {
    // Neighbour discovery answers only for an address of the link the solicitation arrived on, or by proxy for an
    // address the link has a proxy entry for, in a netns that forwards (ndisc_recv_ns); proxy_arp does not apply.
    for (let p = l2.firstNdpProxy(domain); p >= 0; p = l2.ndpProxyAfter(p)) {
      const ns = fabric.netnsOf(p);
      if (p === out || ns < 0 || !fabric.isUp(p) || !fabric.forwards(ns)) continue;
      for (const a of fabric.links[p]!.proxyNdp) if (a.equals(neighbor)) return reach(fabric, answer, out, p, PROXY);
    }
  } else {
    // Linux answers ARP for any of its addresses on any of its links (arp_ignore=0), up or down, since the address's
    // local route stays: a netns that owns the address on another link but has a link on this domain answers with it.
    // On a veth pair (a pod's eth0 and its node's end, Cilium's and Calico's way) the other end is the only candidate:
    // a node of a hundred links need not be searched.
    const pair = l2.pair(out);
    for (let o = owner; o >= 0; o = owners.next(o)) {
      const ns = owners.netns(o);
      if (ns < 0) continue;
      if (pair >= 0) {
        if (fabric.netnsOf(pair) === ns) return reach(fabric, answer, out, pair, HOST);
        continue;
      }
      for (let i = 0, n = fabric.linkCount(ns); i < n; i++) {
        const link = fabric.linkAt(ns, i);
        if (link !== out && fabric.masterOf(link) < 0 && l2.domain(link) === domain) return reach(fabric, answer, out, link, HOST);
      }
    }
    // Proxy ARP: a link with proxy_arp answers for an address its netns would forward out of a different link. On a veth
    // pair only the other end can (Calico's cali* links answer for 169.254.1.1 this way): its record, read already,
    // says whether it has proxy_arp, and the domain's list of proxies is not read.
    if (pair >= 0) {
      if (fabric.proxyArp(pair) && answersByProxy(fabric, pair, neighbor.w0)) return reach(fabric, answer, out, pair, PROXY);
    } else {
      for (let p = l2.firstProxy(domain); p >= 0; p = l2.proxyAfter(p)) {
        if (p !== out && answersByProxy(fabric, p, neighbor.w0)) return reach(fabric, answer, out, p, PROXY);
      }
    }
  }
  answer.link = -1;
  answer.how = OWNER;
  answer.pathLength = 0;
  answer.blockedAt = -1;
}

/** Whether link `p`, which has proxy_arp, answers for the IPv4 address w0: it is up and its netns forwards w0 out of another link. */
function answersByProxy(fabric: Fabric, p: number, w0: number): boolean {
  const ns = fabric.netnsOf(p);
  if (ns < 0 || !fabric.isUp(p) || !fabric.forwards(ns)) return false;
  const { fibs } = fabric;
  const group = fabric.route(ns, 4, w0, 0, 0, 0);
  return group >= 0 && fibs.type(group) === UNICAST && fibs.dev(fibs.nexthop(group, 0)) !== fabric.indexOf(p);
}

/** The answer is link `to`: the way to it, and the first link on it that is down. */
function reach(fabric: Fabric, answer: Resolution, out: number, to: number, how: number): void {
  const path = answer.path;
  const pathLength = fabric.l2.path(out, to, path);
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
