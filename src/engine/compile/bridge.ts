// The seed's data path (kubenet, flannel host-gw, the reference `bridge` plugin with host routes): per node a bridge cbr0
// holding the first address of each pod CIDR, a veth pair per pod (pod eth0 with the pod IP and the CIDR's length, host
// end a port of cbr0), `default via <cbr0 address>` in every pod, node eth0 on one underlay segment, and on every node a
// route to every other node's pod CIDR via that node's address.
//
// At 5,000 nodes that is 25 million route rows if each node held its own copy. Instead one shared table holds every pod
// CIDR via its node, and each node's own table (connected routes, default) shadows the entry for its own CIDR; pods of a
// node share one table too (their routes differ only in prefsrc, which a shared table leaves out).
import { Addr, type Family } from '../addr.js';
import { IfAddr } from '../ifaddr.js';
import { Prefix } from '../prefix.js';
import { Fib, RouteTable } from '../fib.js';
import { Route } from '../route.js';
import { FabricBuilder, type Fabric, type Link, type Netns } from '../fabric.js';
import type { ClusterDoc, ClusterPodDoc } from '../../topology/schema.js';
import { EMPTY_FIB4, EMPTY_FIB6, connectedRoute } from './fabric.js';

export interface ClusterFabric {
  fabric: Fabric;
  /** hostNetwork pods, by namespace/name: they share their node's netns. */
  hostNetworkPods: Map<string, Netns>;
}

const FAMILIES: readonly Family[] = [4, 6];
const ETH0 = 0; // every node's and pod's eth0 is its first link, so shared routes can name it by index
const CBR0 = 1;

export const podKey = (p: ClusterPodDoc) => `${p.namespace ?? 'default'}/${p.name}`;

export const podAddrs = (p: ClusterPodDoc): Addr[] =>
  (p.podIPs ?? []).map((e) => Addr.parse(typeof e === 'string' ? e : e.ip));

export function nodeAddr(node: ClusterDoc['nodes'][number], family: Family): Addr | undefined {
  const parsed = (type: string) =>
    node.addresses.filter((a) => a.type === type).map((a) => Addr.tryParse(a.address)).find((a) => a?.family === family);
  return parsed('InternalIP') ?? parsed('ExternalIP');
}

const via = (gateway: Addr, dev: number) => [{ gateway, dev, onlink: false, weight: 1 }];
const connected = (addrs: readonly IfAddr[], family: Family, dev: number, withSrc = true): Route[] =>
  addrs.filter((a) => a.addr.family === family).flatMap((a) => connectedRoute(a, dev, withSrc) ?? []);
const defaultRoute = (gateway: Addr, dev: number) =>
  new Route(Prefix.of(gateway, 0), 'unicast', gateway.family === 6 ? 1024 : 0, via(gateway, dev), 'global', undefined, undefined);

/** A veth name the way CNI plugins make them: "veth" and 8 hex digits derived from the pod's identity. */
function vethName(key: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return `veth${h.toString(16).padStart(8, '0')}`;
}

export function compileBridge(cluster: ClusterDoc): ClusterFabric {
  const b = new FabricBuilder();
  const network = cluster.network;

  // The underlay: one segment per family that the nodes have addresses in.
  const underlay = new Map<Family, Prefix>();
  for (const family of FAMILIES) {
    const addrs = cluster.nodes.map((n) => nodeAddr(n, family)).filter((a) => a !== undefined);
    if (addrs.length === 0) continue;
    const given = network?.cidr === undefined ? undefined : Prefix.parse(network.cidr);
    underlay.set(family, given?.family === family ? given : Prefix.smallestContaining(addrs));
  }
  const segment = b.segment('underlay', underlay.get(4) ?? underlay.get(6));
  const gateway = network?.gateway === undefined ? undefined : Addr.parse(network.gateway);
  if (gateway !== undefined) {
    const bits = underlay.get(gateway.family)?.bits ?? gateway.bits;
    b.plug(b.addLink(undefined, `external ${gateway}`, 'external', true, [IfAddr.of(gateway, bits)]), segment);
  }

  // The shared table: every node's pod CIDRs via that node's address on eth0.
  const shared = new Map<Family, Route[]>(FAMILIES.map((f) => [f, []]));
  for (const node of cluster.nodes) {
    for (const text of node.podCIDRs) {
      const cidr = Prefix.parse(text);
      const next = nodeAddr(node, cidr.family);
      if (next !== undefined) {
        shared.get(cidr.family)!.push(new Route(cidr, 'unicast', 0, via(next, ETH0), 'global', undefined, undefined));
      }
    }
  }
  const sharedTables = new Map(FAMILIES.map((f) => [f, new RouteTable(f, shared.get(f)!)]));

  const nodes = new Map<string, { ns: Netns; bridge: Link; bridgeAddrs: IfAddr[]; podFib: Map<Family, Fib> }>();
  for (const node of cluster.nodes) {
    const ns = b.addNetns(node.name, 'node', undefined, true, EMPTY_FIB4, EMPTY_FIB6);
    const eth0Addrs = FAMILIES.flatMap((f) => {
      const a = nodeAddr(node, f);
      return a === undefined ? [] : [IfAddr.of(a, underlay.get(f)!.bits)];
    });
    b.plug(b.addLink(ns, 'eth0', 'physical', true, eth0Addrs), segment);
    const bridgeAddrs = node.podCIDRs.map((text) => {
      const cidr = Prefix.parse(text);
      return IfAddr.of(cidr.addr.add(1), cidr.bits);
    });
    const bridge = b.addLink(ns, 'cbr0', 'bridge', true, bridgeAddrs);

    const own = (family: Family): RouteTable => {
      const routes = [...connected(eth0Addrs, family, ETH0), ...connected(bridgeAddrs, family, CBR0)];
      if (gateway?.family === family) routes.push(defaultRoute(gateway, ETH0));
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

  const hostNetworkPods = new Map<string, Netns>();
  for (const pod of cluster.pods ?? []) {
    const node = nodes.get(pod.nodeName)!;
    const key = podKey(pod);
    if (pod.hostNetwork) {
      hostNetworkPods.set(key, node.ns);
      continue;
    }
    const addrs = podAddrs(pod).map((a) => {
      const cidr = node.bridgeAddrs.find((x) => x.addr.family === a.family);
      return IfAddr.of(a, cidr?.bits ?? a.bits);
    });
    const ns = b.addNetns(key, 'pod', pod.nodeName, false, node.podFib.get(4)!, node.podFib.get(6)!);
    const eth0 = b.addLink(ns, 'eth0', 'veth', true, addrs);
    const host = b.addLink(node.ns, vethName(key), 'veth', true, []);
    b.pair(eth0, host);
    b.enslave(host, node.bridge);
  }
  return { fabric: b.build(), hostNetworkPods };
}
