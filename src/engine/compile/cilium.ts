// Cilium with native routing and auto-direct-node-routes (no overlay): no bridge. Per node `cilium_host` (one end of the
// veth pair cilium_host/cilium_net) holds the router IP (the first host address of the node's pod CIDR, as a /32); per pod a veth pair: the pod's eth0 holds the pod IP as a
// /32 with `<router ip> dev eth0 scope link` and `default via <router ip> dev eth0`, the host end is `lxc` + 12 hex digits
// with no address and `<pod ip> dev lxc…` on the node (endpoint routes). Every node routes every other node's pod CIDR
// `via <that node> dev eth0` (auto-direct-node-routes), from one table they share as in bridge.ts.
//
// With `routing: tunnel` the other nodes' pod CIDRs go through `cilium_vxlan` (UDP 8472) or `cilium_geneve` (UDP 6081)
// instead: devices in external (collect_md) mode whose far end Cilium's BPF program takes from its ipcache (every node's
// pod CIDR → that node's address), not from the kernel's neighbours. Kernel routes do not take that decision; the
// compiled `<pod CIDR> dev cilium_vxlan` stands for it and traces say so. The pods' veths get MTU 1450.
//
// Cilium's BPF program on the lxc device answers the pod's ARP for its gateway; the kernel model gets the same answer
// from proxy_arp on the lxc end (and the node owns the router IP on cilium_host, which Linux answers ARP for on any link).
// IPv6 needs the BPF NDP responder, which no kernel setting stands for: a cluster with IPv6 pods is not compiled here.
import { Addr } from '../addr.js';
import { IfAddr } from '../ifaddr.js';
import { Prefix } from '../prefix.js';
import { Fib, RouteTable } from '../fib.js';
import type { Route } from '../route.js';
import { FabricBuilder, type IpcacheEntry, type Netns } from '../fabric.js';
import type { ClusterDoc, CniDoc } from '../../topology/schema.js';

type CiliumCniDoc = Extract<CniDoc, { plugin: 'cilium' }>;
import { defaultRoute, hostVethName, linkRoute, podAddrs, placePods, viaRoute, type ClusterFabric } from './bridge.js';
import { ETH0, addNode, connected, nodeAddr, underlayOf } from './underlay.js';

const CILIUM_HOST = 1;
/** After eth0, cilium_host and cilium_net. */
const TUNNEL = 3;
const TUNNEL_MTU = 1450;
const TUNNELS = { vxlan: { name: 'cilium_vxlan', port: 8472 }, geneve: { name: 'cilium_geneve', port: 6081 } } as const;

export function compileCilium(cluster: ClusterDoc, cni: CiliumCniDoc): ClusterFabric {
  const b = new FabricBuilder();
  const u = underlayOf(b, cluster);
  const tunnel = cni.routing === 'tunnel' ? TUNNELS[cni.tunnel ?? 'vxlan'] : undefined;

  // Per underlay subnet, the table its nodes share: auto-direct-node-routes reaches only the nodes of the same subnet
  // (a node elsewhere gets no route, and its pods are left to the default route); the tunnel reaches every node.
  const ipcache: IpcacheEntry[] = [];
  const routesFor = (local: number): Route[] => {
    const routes: Route[] = [];
    for (const node of cluster.nodes) {
      for (const text of node.podCIDRs) {
        const cidr = Prefix.parse(text);
        const next = nodeAddr(node, 4);
        if (cidr.family !== 4 || next === undefined) continue;
        if (tunnel !== undefined) routes.push(linkRoute(cidr, TUNNEL));
        else if (u.subnetOf(node) === local) routes.push(viaRoute(cidr, next, ETH0));
      }
    }
    return routes;
  };
  for (const node of cluster.nodes) {
    const next = nodeAddr(node, 4);
    for (const text of node.podCIDRs) {
      const cidr = Prefix.parse(text);
      if (cidr.family === 4 && next !== undefined) ipcache.push({ prefix: cidr, tunnelEndpoint: next });
    }
  }
  const sharedTables = u.subnets.map((_, local) => new RouteTable(4, routesFor(local)));
  const mtu = tunnel === undefined ? undefined : TUNNEL_MTU;
  const emptyFib6 = new Fib(new RouteTable(6, []));

  const nodes = new Map<string, { ns: Netns; own: Route[]; podFib: Fib; subnet: number }>();
  for (const node of cluster.nodes) {
    const { ns, eth0Addrs } = addNode(b, node, u);
    const cidr = node.podCIDRs.map((t) => Prefix.parse(t)).find((p) => p.family === 4);
    const router = cidr?.addr.add(1);
    // cilium_host and cilium_net are a veth pair inside the node, as Cilium creates them.
    const host = b.addLink(ns, 'cilium_host', 'veth', true, router === undefined ? [] : [IfAddr.of(router, 32)]);
    b.pair(host, b.addLink(ns, 'cilium_net', 'veth', true, []));
    if (tunnel !== undefined) {
      const facts = { vni: 0, port: tunnel.port, local: undefined, underlay: -1, ipcache };
      b.addLink(ns, tunnel.name, cni.tunnel === 'geneve' ? 'geneve' : 'vxlan', true, [], false, { tunnel: facts });
    }
    const own = connected(eth0Addrs, 4, ETH0);
    // The node's own pod CIDR goes to cilium_host, where Cilium's BPF drops what no endpoint route claims (Cilium writes
    // it `via <router ip> dev cilium_host`; the gateway is the node's own address, so the kernel sends straight out of
    // cilium_host, which is what this route says). It also shadows the shared table's route to the node itself.
    if (cidr !== undefined) own.push(linkRoute(cidr, CILIUM_HOST));
    const gateway4 = u.gatewayOf(node, 4);
    if (gateway4 !== undefined) own.push(defaultRoute(gateway4, ETH0));
    const podRoutes = router === undefined ? [] : [linkRoute(Prefix.of(router, 32), ETH0), defaultRoute(router, ETH0)];
    nodes.set(node.name, { ns, own, podFib: new Fib(new RouteTable(4, podRoutes)), subnet: u.subnetOf(node) });
    const gateway6 = u.gatewayOf(node, 6);
    const v6 = new RouteTable(6, [...connected(eth0Addrs, 6, ETH0), ...(gateway6 !== undefined ? [defaultRoute(gateway6, ETH0)] : [])]);
    ns.fib6 = new Fib(v6);
  }

  const hostNetworkPods = placePods(cluster, nodes, (pod, key, node) => {
    const addrs = podAddrs(pod).filter((a) => a.family === 4);
    const ns = b.addNetns(key, 'pod', pod.nodeName, false, node.podFib, emptyFib6);
    const eth0 = b.addLink(ns, 'eth0', 'veth', true, addrs.map((a) => IfAddr.of(a, 32)), false, { mtu });
    const lxc = b.addLink(node.ns, hostVethName('lxc', key, 12), 'veth', true, [], true, { mtu });
    b.pair(eth0, lxc);
    for (const a of addrs) node.own.push(linkRoute(Prefix.of(a, 32), lxc.index));
  });
  for (const { ns, own, subnet } of nodes.values()) ns.fib4 = new Fib(new RouteTable(4, own), sharedTables[subnet]);
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

