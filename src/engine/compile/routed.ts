// The data paths that route each pod by its own address on the node, with no bridge: a veth pair per pod, its host end
// named by the plugin, and `<pod ip> dev <host end> scope link` on the node.
//
// Within a node there are two ways of giving the pod its gateway:
// - ptp (kindnet, GKE's netd: the CNI ptp plugin): the pod's eth0 holds its address with the length of the node's pod
//   CIDR but without the connected route; `<gw> dev eth0 scope link`, `<cidr> via <gw> dev eth0` and `default via <gw>`,
//   where <gw> is the CIDR's first address, which every host end of the node holds as a /32 (so it answers ARP for it).
// - link-local (the AWS VPC CNI, Azure CNI): the pod's eth0 holds its address as a /32 with `169.254.1.1 dev eth0 scope
//   link` and `default via 169.254.1.1`; nothing owns 169.254.1.1: the pod holds a permanent neighbour entry for it with
//   the MAC of its host end, so its frames reach the node without ARP.
//
// Between nodes:
// - host-gw (kindnet): every node routes each other node's pod CIDR via that node's address (onlink, and unanswered, for
//   a node on another subnet). Each node holds its own copy (no table is shared: a node has no route for its own CIDR,
//   only its pods' /32s), which is fine at the sizes kind runs.
// - cloud (GKE VPC-native, EKS, AKS with Azure CNI): the nodes hold `default via <VPC router>`; the VPC router (vpc-router)
//   holds every node's pod CIDR (GKE's alias IP ranges, Azure CNI overlay) and every pod address outside them (the
//   secondary addresses of the nodes' ENIs and NICs) via that node, and sends everything else to the internet gateway,
//   a host outside the model: a pod's packet to the internet leaves the network there. Where the pods hold addresses
//   of the nodes' own subnet (AWS, Azure CNI), a node asks ARP for another node's pod directly, and the VPC answers for
//   the secondary addresses of that node's interfaces and delivers to it: modelled as proxy_arp on the node's eth0, which
//   answers for exactly the addresses the node routes to its pods.
import { Addr, type Family } from '../addr.js';
import { IfAddr } from '../ifaddr.js';
import { Prefix } from '../prefix.js';
import { Fib, RouteTable } from '../fib.js';
import type { Route } from '../route.js';
import { FabricBuilder, type Netns } from '../fabric.js';
import type { ClusterDoc } from '../../topology/schema.js';
import { ROUTER_NAME, addInternetGateway, defaultRoute, deviceMac, hostVethName, linkRoute, podAddrs, placePods, viaRoute, type ClusterFabric } from './bridge.js';
import { ETH0, FAMILIES, addNode, connected, nodeAddr, underlayOf } from './underlay.js';
import { EMPTY_FIB4, EMPTY_FIB6 } from './fabric.js';

export interface RoutedOptions {
  gateway: 'ptp' | 'link-local';
  routes: 'host-gw' | 'cloud';
  /** The host end's name: a prefix and hex digits ("veth" + 8 for ptp, "eni" + 11 for the AWS VPC CNI). */
  vethPrefix: string;
  vethDigits: number;
}

/** The pods' gateway of the link-local way, as the AWS VPC CNI and Azure CNI write it. */
export const LINK_LOCAL_GATEWAY = Addr.parse('169.254.1.1');

export function compileRouted(cluster: ClusterDoc, options: RoutedOptions): ClusterFabric {
  const b = new FabricBuilder();
  const cloud = options.routes === 'cloud';
  const u = underlayOf(b, cluster, cloud ? ROUTER_NAME : undefined);
  const cidrsOf = new Map(cluster.nodes.map((n) => [n.name, n.podCIDRs.map((t) => Prefix.parse(t))]));

  if (cloud) {
    const routes = new Map<Family, Route[]>(FAMILIES.map((f) => [f, []]));
    for (const node of cluster.nodes) {
      for (const cidr of cidrsOf.get(node.name)!) {
        const next = nodeAddr(node, cidr.family);
        if (next !== undefined) routes.get(cidr.family)!.push(viaRoute(cidr, next, u.subnetOf(node)));
      }
    }
    const byName = new Map(cluster.nodes.map((n) => [n.name, n]));
    for (const pod of cluster.pods ?? []) {
      if (pod.hostNetwork) continue;
      const node = byName.get(pod.nodeName)!;
      for (const a of podAddrs(pod)) {
        if (cidrsOf.get(node.name)!.some((c) => c.contains(a))) continue;
        const next = nodeAddr(node, a.family);
        if (next !== undefined) routes.get(a.family)!.push(viaRoute(Prefix.of(a, a.bits), next, u.subnetOf(node)));
      }
    }
    addInternetGateway(b, u, routes);
    u.routeAtRouter(routes);
  }

  const nodes = new Map<string, { ns: Netns; own: Map<Family, Route[]>; gateways: Map<Family, Addr> }>();
  for (const node of cluster.nodes) {
    const { ns, eth0Addrs } = addNode(b, node, u, options.gateway === 'link-local');
    const own = new Map<Family, Route[]>(
      FAMILIES.map((f) => {
        const routes = connected(eth0Addrs, f, ETH0);
        const gateway = u.gatewayOf(node, f);
        if (gateway !== undefined) routes.push(defaultRoute(gateway, ETH0));
        return [f, routes];
      }),
    );
    if (!cloud) {
      const local = u.subnetOf(node);
      for (const other of cluster.nodes) {
        if (other === node) continue;
        for (const cidr of cidrsOf.get(other.name)!) {
          const next = nodeAddr(other, cidr.family);
          if (next !== undefined) own.get(cidr.family)!.push(viaRoute(cidr, next, ETH0, u.subnetOf(other) !== local));
        }
      }
    }
    const gateways = new Map<Family, Addr>(
      options.gateway === 'link-local'
        ? [[4, LINK_LOCAL_GATEWAY]]
        : cidrsOf.get(node.name)!.map((cidr) => [cidr.family, cidr.addr.add(1)] as const),
    );
    nodes.set(node.name, { ns, own, gateways });
  }

  const cidrOf = (nodeName: string, a: Addr) => cidrsOf.get(nodeName)!.find((c) => c.contains(a));

  const hostNetworkPods = placePods(cluster, nodes, (pod, key, node) => {
    const addrs = podAddrs(pod);
    const vethName = hostVethName(options.vethPrefix, key, options.vethDigits);
    const mac = deviceMac(`${pod.nodeName}/${vethName}`);
    const tables = new Map<Family, Route[]>(FAMILIES.map((f) => [f, []]));
    const eth0Addrs: IfAddr[] = [];
    const hostAddrs: IfAddr[] = [];
    for (const a of addrs) {
      const gw = node.gateways.get(a.family);
      const cidr = options.gateway === 'ptp' ? cidrOf(pod.nodeName, a) : undefined;
      eth0Addrs.push(IfAddr.of(a, cidr?.bits ?? a.bits, cidr !== undefined));
      if (gw === undefined) continue;
      const routes = tables.get(a.family)!;
      routes.push(linkRoute(Prefix.of(gw, gw.bits), ETH0));
      if (cidr !== undefined) routes.push(viaRoute(cidr, gw, ETH0));
      routes.push(defaultRoute(gw, ETH0));
      if (options.gateway === 'ptp') hostAddrs.push(IfAddr.of(gw, gw.bits));
    }
    const fib = (f: Family) => new Fib(new RouteTable(f, tables.get(f)!));
    const ns = b.addNetns(key, 'pod', pod.nodeName, false, tables.get(4)!.length > 0 ? fib(4) : EMPTY_FIB4, tables.get(6)!.length > 0 ? fib(6) : EMPTY_FIB6);
    const eth0 = b.addLink(ns, 'eth0', 'veth', true, eth0Addrs);
    const host = b.addLink(node.ns, vethName, 'veth', true, hostAddrs, false, { mac });
    b.pair(eth0, host);
    if (options.gateway === 'link-local') ns.neigh = [{ dst: LINK_LOCAL_GATEWAY, lladdr: mac, dev: ETH0 }];
    for (const a of addrs) node.own.get(a.family)!.push(linkRoute(Prefix.of(a, a.bits), host.index));
  });

  for (const { ns, own } of nodes.values()) {
    ns.fib4 = new Fib(new RouteTable(4, own.get(4)!));
    ns.fib6 = new Fib(new RouteTable(6, own.get(6)!));
  }
  return { fabric: b.build(), hostNetworkPods };
}
