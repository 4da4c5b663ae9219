// Weave Net (weave-kube, fastdp): one cluster-wide pod subnet (IPALLOC_RANGE, 10.32.0.0/12 unless cni.subnet says
// otherwise) that every pod and every node's `weave` bridge takes its address from, with the subnet's prefix length. Per
// pod a veth pair: the pod's eth0 holds the pod IP (so the whole subnet is on-link for it) with `default via <its node's
// weave address> dev eth0`; the host end `vethwepl` + 7 hex digits is a port of `weave`. The node needs no route to any
// pod: weave's router carries frames between the `weave` bridges of all peers, which makes them one L2 domain. That is
// modelled as each node's `vethwe-bridge` (a port of `weave`, no address) plugged into one segment named `weave`, so a
// pod reaches a pod of another node by ARP and bridging alone, and the node's routing table is only consulted for what
// lies outside the subnet.
//
// weave-kube runs `weave expose`, which allocates the node its address before any pod of the node gets one, from the
// start of the range the node's IPAM owns. So a node's weave address is the one just below its lowest pod IP; where that
// is not a host address of the subnet or is someone else's (and for a node without pods), it is the lowest host
// address of the subnet nobody has, given out in the order of the nodes. Weave Net allocates IPv4 only (validate.ts
// rejects IPv6 pod IPs and subnets); the nodes keep their IPv6 underlay.
import type { Addr, Family } from '../addr.js';
import { IfAddr } from '../ifaddr.js';
import { Prefix } from '../prefix.js';
import { Fib, RouteTable } from '../fib.js';
import { FabricBuilder, type Link, type Netns } from '../fabric.js';
import type { ClusterDoc, CniDoc } from '../../topology/schema.js';
import { defaultRoute, hostVethName, podAddrs, placePods, type ClusterFabric } from './bridge.js';
import { ETH0, addNode, connected, nodeAddr, underlayOf } from './underlay.js';
import { EMPTY_FIB6 } from './fabric.js';

type WeaveCniDoc = Extract<CniDoc, { plugin: 'weave' }>;

/** weave-kube's IPALLOC_RANGE when the manifest does not set one. */
export const WEAVE_DEFAULT_SUBNET = Prefix.parse('10.32.0.0/12');
const WEAVE = 1;
const WEAVE_PORT = 'vethwe-bridge';

/** Every node's address on its weave bridge, per node name (see the rule above). */
function weaveAddresses(cluster: ClusterDoc, subnet: Prefix): Map<string, Addr> {
  const first = subnet.addr.w0 + 1;
  const last = subnet.last().w0 - 1;
  const taken = new Set<number>();
  const lowest = new Map<string, number>();
  for (const node of cluster.nodes) {
    const a = nodeAddr(node, 4);
    if (a !== undefined) taken.add(a.w0);
  }
  for (const pod of cluster.pods ?? []) {
    if (pod.hostNetwork) continue;
    for (const a of podAddrs(pod)) {
      if (a.family !== 4) continue;
      taken.add(a.w0);
      if (a.w0 < (lowest.get(pod.nodeName) ?? Infinity)) lowest.set(pod.nodeName, a.w0);
    }
  }

  const addrs = new Map<string, Addr>();
  for (const node of cluster.nodes) {
    const below = (lowest.get(node.name) ?? first) - 1;
    if (below >= first && below <= last && !taken.has(below)) {
      taken.add(below);
      addrs.set(node.name, subnet.addr.add(below - subnet.addr.w0));
    }
  }
  // Each node given one here takes the lowest free address, so the next free one is never below it.
  let next = first;
  for (const node of cluster.nodes) {
    if (addrs.has(node.name)) continue;
    while (taken.has(next)) next++;
    taken.add(next);
    addrs.set(node.name, subnet.addr.add(next - subnet.addr.w0));
  }
  return addrs;
}

export function compileWeave(cluster: ClusterDoc, cni: WeaveCniDoc): ClusterFabric {
  const b = new FabricBuilder();
  const u = underlayOf(b, cluster);
  const subnet = cni.subnet === undefined ? WEAVE_DEFAULT_SUBNET : Prefix.parse(cni.subnet);
  const weaveNet = b.segment('weave', subnet);
  const weaveAddrs = weaveAddresses(cluster, subnet);

  const nodes = new Map<string, { ns: Netns; weave: Link; podFib: Fib }>();
  for (const node of cluster.nodes) {
    const { ns, eth0Addrs } = addNode(b, node, u);
    const gateway = weaveAddrs.get(node.name)!;
    const bridgeAddrs = [IfAddr.of(gateway, subnet.bits)];
    const weave = b.addLink(ns, 'weave', 'bridge', true, bridgeAddrs);
    const port = b.addLink(ns, WEAVE_PORT, 'physical', true, []);
    b.enslave(port, weave);
    b.plug(port, weaveNet);

    const own = (family: Family) => {
      const routes = [...connected(eth0Addrs, family, ETH0), ...connected(bridgeAddrs, family, WEAVE)];
      const gateway = u.gatewayOf(node, family);
      if (gateway !== undefined) routes.push(defaultRoute(gateway, ETH0));
      return new RouteTable(family, routes);
    };
    ns.fib4 = new Fib(own(4));
    ns.fib6 = new Fib(own(6));
    // Every pod of the node: `<subnet> dev eth0 proto kernel scope link` and `default via <weave address> dev eth0`.
    const podFib = new Fib(new RouteTable(4, [...connected(bridgeAddrs, 4, ETH0, false), defaultRoute(gateway, ETH0)]));
    nodes.set(node.name, { ns, weave, podFib });
  }

  const hostNetworkPods = placePods(cluster, nodes, (pod, key, node) => {
    const addrs = podAddrs(pod).map((a) => IfAddr.of(a, subnet.bits));
    const ns = b.addNetns(key, 'pod', pod.nodeName, false, node.podFib, EMPTY_FIB6);
    const eth0 = b.addLink(ns, 'eth0', 'veth', true, addrs);
    const host = b.addLink(node.ns, hostVethName('vethwepl', key, 7), 'veth', true, []);
    b.pair(eth0, host);
    b.enslave(host, node.weave);
  });
  return { fabric: b.build(), hostNetworkPods };
}
