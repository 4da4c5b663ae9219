// The seed's data path (kubenet, flannel host-gw, the reference `bridge` plugin with host routes): per node a bridge cbr0
// holding the first address of each pod CIDR, a veth pair per pod (pod eth0 with the pod IP and the CIDR's length, host
// end a port of cbr0), `default via <cbr0 address>` in every pod, node eth0 on one underlay segment, and on every node a
// route to every other node's pod CIDR via that node's address. Flannel's host-gw backend is the same with the bridge
// named cni0. With `routes: cloud` the nodes hold only `default via <router>`, and a router netns on the underlay (the
// cloud VPC's route table) holds every node's pod CIDR via that node.
//
// At 5,000 nodes that is 25 million route rows if each node held its own copy. Instead one shared table holds every pod
// CIDR via its node, and each node's own table (connected routes, default) shadows the entry for its own CIDR; pods of a
// node share one table too (their routes differ only in prefsrc, which a shared table leaves out).
import { Addr, type Family } from '../addr.js';
import { IfAddr } from '../ifaddr.js';
import { Prefix } from '../prefix.js';
import { Fib, RouteTable } from '../fib.js';
import { Route } from '../route.js';
import { FabricBuilder, type Fabric, type Link, type Netns, type Segment } from '../fabric.js';
import type { ClusterDoc, ClusterPodDoc } from '../../topology/schema.js';
import { EMPTY_FIB4, EMPTY_FIB6, connectedRoute } from './fabric.js';

export interface ClusterFabric {
  fabric: Fabric;
  /** hostNetwork pods, by namespace/name: they share their node's netns. */
  hostNetworkPods: Map<string, Netns>;
}

export const FAMILIES: readonly Family[] = [4, 6];
export const ETH0 = 0; // every node's and pod's eth0 is its first link, so shared routes can name it by index
const CBR0 = 1;

export const podKey = (p: ClusterPodDoc) => `${p.namespace ?? 'default'}/${p.name}`;

export const podAddrs = (p: ClusterPodDoc): Addr[] =>
  (p.podIPs ?? []).map((e) => Addr.parse(typeof e === 'string' ? e : e.ip));

export function nodeAddr(node: ClusterDoc['nodes'][number], family: Family): Addr | undefined {
  const parsed = (type: string) =>
    node.addresses.filter((a) => a.type === type).map((a) => Addr.tryParse(a.address)).find((a) => a?.family === family);
  return parsed('InternalIP') ?? parsed('ExternalIP');
}

export const via = (gateway: Addr, dev: number) => [{ gateway, dev, onlink: false, weight: 1 }];
export const connected = (addrs: readonly IfAddr[], family: Family, dev: number, withSrc = true): Route[] =>
  addrs.filter((a) => a.addr.family === family).flatMap((a) => connectedRoute(a, dev, withSrc) ?? []);
export const defaultRoute = (gateway: Addr, dev: number) =>
  new Route(Prefix.of(gateway, 0), 'unicast', gateway.family === 6 ? 1024 : 0, via(gateway, dev), 'global', undefined, undefined);
/** `<prefix> via <gateway> dev <dev>` (metric 1024 for IPv6, as `ip -6 route add` gives it). */
export const viaRoute = (prefix: Prefix, gateway: Addr, dev: number) =>
  new Route(prefix, 'unicast', prefix.family === 6 ? 1024 : 0, via(gateway, dev), 'global', undefined, undefined);
/** `<prefix> dev <dev> scope link`. */
export const linkRoute = (prefix: Prefix, dev: number) =>
  new Route(prefix, 'unicast', prefix.family === 6 ? 1024 : 0, [{ gateway: undefined, dev, onlink: false, weight: 1 }], 'link', undefined, undefined);

/** FNV-1a over the key, as hex: stable names derived from a pod's identity. */
function hash32(key: string, seed = 0x811c9dc5): number {
  let h = seed;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * A host-side veth name the way CNI plugins make them: a prefix and `digits` hex digits derived from the pod's identity
 * ("veth" + 8 for the bridge plugin, "cali" + 11 for Calico, "lxc" + 12 for Cilium: at most 15 characters, IFNAMSIZ).
 */
export function hostVethName(prefix: string, key: string, digits = 8): string {
  let hex = hash32(key).toString(16).padStart(8, '0');
  for (let round = 1; hex.length < digits; round++) hex += hash32(`${round}/${key}`).toString(16).padStart(8, '0');
  return `${prefix}${hex.slice(0, digits)}`;
}

export interface Underlay {
  segment: Segment;
  /** The node network per family. */
  prefixes: Map<Family, Prefix>;
  /** `network.gateway`, when given. */
  gateway: Addr | undefined;
}

/** The underlay: one segment holding every node's eth0, with the node network per family that the nodes have addresses in. */
export function underlayOf(b: FabricBuilder, cluster: ClusterDoc, externalGateway = true): Underlay {
  const network = cluster.network;
  const prefixes = new Map<Family, Prefix>();
  for (const family of FAMILIES) {
    const addrs = cluster.nodes.map((n) => nodeAddr(n, family)).filter((a) => a !== undefined);
    if (addrs.length === 0) continue;
    const given = network?.cidr === undefined ? undefined : Prefix.parse(network.cidr);
    prefixes.set(family, given?.family === family ? given : Prefix.smallestContaining(addrs));
  }
  const segment = b.segment('underlay', prefixes.get(4) ?? prefixes.get(6));
  const gateway = network?.gateway === undefined ? undefined : Addr.parse(network.gateway);
  if (gateway !== undefined && externalGateway) {
    const bits = prefixes.get(gateway.family)?.bits ?? gateway.bits;
    b.plug(b.addLink(undefined, `external ${gateway}`, 'external', true, [IfAddr.of(gateway, bits)]), segment);
  }
  return { segment, prefixes, gateway };
}

/** A node netns with its eth0 on the underlay (link 0, so shared routes can name it), forwarding on. */
export function addNode(b: FabricBuilder, node: ClusterDoc['nodes'][number], u: Underlay): { ns: Netns; eth0Addrs: IfAddr[] } {
  const ns = b.addNetns(node.name, 'node', undefined, true, EMPTY_FIB4, EMPTY_FIB6);
  const eth0Addrs = FAMILIES.flatMap((f) => {
    const a = nodeAddr(node, f);
    return a === undefined ? [] : [IfAddr.of(a, u.prefixes.get(f)!.bits)];
  });
  b.plug(b.addLink(ns, 'eth0', 'physical', true, eth0Addrs), u.segment);
  return { ns, eth0Addrs };
}

export interface BridgeOptions {
  /** cbr0 (kubenet, the bridge plugin) or cni0 (flannel). */
  bridgeName?: string;
  /** host-gw: every node routes every pod CIDR; cloud: an underlay router does. */
  routes?: 'host-gw' | 'cloud';
}

export function compileBridge(cluster: ClusterDoc, options: BridgeOptions = {}): ClusterFabric {
  const b = new FabricBuilder();
  const bridgeName = options.bridgeName ?? 'cbr0';
  const cloud = options.routes === 'cloud';

  // In cloud mode the router is the network's gateway: it takes network.gateway's address instead of an outside host.
  const u = underlayOf(b, cluster, !cloud);

  // Every node's pod CIDRs via that node's address on eth0: the nodes' shared table (host-gw) or the router's (cloud).
  const podCidrRoutes = new Map<Family, Route[]>(FAMILIES.map((f) => [f, []]));
  for (const node of cluster.nodes) {
    for (const text of node.podCIDRs) {
      const cidr = Prefix.parse(text);
      const next = nodeAddr(node, cidr.family);
      if (next !== undefined) podCidrRoutes.get(cidr.family)!.push(viaRoute(cidr, next, ETH0));
    }
  }
  const router = cloud ? addRouter(b, cluster, u, podCidrRoutes) : undefined;
  const sharedTables = new Map(
    FAMILIES.map((f) => [f, cloud ? undefined : new RouteTable(f, podCidrRoutes.get(f)!)]),
  );

  const nodes = new Map<string, { ns: Netns; bridge: Link; bridgeAddrs: IfAddr[]; podFib: Map<Family, Fib> }>();
  for (const node of cluster.nodes) {
    const { ns, eth0Addrs } = addNode(b, node, u);
    const bridgeAddrs = node.podCIDRs.map((text) => {
      const cidr = Prefix.parse(text);
      return IfAddr.of(cidr.addr.add(1), cidr.bits);
    });
    const bridge = b.addLink(ns, bridgeName, 'bridge', true, bridgeAddrs);

    const own = (family: Family): RouteTable => {
      const routes = [...connected(eth0Addrs, family, ETH0), ...connected(bridgeAddrs, family, CBR0)];
      const gateway = router?.get(family) ?? (u.gateway?.family === family ? u.gateway : undefined);
      if (gateway !== undefined) routes.push(defaultRoute(gateway, ETH0));
      return new RouteTable(family, routes);
    };
    ns.fib4 = new Fib(own(4), sharedTables.get(4));
    ns.fib6 = new Fib(own(6), sharedTables.get(6));

    // Every pod of this node: `<cidr> dev eth0 proto kernel scope link` and `default via <cbr0 address> dev eth0`.
    const podRoutes = (f: Family) => [
      ...connected(bridgeAddrs, f, ETH0, false),
      ...bridgeAddrs.filter((a) => a.addr.family === f).map((a) => defaultRoute(a.addr, ETH0)),
    ];
    const podFib = new Map<Family, Fib>(FAMILIES.map((f) => [f, new Fib(new RouteTable(f, podRoutes(f)))]));
    nodes.set(node.name, { ns, bridge, bridgeAddrs, podFib });
  }

  const hostNetworkPods = placePods(cluster, nodes, (pod, key, node) => {
    const addrs = podAddrs(pod).map((a) => {
      const cidr = node.bridgeAddrs.find((x) => x.addr.family === a.family);
      return IfAddr.of(a, cidr?.bits ?? a.bits);
    });
    const ns = b.addNetns(key, 'pod', pod.nodeName, false, node.podFib.get(4)!, node.podFib.get(6)!);
    const eth0 = b.addLink(ns, 'eth0', 'veth', true, addrs);
    const host = b.addLink(node.ns, hostVethName('veth', key), 'veth', true, []);
    b.pair(eth0, host);
    b.enslave(host, node.bridge);
  });
  return { fabric: b.build(), hostNetworkPods };
}

/**
 * Calls `place` for every pod with a netns of its own, with its node's compiled state; hostNetwork pods live in their
 * node's netns, and are returned by namespace/name.
 */
export function placePods<N extends { ns: Netns }>(
  cluster: ClusterDoc,
  nodes: ReadonlyMap<string, N>,
  place: (pod: ClusterPodDoc, key: string, node: N) => void,
): Map<string, Netns> {
  const hostNetworkPods = new Map<string, Netns>();
  for (const pod of cluster.pods ?? []) {
    const node = nodes.get(pod.nodeName)!;
    const key = podKey(pod);
    if (pod.hostNetwork) hostNetworkPods.set(key, node.ns);
    else place(pod, key, node);
  }
  return hostNetworkPods;
}

/** The name of the router netns that `routes: cloud` adds: the cloud VPC's route table. */
export const ROUTER_NAME = 'vpc-router';

/**
 * The underlay router of `routes: cloud`: eth0 on the node network, at network.gateway or else the network's first
 * address no node has, forwarding on, and every node's pod CIDR via that node (what a cloud VPC route table holds).
 * Returns its address per family: the nodes' default gateway.
 */
function addRouter(b: FabricBuilder, cluster: ClusterDoc, u: Underlay, routes: Map<Family, Route[]>): Map<Family, Addr> {
  const taken = new Set(cluster.nodes.flatMap((n) => FAMILIES.map((f) => nodeAddr(n, f)?.toString())));
  const addrs = new Map<Family, Addr>();
  for (const [family, prefix] of u.prefixes) {
    if (u.gateway?.family === family) {
      addrs.set(family, u.gateway);
      continue;
    }
    let a = prefix.addr.add(1);
    while (taken.has(a.toString()) && prefix.contains(a.add(1))) a = a.add(1);
    addrs.set(family, a);
  }
  const ns = b.addNetns(ROUTER_NAME, 'router', undefined, true, EMPTY_FIB4, EMPTY_FIB6);
  const eth0Addrs = [...addrs].map(([f, a]) => IfAddr.of(a, u.prefixes.get(f)!.bits));
  b.plug(b.addLink(ns, 'eth0', 'physical', true, eth0Addrs), u.segment);
  const table = (f: Family) => new RouteTable(f, [...connected(eth0Addrs, f, ETH0), ...routes.get(f)!]);
  ns.fib4 = new Fib(table(4));
  ns.fib6 = new Fib(table(6));
  return addrs;
}
