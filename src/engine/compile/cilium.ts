// Cilium with native routing and auto-direct-node-routes (no overlay): no bridge. Per node `cilium_host` (one end of
// the veth pair cilium_host/cilium_net) holds the router IP (the node's `network.cilium.io/ipv4-cilium-host`
// annotation, or else the first host address of its pod CIDR, as a /32); where the node names its health IP
// (`ipv4-health-ip`), the cilium-health endpoint is a netns `<node>/cilium-health` behind `lxc_health`, as a pod is;
// per pod a veth pair: the pod's eth0 holds the pod IP as a /32 with `<router ip> dev eth0 scope link` and `default via
// <router ip> dev eth0`, the host end is `lxc` + 12 hex digits with no address and `<pod ip> dev lxc…` on the node
// (endpoint routes). Every node routes every other node's pod CIDR `via <that node> dev eth0`
// (auto-direct-node-routes), from one table they share as in bridge.ts.
//
// With `routing: tunnel` the other nodes' pod CIDRs go through `cilium_vxlan` (UDP 8472) or `cilium_geneve` (UDP 6081)
// instead: devices in external (collect_md) mode whose far end Cilium's BPF program takes from its ipcache (every
// node's pod CIDR → that node's address), not from the kernel's neighbours. Kernel routes do not take that decision;
// the compiled `<pod CIDR> dev cilium_vxlan` stands for it and traces say so. The pods' veths get MTU 1450.
//
// Cilium's BPF program on the lxc device answers the pod's ARP and NDP for its gateway; the kernel model gets the same
// answers from proxy_arp on the lxc end (the node owns the router IP on cilium_host, and Linux answers ARP for it on
// any link) and, for IPv6, from a proxy NDP entry for the router's IPv6 address on the lxc end. IPv6 is the same as
// IPv4 with /128 addresses.
import type { Addr, Family } from '../addr.js';
import { IfAddr } from '../ifaddr.js';
import { Prefix } from '../prefix.js';
import { Fib, RouteTable } from '../fib.js';
import type { Route } from '../route.js';
import { FabricBuilder, type IpcacheEntry, type Netns } from '../fabric.js';
import type { ClusterDoc, CniDoc } from '../../topology/schema.js';

type CiliumCniDoc = Extract<CniDoc, { plugin: 'cilium' }>;
import { defaultRoute, hostVethName, linkRoute, podAddrs, placePods, viaRoute, type ClusterFabric } from './bridge.js';
import { ETH0, FAMILIES, addNode, connected, nodeAddr, underlayOf } from './underlay.js';
import { ciliumHealthAddr, ciliumHostAddr } from './annotations.js';

const CILIUM_HOST = 1;
/** After eth0, cilium_host and cilium_net. */
const TUNNEL = 3;
const TUNNEL_MTU = 1450;
const TUNNELS = { vxlan: { name: 'cilium_vxlan', port: 8472 }, geneve: { name: 'cilium_geneve', port: 6081 } } as const;

export function compileCilium(cluster: ClusterDoc, cni: CiliumCniDoc): ClusterFabric {
  const b = new FabricBuilder();
  const u = underlayOf(b, cluster);
  const tunnel = cni.routing === 'tunnel' ? TUNNELS[cni.tunnel ?? 'vxlan'] : undefined;
  const cidrOf = (node: ClusterDoc['nodes'][number], f: Family) => node.podCIDRs.map((t) => Prefix.parse(t)).find((p) => p.family === f);

  // The ipcache: every pod CIDR, of either family, behind its node's address (IPv4 first: the tunnel's underlay).
  const ipcache: IpcacheEntry[] = [];
  for (const node of cluster.nodes) {
    const endpoint = nodeAddr(node, 4) ?? nodeAddr(node, 6);
    for (const text of node.podCIDRs) if (endpoint !== undefined) ipcache.push({ prefix: Prefix.parse(text), tunnelEndpoint: endpoint });
  }
  // Per underlay subnet, the tables its nodes share: auto-direct-node-routes reaches only the nodes of the same subnet (a
  // node elsewhere gets no route, and its pods are left to the default route); the tunnel reaches every node.
  const routesFor = (local: number, f: Family): Route[] => {
    const routes: Route[] = [];
    for (const node of cluster.nodes) {
      const cidr = cidrOf(node, f);
      const next = nodeAddr(node, f);
      if (cidr === undefined) continue;
      if (tunnel !== undefined) routes.push(linkRoute(cidr, TUNNEL));
      else if (next !== undefined && u.subnetOf(node) === local) routes.push(viaRoute(cidr, next, ETH0));
    }
    return routes;
  };
  const sharedTables = u.subnets.map((_, local) => new Map(FAMILIES.map((f) => [f, new RouteTable(f, routesFor(local, f))])));
  const mtu = tunnel === undefined ? undefined : TUNNEL_MTU;

  interface NodeState {
    ns: Netns;
    own: Map<Family, Route[]>;
    podFib: Map<Family, Fib>;
    router6: Addr | undefined;
    subnet: number;
  }
  const nodes = new Map<string, NodeState>();
  for (const node of cluster.nodes) {
    const { ns, eth0Addrs } = addNode(b, node, u);
    // The router IP of each family, on cilium_host: the node's annotation, or else the first host address of its pod CIDR.
    const routers = new Map<Family, Addr>();
    for (const f of FAMILIES) {
      const cidr = cidrOf(node, f);
      const given = ciliumHostAddr(node, f);
      if (given !== undefined) routers.set(f, given);
      else if (cidr !== undefined) routers.set(f, cidr.addr.add(1));
    }
    // cilium_host and cilium_net are a veth pair inside the node, as Cilium creates them.
    const host = b.addLink(ns, 'cilium_host', 'veth', true, [...routers.values()].map((a) => IfAddr.of(a, a.bits)));
    b.pair(host, b.addLink(ns, 'cilium_net', 'veth', true, []));
    if (tunnel !== undefined) {
      const facts = { vni: 0, port: tunnel.port, local: undefined, underlay: -1, ipcache };
      b.addLink(ns, tunnel.name, cni.tunnel === 'geneve' ? 'geneve' : 'vxlan', true, [], false, { tunnel: facts });
    }
    const own = new Map<Family, Route[]>();
    const podFib = new Map<Family, Fib>();
    for (const f of FAMILIES) {
      const routes = connected(eth0Addrs, f, ETH0);
      // The node's own pod CIDR goes to cilium_host, where Cilium's BPF drops what no endpoint route claims (Cilium
      // writes it `via <router ip> dev cilium_host`; the gateway is the node's own address, so the kernel sends straight
      // out of cilium_host, which is what this route says). It also shadows the shared table's route to the node itself.
      const cidr = cidrOf(node, f);
      if (cidr !== undefined) routes.push(linkRoute(cidr, CILIUM_HOST));
      const gateway = u.gatewayOf(node, f);
      if (gateway !== undefined) routes.push(defaultRoute(gateway, ETH0));
      own.set(f, routes);
      const router = routers.get(f);
      const podRoutes = router === undefined ? [] : [linkRoute(Prefix.of(router, router.bits), ETH0), defaultRoute(router, ETH0)];
      podFib.set(f, new Fib(new RouteTable(f, podRoutes)));
    }
    nodes.set(node.name, { ns, own, podFib, router6: routers.get(6), subnet: u.subnetOf(node) });
  }

  // The health endpoint Cilium runs on every node (cilium-health, probed by the other nodes), where the node names its
  // address: a netns of its own behind lxc_health, as a pod is.
  for (const node of cluster.nodes) {
    const state = nodes.get(node.name)!;
    const addrs = FAMILIES.map((f) => ciliumHealthAddr(node, f)).filter((a) => a !== undefined);
    if (addrs.length === 0) continue;
    const ns = b.addNetns(`${node.name}/cilium-health`, 'host', node.name, false, state.podFib.get(4)!, state.podFib.get(6)!);
    attach(state, ns, addrs, 'lxc_health');
  }

  /** A veth pair from an endpoint's eth0 to the node, and the node's route to each of its addresses. */
  function attach(node: NodeState, ns: Netns, addrs: Addr[], hostName: string) {
    const eth0 = b.addLink(ns, 'eth0', 'veth', true, addrs.map((a) => IfAddr.of(a, a.bits)), false, { mtu });
    // Cilium's BPF program answers the endpoint's ARP and NDP for its gateway; proxy ARP and a proxy NDP entry do it here.
    const proxyNdp = addrs.some((a) => a.family === 6) && node.router6 !== undefined ? [node.router6] : [];
    const lxc = b.addLink(node.ns, hostName, 'veth', true, [], true, { mtu, proxyNdp });
    b.pair(eth0, lxc);
    for (const a of addrs) node.own.get(a.family)!.push(linkRoute(Prefix.of(a, a.bits), lxc.index));
  }

  const hostNetworkPods = placePods(cluster, nodes, (pod, key, node) => {
    const addrs = podAddrs(pod);
    const ns = b.addNetns(key, 'pod', pod.nodeName, false, node.podFib.get(4)!, node.podFib.get(6)!);
    attach(node, ns, addrs, hostVethName('lxc', key, 12));
  });
  for (const { ns, own, subnet } of nodes.values()) {
    ns.fib4 = new Fib(new RouteTable(4, own.get(4)!), sharedTables[subnet]!.get(4));
    ns.fib6 = new Fib(new RouteTable(6, own.get(6)!), sharedTables[subnet]!.get(6));
  }
  return { fabric: b.build(), hostNetworkPods };
}
