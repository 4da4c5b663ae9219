// The network the nodes sit on. By default one L2 segment holding every node's eth0 (network.cidr, or the smallest prefix
// that holds every node address), with network.gateway as a host outside the model. With network.subnets the nodes sit on
// several segments, one per subnet, and a router netns joins them (eth<i> on subnet i, at the subnet's first address no
// node has): each node's default route goes to the router on its own subnet. Which nodes share a subnet is what decides
// whether a host-gw route can work (a gateway on another segment answers no ARP) and what crossSubnet/directRouting
// exist for, so the compilers build the tables a node shares per subnet.
import { Addr, type Family } from '../addr.js';
import { IfAddr } from '../ifaddr.js';
import { Prefix } from '../prefix.js';
import { Fib, RouteTable } from '../fib.js';
import type { Route } from '../route.js';
import type { FabricBuilder, Netns, Segment } from '../fabric.js';
import type { ClusterDoc } from '../../topology/schema.js';
import { EMPTY_FIB4, EMPTY_FIB6, connectedRoute } from './fabric.js';

type ClusterNode = ClusterDoc['nodes'][number];

export const FAMILIES: readonly Family[] = [4, 6];
export const ETH0 = 0; // every node's and pod's eth0 is its first link, so shared routes can name it by index

export function nodeAddr(node: ClusterNode, family: Family): Addr | undefined {
  const parsed = (type: string) =>
    node.addresses.filter((a) => a.type === type).map((a) => Addr.tryParse(a.address)).find((a) => a?.family === family);
  return parsed('InternalIP') ?? parsed('ExternalIP');
}

/** The connected routes of the addresses of `family` on link `dev`. */
export const connected = (addrs: readonly IfAddr[], family: Family, dev: number, withSrc = true): Route[] =>
  addrs.filter((a) => a.addr.family === family).flatMap((a) => connectedRoute(a, dev, withSrc) ?? []);

export interface UnderlaySubnet {
  readonly segment: Segment;
  /** The subnet's prefix per family (the single default segment may hold both). */
  readonly prefixes: ReadonlyMap<Family, Prefix>;
}

export interface Router {
  readonly ns: Netns;
  /** Its address per subnet and family. */
  readonly addrs: readonly ReadonlyMap<Family, Addr>[];
}

export class Underlay {
  constructor(
    readonly subnets: readonly UnderlaySubnet[],
    /** network.gateway, when given (only with a single segment), or the one assumed for a data path that needs one. */
    readonly gateway: Addr | undefined,
    /** The router between the subnets, or the cloud's VPC router. */
    readonly router: Router | undefined,
    /** The gateway is not network.gateway but assumed (assumedGateway()). */
    readonly gatewayAssumed = false,
  ) {}

  /** The subnet a node's eth0 is on (the first that holds one of its addresses). */
  subnetOf(node: ClusterNode): number {
    if (this.subnets.length === 1) return 0;
    for (const f of FAMILIES) {
      const a = nodeAddr(node, f);
      const i = a === undefined ? -1 : this.subnets.findIndex((s) => s.prefixes.get(f)?.contains(a));
      if (i >= 0) return i;
    }
    return 0;
  }

  /** The default gateway of a node: the router on its subnet, or network.gateway. */
  gatewayOf(node: ClusterNode, family: Family): Addr | undefined {
    const r = this.router?.addrs[this.subnetOf(node)]?.get(family);
    return r ?? (this.gateway?.family === family ? this.gateway : undefined);
  }

  /** Sets the router's tables: its connected routes, then `routes` (the pod CIDR routes of a cloud VPC). */
  routeAtRouter(routes: ReadonlyMap<Family, readonly Route[]>): void {
    const r = this.router;
    if (r === undefined) return;
    const table = (f: Family) =>
      new RouteTable(f, [...r.ns.links.flatMap((l) => connected(l.addrs, f, l.index)), ...(routes.get(f) ?? [])]);
    r.ns.fib4 = new Fib(table(4));
    r.ns.fib6 = new Fib(table(6));
  }
}

/** The shortest prefix an assumed node subnet gets: what a real node's subnet is at least, not a /30 around the nodes. */
const ASSUMED_BITS: Record<Family, number> = { 4: 24, 6: 64 };

/**
 * A gateway for nodes whose objects do not name theirs (real nodes have a default route, to a router the objects do not
 * show): the first address of their subnet that no node has, the subnet widened to a /24 (/64) when the nodes' own
 * addresses span less, as a real node's subnet does.
 */
export function assumedGateway(subnet: Prefix, taken: ReadonlySet<string>): { cidr: Prefix; gateway: Addr } | undefined {
  const cidr = subnet.bits > ASSUMED_BITS[subnet.family] ? Prefix.of(subnet.addr, ASSUMED_BITS[subnet.family]) : subnet;
  const last = cidr.family === 4 && cidr.bits < 31 ? 1 : 0; // IPv4's broadcast address is no host's
  // Among the first taken.size + 1 addresses one is free, if the subnet holds that many: a cluster of 5,000 nodes from
  // .1 up still gets its gateway.
  for (let a = cidr.addr.add(1), n = 0; cidr.contains(a.add(last)) && n <= taken.size; a = a.add(1), n++) {
    if (!taken.has(a.toString())) return { cidr, gateway: a };
  }
  return undefined;
}

/**
 * Adds the underlay's segments, and the router (named `routerName`) when the network has several subnets or the data
 * path asks for one; without a router, network.gateway is a host outside the model on the single segment. A data path
 * whose pods reach nothing without the nodes' default route (Calico's, whose gateway 169.254.1.1 the node answers for
 * only when it routes it) asks for `assumeGateway`: without network.gateway, one is assumed (assumedGateway()).
 */
export function underlayOf(b: FabricBuilder, cluster: ClusterDoc, routerName?: string, assumeGateway = false): Underlay {
  const network = cluster.network;
  let gateway = network?.gateway === undefined ? undefined : Addr.parse(network.gateway);
  let assumed = false;
  let subnets: UnderlaySubnet[];
  if (network?.subnets !== undefined && network.subnets.length > 0) {
    subnets = network.subnets.map((text, i) => {
      const prefix = Prefix.parse(text);
      return { segment: b.segment(`underlay-${i}`, prefix), prefixes: new Map([[prefix.family, prefix]]) };
    });
  } else {
    const prefixes = new Map<Family, Prefix>();
    for (const family of FAMILIES) {
      const addrs = cluster.nodes.map((n) => nodeAddr(n, family)).filter((a) => a !== undefined);
      if (addrs.length === 0) continue;
      const given = network?.cidr === undefined ? undefined : Prefix.parse(network.cidr);
      prefixes.set(family, given?.family === family ? given : Prefix.smallestContaining(addrs));
    }
    const first = prefixes.get(4) ?? prefixes.get(6);
    if (assumeGateway && gateway === undefined && routerName === undefined && first !== undefined) {
      const taken = new Set(cluster.nodes.flatMap((n) => FAMILIES.map((f) => nodeAddr(n, f)?.toString() ?? '')));
      const a = assumedGateway(first, taken);
      if (a !== undefined) {
        prefixes.set(first.family, a.cidr);
        gateway = a.gateway;
        assumed = true;
      }
    }
    subnets = [{ segment: b.segment('underlay', prefixes.get(4) ?? prefixes.get(6)), prefixes }];
  }
  const name = routerName ?? (subnets.length > 1 ? 'underlay-router' : undefined);
  const router = name === undefined ? undefined : addRouter(b, cluster, subnets, gateway, name);
  if (gateway !== undefined && router === undefined) {
    const bits = subnets[0]!.prefixes.get(gateway.family)?.bits ?? gateway.bits;
    b.plug(b.addLink(undefined, `external ${gateway}`, 'external', true, [IfAddr.of(gateway, bits)]), subnets[0]!.segment);
  }
  const u = new Underlay(subnets, gateway, router, assumed);
  u.routeAtRouter(new Map());
  return u;
}

/**
 * A router netns, forwarding, with eth<i> on subnet i at network.gateway (when the subnet holds it) or else the subnet's
 * first address no node has.
 */
function addRouter(b: FabricBuilder, cluster: ClusterDoc, subnets: UnderlaySubnet[], gateway: Addr | undefined, name: string): Router {
  const taken = new Set(cluster.nodes.flatMap((n) => FAMILIES.map((f) => nodeAddr(n, f)?.toString())));
  const ns = b.addNetns(name, 'router', undefined, true, EMPTY_FIB4, EMPTY_FIB6);
  const addrs = subnets.map((s, i) => {
    const byFamily = new Map<Family, Addr>();
    for (const [family, prefix] of s.prefixes) {
      let a = gateway?.family === family && prefix.contains(gateway) ? gateway : prefix.addr.add(1);
      while (a !== gateway && taken.has(a.toString()) && prefix.contains(a.add(1))) a = a.add(1);
      byFamily.set(family, a);
    }
    const ifaddrs = [...byFamily].map(([f, a]) => IfAddr.of(a, s.prefixes.get(f)!.bits));
    b.plug(b.addLink(ns, `eth${i}`, 'physical', true, ifaddrs), s.segment);
    return byFamily;
  });
  return { ns, addrs };
}

/**
 * A node netns with its eth0 on its subnet's segment (link 0, so shared routes can name it), forwarding on; proxyArp
 * turns proxy_arp on for eth0.
 */
export function addNode(b: FabricBuilder, node: ClusterNode, u: Underlay, proxyArp = false): { ns: Netns; eth0Addrs: IfAddr[] } {
  const ns = b.addNetns(node.name, 'node', undefined, true, EMPTY_FIB4, EMPTY_FIB6);
  const subnet = u.subnets[u.subnetOf(node)]!;
  const eth0Addrs = FAMILIES.flatMap((f) => {
    const a = nodeAddr(node, f);
    const prefix = subnet.prefixes.get(f);
    return a === undefined ? [] : [IfAddr.of(a, prefix?.bits ?? a.bits)];
  });
  b.plug(b.addLink(ns, 'eth0', 'physical', true, eth0Addrs, proxyArp), subnet.segment);
  return { ns, eth0Addrs };
}
