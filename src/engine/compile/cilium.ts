// Cilium with native routing and auto-direct-node-routes (no overlay): no bridge. Per node `cilium_host` (one end of the
// veth pair cilium_host/cilium_net) holds the router IP (the first host address of the node's pod CIDR, as a /32); per pod a veth pair: the pod's eth0 holds the pod IP as a
// /32 with `<router ip> dev eth0 scope link` and `default via <router ip> dev eth0`, the host end is `lxc` + 12 hex digits
// with no address and `<pod ip> dev lxc…` on the node (endpoint routes). Every node routes every other node's pod CIDR
// `via <that node> dev eth0` (auto-direct-node-routes), from one table they share as in bridge.ts.
//
// Cilium's BPF program on the lxc device answers the pod's ARP for its gateway; the kernel model gets the same answer
// from proxy_arp on the lxc end (and the node owns the router IP on cilium_host, which Linux answers ARP for on any link).
// IPv6 needs the BPF NDP responder, which no kernel setting stands for: a cluster with IPv6 pods is not compiled here.
import { Addr } from '../addr.js';
import { IfAddr } from '../ifaddr.js';
import { Prefix } from '../prefix.js';
import { Fib, RouteTable } from '../fib.js';
import type { Route } from '../route.js';
import { FabricBuilder, type Netns } from '../fabric.js';
import type { ClusterDoc } from '../../topology/schema.js';
import {
  ETH0,
  addNode,
  connected,
  defaultRoute,
  hostVethName,
  linkRoute,
  nodeAddr,
  podAddrs,
  placePods,
  underlayOf,
  viaRoute,
  type ClusterFabric,
} from './bridge.js';

const CILIUM_HOST = 1;

export function compileCilium(cluster: ClusterDoc): ClusterFabric {
  const b = new FabricBuilder();
  const u = underlayOf(b, cluster);

  const shared: Route[] = [];
  for (const node of cluster.nodes) {
    for (const text of node.podCIDRs) {
      const cidr = Prefix.parse(text);
      const next = nodeAddr(node, 4);
      if (cidr.family === 4 && next !== undefined) shared.push(viaRoute(cidr, next, ETH0));
    }
  }
  const sharedTable = new RouteTable(4, shared);
  const emptyFib6 = new Fib(new RouteTable(6, []));

  const nodes = new Map<string, { ns: Netns; own: Route[]; podFib: Fib }>();
  for (const node of cluster.nodes) {
    const { ns, eth0Addrs } = addNode(b, node, u);
    const cidr = node.podCIDRs.map((t) => Prefix.parse(t)).find((p) => p.family === 4);
    const router = cidr?.addr.add(1);
    // cilium_host and cilium_net are a veth pair inside the node, as Cilium creates them.
    const host = b.addLink(ns, 'cilium_host', 'veth', true, router === undefined ? [] : [IfAddr.of(router, 32)]);
    b.pair(host, b.addLink(ns, 'cilium_net', 'veth', true, []));
    const own = connected(eth0Addrs, 4, ETH0);
    // The node's own pod CIDR goes to cilium_host, where Cilium's BPF drops what no endpoint route claims (Cilium writes
    // it `via <router ip> dev cilium_host`; the gateway is the node's own address, so the kernel sends straight out of
    // cilium_host, which is what this route says). It also shadows the shared table's route to the node itself.
    if (cidr !== undefined) own.push(linkRoute(cidr, CILIUM_HOST));
    if (u.gateway?.family === 4) own.push(defaultRoute(u.gateway, ETH0));
    const podRoutes = router === undefined ? [] : [linkRoute(Prefix.of(router, 32), ETH0), defaultRoute(router, ETH0)];
    nodes.set(node.name, { ns, own, podFib: new Fib(new RouteTable(4, podRoutes)) });
    const v6 = new RouteTable(6, [...connected(eth0Addrs, 6, ETH0), ...(u.gateway?.family === 6 ? [defaultRoute(u.gateway, ETH0)] : [])]);
    ns.fib6 = new Fib(v6);
  }

  const hostNetworkPods = placePods(cluster, nodes, (pod, key, node) => {
    const addrs = podAddrs(pod).filter((a) => a.family === 4);
    const ns = b.addNetns(key, 'pod', pod.nodeName, false, node.podFib, emptyFib6);
    const eth0 = b.addLink(ns, 'eth0', 'veth', true, addrs.map((a) => IfAddr.of(a, 32)));
    const lxc = b.addLink(node.ns, hostVethName('lxc', key, 12), 'veth', true, [], true);
    b.pair(eth0, lxc);
    for (const a of addrs) node.own.push(linkRoute(Prefix.of(a, 32), lxc.index));
  });
  for (const { ns, own } of nodes.values()) ns.fib4 = new Fib(new RouteTable(4, own), sharedTable);
  return { fabric: b.build(), hostNetworkPods };
}

/** Why a cilium cluster cannot be compiled by compileCilium, or undefined when it can. */
export function ciliumUnsupported(cluster: ClusterDoc): string | undefined {
  const v6 = (a: string) => Addr.tryParse(a.split('/')[0]!)?.family === 6;
  const has6 =
    cluster.nodes.some((n) => n.podCIDRs.some(v6)) ||
    (cluster.pods ?? []).some((p) => !p.hostNetwork && podAddrs(p).some((a) => a.family === 6));
  return has6 ? 'IPv6 pods need the BPF NDP responder, which the kernel model has no stand-in for' : undefined;
}

