// The seed's data path (kubenet, flannel host-gw, the reference `bridge` plugin with host routes): per node a bridge cbr0
// holding the first address of each pod CIDR, a veth pair per pod (pod eth0 with the pod IP and the CIDR's length, host
// end a port of cbr0), `default via <cbr0 address>` in every pod, node eth0 on the underlay (underlay.ts), and on every
// node a route to every other node's pod CIDR via that node's address (onlink, and unanswered, for a node on another
// subnet). Flannel's host-gw backend is the same with the bridge
// named cni0. With `routes: cloud` the nodes hold only `default via <router>`, and a router netns on the underlay (the
// cloud VPC's route table) holds every node's pod CIDR via that node, and sends the rest to an internet gateway outside
// the model (kubenet on AKS and EKS, routes-based GKE).
//
// At 5,000 nodes that is 25 million route rows if each node held its own copy. Instead one table per underlay subnet,
// shared by its nodes, holds every pod CIDR via its node, and each node's own table (connected routes, default) shadows the entry for its own CIDR; pods of a
// node share one table too (their routes differ only in prefsrc, which a shared table leaves out).
import { Addr, type Family } from '../addr.js';
import { IfAddr } from '../ifaddr.js';
import { Prefix } from '../prefix.js';
import { Fib, RouteTable } from '../fib.js';
import { Route } from '../route.js';
import { FabricBuilder, type Fabric, type Link, type Netns } from '../fabric.js';
import type { ClusterDoc, ClusterPodDoc } from '../../topology/schema.js';
import { ETH0, FAMILIES, addNode, connected, nodeAddr, underlayOf, type Underlay } from './underlay.js';

export interface ClusterFabric {
  fabric: Fabric;
  /** hostNetwork pods, by namespace/name: they share their node's netns. */
  hostNetworkPods: Map<string, Netns>;
}

const CBR0 = 1;

/** The name of the router netns that `routes: cloud` adds: the cloud VPC's route table. */
export const ROUTER_NAME = 'vpc-router';

/** The VPC router's link to the internet gateway, and the gateway, a host outside the model. */
const IGW_LINK = 'igw';
const IGW_ROUTER = IfAddr.parse('169.254.255.1/30');
const IGW = Addr.parse('169.254.255.2');

/**
 * The cloud VPC's way out: a link of the VPC router to the internet gateway, a host outside the model, and the IPv4
 * default route via it added to `routes` (the router's table), so that a packet for the internet leaves the network there.
 */
export function addInternetGateway(b: FabricBuilder, u: Underlay, routes: Map<Family, Route[]>): void {
  const router = u.router!;
  const igw = b.segment('internet', IGW_ROUTER.prefix);
  b.plug(b.addLink(router.ns, IGW_LINK, 'physical', true, [IGW_ROUTER]), igw);
  b.plug(b.addLink(undefined, 'external internet-gateway', 'external', true, [IfAddr.of(IGW, IGW_ROUTER.bits)]), igw);
  routes.get(4)!.push(defaultRoute(IGW, router.ns.links.findIndex((l) => l.name === IGW_LINK)));
}

export const podKey = (p: ClusterPodDoc) => `${p.namespace ?? 'default'}/${p.name}`;

export const podAddrs = (p: ClusterPodDoc): Addr[] =>
  (p.podIPs ?? []).map((e) => Addr.parse(typeof e === 'string' ? e : e.ip));

export const via = (gateway: Addr, dev: number) => [{ gateway, dev, onlink: false, weight: 1 }];
export const defaultRoute = (gateway: Addr, dev: number) =>
  new Route(Prefix.of(gateway, 0), 'unicast', gateway.family === 6 ? 1024 : 0, via(gateway, dev), 'global', undefined, undefined);
/**
 * `<prefix> via <gateway> dev <dev> [onlink]` (metric 1024 for IPv6, as `ip -6 route add` gives it): onlink for a
 * gateway on another subnet, which the kernel takes only so.
 */
export const viaRoute = (prefix: Prefix, gateway: Addr, dev: number, onlink = false) =>
  new Route(prefix, 'unicast', prefix.family === 6 ? 1024 : 0, [{ gateway, dev, onlink, weight: 1 }], 'global', undefined, undefined);
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

/** A stable, locally administered unicast MAC for a device derived from `key` (tunnel devices get random ones). */
export function deviceMac(key: string): string {
  const h = hash32(key);
  const bytes = [0x02, hash32(`mac/${key}`) & 0xff, h >>> 24, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff];
  return bytes.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export interface BridgeOptions {
  /** cbr0 (kubenet, the bridge plugin) or cni0 (flannel). */
  bridgeName?: string;
  /** host-gw: every node routes every pod CIDR; cloud: an underlay router does. */
  routes?: 'host-gw' | 'cloud';
  overlay?: Overlay;
}

/** A tunnel between the nodes' bridges (flannel's vxlan backend). */
export interface Overlay {
  /** The MTU of the bridge, the pods' eth0 and their host ends: what the tunnel leaves of the underlay's. */
  readonly mtu: number;
  /** Adds the tunnel's links to a node, right after its bridge: they get the same index on every node. */
  addLinks(b: FabricBuilder, ns: Netns, node: ClusterDoc['nodes'][number]): void;
  /** The route on the nodes of subnet `local` to another node's pod CIDR, or undefined for host-gw's. */
  route(cidr: Prefix, node: ClusterDoc['nodes'][number], local: number, u: Underlay): Route | undefined;
}

export function compileBridge(cluster: ClusterDoc, options: BridgeOptions = {}): ClusterFabric {
  const b = new FabricBuilder();
  const bridgeName = options.bridgeName ?? 'cbr0';
  const cloud = options.routes === 'cloud';

  // In cloud mode the router is the network's gateway: it takes network.gateway's address instead of an outside host.
  const u = underlayOf(b, cluster, cloud ? ROUTER_NAME : undefined);

  // Every node's pod CIDRs via that node's address on eth0: the cloud router's table, or the table the nodes of each
  // subnet share (a node on another subnet is no neighbour: its host-gw route is onlink, and ARP for it goes unanswered).
  const podCidrRoutes = (local: number) => {
    const routes = new Map<Family, Route[]>(FAMILIES.map((f) => [f, []]));
    for (const node of cluster.nodes) {
      for (const text of node.podCIDRs) {
        const cidr = Prefix.parse(text);
        const next = nodeAddr(node, cidr.family);
        const elsewhere = u.subnetOf(node) !== local;
        const route =
          options.overlay?.route(cidr, node, local, u) ?? (next === undefined ? undefined : viaRoute(cidr, next, ETH0, elsewhere));
        if (route !== undefined) routes.get(cidr.family)!.push(route);
      }
    }
    return routes;
  };
  if (cloud) {
    // The VPC's table reaches every node through the router's link on that node's subnet.
    const routes = new Map<Family, Route[]>(FAMILIES.map((f) => [f, []]));
    for (const node of cluster.nodes) {
      for (const text of node.podCIDRs) {
        const cidr = Prefix.parse(text);
        const next = nodeAddr(node, cidr.family);
        if (next !== undefined) routes.get(cidr.family)!.push(viaRoute(cidr, next, u.subnetOf(node)));
      }
    }
    addInternetGateway(b, u, routes);
    u.routeAtRouter(routes);
  }
  const sharedTables = u.subnets.map((_, s) => {
    const routes = cloud ? undefined : podCidrRoutes(s);
    return new Map(FAMILIES.map((f) => [f, routes === undefined ? undefined : new RouteTable(f, routes.get(f)!)]));
  });

  const nodes = new Map<string, { ns: Netns; bridge: Link; bridgeAddrs: IfAddr[]; podFib: Map<Family, Fib> }>();
  for (const node of cluster.nodes) {
    const { ns, eth0Addrs } = addNode(b, node, u);
    const bridgeAddrs = node.podCIDRs.map((text) => {
      const cidr = Prefix.parse(text);
      return IfAddr.of(cidr.addr.add(1), cidr.bits);
    });
    const mtu = options.overlay?.mtu;
    const bridge = b.addLink(ns, bridgeName, 'bridge', true, bridgeAddrs, false, { mtu });
    options.overlay?.addLinks(b, ns, node);

    const own = (family: Family): RouteTable => {
      const routes = [...connected(eth0Addrs, family, ETH0), ...connected(bridgeAddrs, family, CBR0)];
      const gateway = u.gatewayOf(node, family);
      if (gateway !== undefined) routes.push(defaultRoute(gateway, ETH0));
      return new RouteTable(family, routes);
    };
    const shared = sharedTables[u.subnetOf(node)]!;
    ns.fib4 = new Fib(own(4), shared.get(4));
    ns.fib6 = new Fib(own(6), shared.get(6));

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
    const mtu = options.overlay?.mtu;
    const eth0 = b.addLink(ns, 'eth0', 'veth', true, addrs, false, { mtu });
    const host = b.addLink(node.ns, hostVethName('veth', key), 'veth', true, [], false, { mtu });
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


