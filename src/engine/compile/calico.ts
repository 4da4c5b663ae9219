// Calico's BGP data path (no overlay): no bridge. Per pod a veth pair: the pod's eth0 holds the pod IP as a /32 (/128)
// with `169.254.1.1 dev eth0 scope link` and `default via 169.254.1.1 dev eth0`; the host end `cali` + 11 hex digits has
// no address and proxy_arp on, so the node answers ARP for 169.254.1.1 (Linux answers by proxy only for an address it
// would route out of another link: a node without a route to 169.254.1.1, such as one without a default route, leaves
// its pods' gateway unresolved, as on a real host). On the node `<pod ip> dev cali… scope link` per local pod. Calico's
// IPAM hands out addresses in blocks (/26 by default) that belong to a node (given as ipamBlocks, or else carved: the
// first block of the node's pod CIDR that holds its pods, or without a pod CIDR the block of its lowest pod IP): the
// owning node holds `blackhole <block>` (an unassigned address in it is dropped there) and BIRD gives every other node
// `<block> via <owner> dev eth0`. A pod outside every block of its node gets its /32 route on its node only.
// IPv6 is the same with /122 blocks and the host end's link-local address fe80::ecee:eeff:feee:eeee (every cali
// interface has the MAC ee:ee:ee:ee:ee:ee) as the pods' gateway.
//
// As in bridge.ts, the routes to remote blocks live in one table every node shares; a node's own blackhole shadows the
// shared entry for its own block, so 5,000 nodes hold one copy of the block routes, not 5,000.
import { Addr, type Family } from '../addr.js';
import { IfAddr } from '../ifaddr.js';
import { Prefix } from '../prefix.js';
import { Fib, RouteTable } from '../fib.js';
import { Route } from '../route.js';
import { FabricBuilder, type Netns } from '../fabric.js';
import type { ClusterDoc, CniDoc } from '../../topology/schema.js';

type CalicoCniDoc = Extract<CniDoc, { plugin: 'calico' }>;
import {
  ETH0,
  FAMILIES,
  addNode,
  connected,
  defaultRoute,
  hostVethName,
  linkRoute,
  nodeAddr,
  podAddrs,
  placePods,
  underlayOf,
  type ClusterFabric,
} from './bridge.js';
import { EMPTY_FIB4, EMPTY_FIB6 } from './fabric.js';

export const CALICO_GATEWAY4 = Addr.parse('169.254.1.1');
export const CALICO_GATEWAY6 = Addr.parse('fe80::ecee:eeff:feee:eeee');
const BIRD = 'bird';

/** The IPAM blocks of every node, per node name: given ones, or else carved from the node's pod CIDRs. */
export function calicoBlocks(cluster: ClusterDoc, cni: CalicoCniDoc): Map<string, Prefix[]> {
  const blocks = new Map<string, Prefix[]>(cluster.nodes.map((n) => [n.name, []]));
  if (cni.ipamBlocks !== undefined && cni.ipamBlocks.length > 0) {
    for (const b of cni.ipamBlocks) blocks.get(b.nodeName)?.push(Prefix.parse(b.cidr));
    return blocks;
  }
  const size = (f: Family) => (f === 4 ? (cni.blockSize ?? 26) : 122);
  const carved: { node: string; block: Prefix }[] = [];
  const podsOf = new Map<string, Addr[]>();
  for (const p of cluster.pods ?? []) {
    if (p.hostNetwork) continue;
    const list = podsOf.get(p.nodeName);
    if (list === undefined) podsOf.set(p.nodeName, podAddrs(p));
    else list.push(...podAddrs(p));
  }
  for (const node of cluster.nodes) {
    const pods = podsOf.get(node.name) ?? [];
    for (const text of node.podCIDRs) {
      const cidr = Prefix.parse(text);
      const bits = size(cidr.family);
      if (cidr.bits >= bits) {
        blocks.get(node.name)!.push(cidr);
        continue;
      }
      // A block per node: the first of the CIDR's blocks that holds one of its pods (the CIDR's first without pods).
      const inside = pods.filter((a) => cidr.contains(a)).sort((a, b) => a.compare(b));
      blocks.get(node.name)!.push(Prefix.of(inside[0] ?? cidr.addr, bits));
    }
    // Calico allocates from its own pools, so imported nodes often have no pod CIDR: the block of their lowest pod IP.
    for (const family of FAMILIES) {
      if (node.podCIDRs.some((t) => Prefix.parse(t).family === family)) continue;
      const lowest = pods.filter((a) => a.family === family).sort((a, b) => a.compare(b))[0];
      if (lowest !== undefined) carved.push({ node: node.name, block: Prefix.of(lowest, size(family)) });
    }
  }
  // A carved block another node's block overlaps is left out: its pods get their /32 routes only.
  if (carved.length > 0) {
    const all = [...blocks.values()].flat();
    for (const { node, block } of carved) {
      if (all.some((b) => b.overlaps(block))) continue;
      all.push(block);
      blocks.get(node)!.push(block);
    }
  }
  return blocks;
}

export function compileCalico(cluster: ClusterDoc, cni: CalicoCniDoc): ClusterFabric {
  const b = new FabricBuilder();
  const u = underlayOf(b, cluster);
  const blocks = calicoBlocks(cluster, cni);

  // The shared table: every block via its node (what BIRD learns from the other nodes).
  const shared = new Map<Family, Route[]>(FAMILIES.map((f) => [f, []]));
  for (const node of cluster.nodes) {
    for (const block of blocks.get(node.name)!) {
      const next = nodeAddr(node, block.family);
      if (next === undefined) continue;
      const nh = [{ gateway: next, dev: ETH0, onlink: false, weight: 1 }];
      shared.get(block.family)!.push(new Route(block, 'unicast', block.family === 6 ? 1024 : 0, nh, 'global', BIRD, undefined));
    }
  }
  const sharedTables = new Map(FAMILIES.map((f) => [f, new RouteTable(f, shared.get(f)!)]));

  // Every pod's table is the same: the gateway on eth0, and the default route via it.
  const gateways: Record<Family, Addr> = { 4: CALICO_GATEWAY4, 6: CALICO_GATEWAY6 };
  const podFib = (f: Family) =>
    new Fib(new RouteTable(f, f === 4 ? [linkRoute(Prefix.of(gateways[4], 32), ETH0), defaultRoute(gateways[4], ETH0)] : [defaultRoute(gateways[6], ETH0)]));
  const podFib4 = podFib(4);
  const podFib6 = podFib(6);

  const nodes = new Map<string, { ns: Netns; own: Map<Family, Route[]> }>();
  for (const node of cluster.nodes) {
    const { ns, eth0Addrs } = addNode(b, node, u);
    const own = new Map<Family, Route[]>(
      FAMILIES.map((f) => {
        const routes = connected(eth0Addrs, f, ETH0);
        if (u.gateway?.family === f) routes.push(defaultRoute(u.gateway, ETH0));
        for (const block of blocks.get(node.name)!) {
          if (block.family === f) routes.push(new Route(block, 'blackhole', f === 6 ? 1024 : 0, [], 'global', BIRD, undefined));
        }
        return [f, routes];
      }),
    );
    nodes.set(node.name, { ns, own });
  }

  const hostNetworkPods = placePods(cluster, nodes, (pod, key, node) => {
    const addrs = podAddrs(pod);
    // A pod gets the routes of the families it has an address in.
    const has = (f: Family) => addrs.some((a) => a.family === f);
    const ns = b.addNetns(key, 'pod', pod.nodeName, false, has(4) ? podFib4 : EMPTY_FIB4, has(6) ? podFib6 : EMPTY_FIB6);
    const eth0 = b.addLink(ns, 'eth0', 'veth', true, addrs.map((a) => IfAddr.of(a, a.bits)));
    const hostAddrs = has(6) ? [IfAddr.of(CALICO_GATEWAY6, 64)] : [];
    const host = b.addLink(node.ns, hostVethName('cali', key, 11), 'veth', true, hostAddrs, true);
    b.pair(eth0, host);
    for (const a of addrs) node.own.get(a.family)!.push(linkRoute(Prefix.of(a, a.bits), host.index));
  });

  for (const { ns, own } of nodes.values()) {
    ns.fib4 = new Fib(new RouteTable(4, own.get(4)!), sharedTables.get(4));
    ns.fib6 = new Fib(new RouteTable(6, own.get(6)!), sharedTables.get(6));
  }
  return { fabric: b.build(), hostNetworkPods };
}
