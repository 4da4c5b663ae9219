// Calico's BGP data path (no overlay): no bridge. Per pod a veth pair: the pod's eth0 holds the pod IP as a /32 (/128)
// with `169.254.1.1 dev eth0 scope link` and `default via 169.254.1.1 dev eth0`; the host end `cali` + 11 hex digits
// has no address and proxy_arp on, so the node answers ARP for 169.254.1.1 (Linux answers by proxy only for an address
// it would route out of another link: a node without a route to 169.254.1.1 would leave its pods' gateway unresolved,
// so a node whose gateway network.gateway does not give gets an assumed one, see underlay.ts). On the node `<pod ip> dev cali… scope link` per local pod.
// Calico's IPAM hands out addresses in blocks (/26 by default) that belong to a node (given as ipamBlocks, or else what
// the node shows: the block of its tunnel address annotation and the blocks of its pods' IPs; only a node that shows
// neither gets the first block of its pod CIDR, which Calico's pools ignore): the owning node holds `blackhole <block>`
// (an unassigned address in it is dropped there) and BIRD gives every other node `<block> via <owner> dev eth0`. A pod
// outside every block of its node gets its /32 route on its node only. IPv6 is the same with /122 blocks and the host
// end's link-local address fe80::ecee:eeff:feee:eeee (every cali interface has the MAC ee:ee:ee:ee:ee:ee) as the pods'
// gateway.
//
// As in bridge.ts, the routes to remote blocks live in one table every node shares; a node's own blackhole shadows the
// shared entry for its own block, so 5,000 nodes hold one copy of the block routes, not 5,000.
//
// The overlay modes carry pod traffic between nodes in a tunnel. ipip: every node has tunl0 (IP-in-IP, no local or
// remote, MTU 1480) holding its tunnel address (its `projectcalico.org/IPv4IPIPTunnelAddr` annotation, or else the
// first free address of its first block) as a /32, and the remote blocks go `via <node> dev tunl0 onlink`: the route's
// gateway is the outer destination. vxlan: `vxlan.calico` (VNI 4096, UDP 4789, MTU 1450) holds the tunnel address, the
// remote blocks go `via <that node's tunnel address> dev vxlan.calico onlink`, and Felix writes a permanent neighbour
// (tunnel address → the node's VTEP MAC) and an FDB entry (MAC → node address) per node; IPv6 blocks the same through
// `vxlan-v6.calico` (MTU 1430, its IPv6 tunnel address, the outer packets between the nodes' IPv6 addresses). The pods'
// veths get the smallest tunnel MTU. `crossSubnet` encapsulates only between nodes on different subnets
// (network.subnets). In ipip mode IPv6 blocks are routed natively: Calico's IP-in-IP is IPv4 only.
import { Addr, type Family } from '../addr.js';
import { IfAddr } from '../ifaddr.js';
import { Prefix } from '../prefix.js';
import { Fib, RouteTable } from '../fib.js';
import { Route } from '../route.js';
import { FabricBuilder, type FdbEntry, type Neighbour, type Netns } from '../fabric.js';
import type { ClusterDoc, CniDoc } from '../../topology/schema.js';

type CalicoCniDoc = Extract<CniDoc, { plugin: 'calico' }>;
import { defaultRoute, deviceMac, hostVethName, linkRoute, podAddrs, placePods, via, type ClusterFabric } from './bridge.js';
import { ETH0, FAMILIES, addNode, connected, nodeAddr, underlayOf } from './underlay.js';
import { EMPTY_FIB4, EMPTY_FIB6 } from './fabric.js';
import { calicoAnyTunnelAddr, calicoTunnelAddr, flannelVtepMac } from './annotations.js';
import { FLANNEL_PORT } from './flannel.js';

export const CALICO_GATEWAY4 = Addr.parse('169.254.1.1');
const TUNNEL = 1; // the first tunnel device's index on every node: right after eth0
const VXLAN_VNI = 4096;
const VXLAN_PORT = 4789;
/** The underlay's 1500 less the outer headers: IPv4 20 (IP-in-IP) or 50 (VXLAN), IPv6 70 (VXLAN). */
const MTU = { ipip: 1480, vxlan: 1450, vxlan6: 1430 } as const;
export const CALICO_GATEWAY6 = Addr.parse('fe80::ecee:eeff:feee:eeee');
const BIRD = 'bird';

/**
 * The IPAM blocks of every node, per node name: given ones; or else the block of the node's tunnel address (its
 * annotation: Calico takes the tunnel address from the node's first block), then the blocks its pods' IPs are in, and
 * only for a node that shows neither, the first block of its pod CIDR (kubeadm's pod CIDR is not Calico's: its pools
 * ignore it).
 */
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
    const own = blocks.get(node.name)!;
    const mine: Prefix[] = [];
    const pods = (podsOf.get(node.name) ?? []).sort((a, b) => a.compare(b));
    for (const family of FAMILIES) {
      const tunnel = calicoAnyTunnelAddr(node, family);
      if (tunnel !== undefined) own.push(Prefix.of(tunnel, size(family)));
      const inFamily = pods.filter((a) => a.family === family);
      const cidr = node.podCIDRs.map((t) => Prefix.parse(t)).find((c) => c.family === family);
      if (tunnel === undefined && inFamily.length === 0) {
        // Nothing shows where Calico allocates for this node: its pod CIDR's first block stands in.
        if (cidr !== undefined) own.push(cidr.bits >= size(family) ? cidr : Prefix.of(cidr.addr, size(family)));
        continue;
      }
      // A pod CIDR no larger than a block that holds the node's pods is its block (blockSize as kubeadm's CIDR).
      if (tunnel === undefined && cidr !== undefined && cidr.bits >= size(family) && inFamily.some((a) => cidr.contains(a))) own.push(cidr);
      for (const a of inFamily) {
        if (own.some((b) => b.contains(a)) || mine.some((b) => b.contains(a))) continue;
        const block = Prefix.of(a, size(family));
        mine.push(block);
        carved.push({ node: node.name, block });
      }
    }
  }
  // A block carved from a pod IP that another node's block overlaps is left out: the pod's address was borrowed from
  // that block, and it gets its /32 route only.
  // Carved blocks have the block size S of their family: a prefix overlaps one when it holds it (a prefix of S bits or
  // fewer: few, scanned) or lies in it (more bits: its first S bits are the block), looked up by text, so that 5,000
  // nodes take milliseconds rather than a scan of every block per block.
  if (carved.length > 0) {
    const shorter: Prefix[] = [];
    const within = new Set<string>();
    const add = (b: Prefix) => {
      const bits = size(b.family);
      if (b.bits >= bits) within.add(Prefix.of(b.addr, bits).toString());
      if (b.bits < bits) shorter.push(b);
    };
    for (const list of blocks.values()) for (const b of list) add(b);
    for (const { node, block } of carved) {
      if (within.has(block.toString()) || shorter.some((b) => b.contains(block.addr))) continue;
      add(block);
      blocks.get(node)!.push(block);
    }
  }
  return blocks;
}

/**
 * The tunnel address of each node that has a block of `family`: its annotation, or else its first such block's first
 * address no pod holds.
 */
function tunnelAddresses(cluster: ClusterDoc, blocks: Map<string, Prefix[]>, family: Family, mode: 'ipip' | 'vxlan'): Map<string, Addr> {
  const taken = new Set((cluster.pods ?? []).flatMap((p) => podAddrs(p).map((a) => a.toString())));
  const out = new Map<string, Addr>();
  for (const node of cluster.nodes) {
    const given = calicoTunnelAddr(node, family, mode);
    if (given !== undefined) {
      out.set(node.name, given);
      continue;
    }
    const block = blocks.get(node.name)!.find((x) => x.family === family);
    if (block === undefined) continue;
    let a = block.addr;
    while (taken.has(a.toString()) && block.contains(a.add(1))) a = a.add(1);
    out.set(node.name, a);
  }
  return out;
}

/**
 * Canal: flannel carries the packets between the nodes (its vxlan or host-gw backend), Calico attaches the pods. Each
 * node's pod CIDR is its one block (Calico's CNI plugin allocates with host-local from it), flannel.<VNI> holds the
 * CIDR's first address and the VTEP MAC of backend-data, and there is neither BIRD nor a blackhole.
 */
export interface CanalOptions {
  backend: 'vxlan' | 'host-gw';
  vni: number;
}

export function compileCalico(cluster: ClusterDoc, cni: CalicoCniDoc, canal?: CanalOptions): ClusterFabric {
  const b = new FabricBuilder();
  // Without the nodes' default route Calico's pods reach nothing, not even each other: a gateway is assumed if none is given.
  const u = underlayOf(b, cluster, undefined, true);
  const blocks =
    canal === undefined ? calicoBlocks(cluster, cni) : new Map(cluster.nodes.map((n) => [n.name, n.podCIDRs.map((t) => Prefix.parse(t))]));
  const mode = canal === undefined ? (cni.mode ?? 'ipip') : canal.backend === 'vxlan' ? 'vxlan' : 'bgp';
  // The families carried in a tunnel: IPv4 in ipip mode (Calico has no IPv6 IP-in-IP), both in vxlan mode. Each has its
  // device, at the same index on every node.
  const encapsulated = FAMILIES.filter(
    (f) => mode !== 'bgp' && (f === 4 || mode === 'vxlan') && cluster.nodes.some((n) => blocks.get(n.name)!.some((x) => x.family === f)),
  );
  const devIndex = (f: Family) => TUNNEL + encapsulated.indexOf(f);
  const devName = (f: Family) =>
    canal !== undefined ? (f === 4 ? `flannel.${canal.vni}` : `flannel-v6.${canal.vni}`) : mode === 'ipip' ? 'tunl0' : f === 4 ? 'vxlan.calico' : 'vxlan-v6.calico';
  const tunnelAddrs = new Map(
    encapsulated.map((f) => [
      f,
      canal === undefined
        ? tunnelAddresses(cluster, blocks, f, mode === 'ipip' ? 'ipip' : 'vxlan')
        : new Map(cluster.nodes.flatMap((n) => blocks.get(n.name)!.filter((x) => x.family === f).map((x) => [n.name, x.addr] as const))),
    ]),
  );
  const byName = new Map(cluster.nodes.map((n) => [n.name, n]));
  const mac = (node: string, f: Family) =>
    (canal === undefined ? undefined : flannelVtepMac(byName.get(node)!, f)) ?? deviceMac(`${node}/${devName(f)}`);

  const neigh: Neighbour[] = [];
  const fdb: FdbEntry[] = [];
  for (const node of cluster.nodes) {
    for (const f of mode === 'vxlan' ? encapsulated : []) {
      const tunnelAddr = tunnelAddrs.get(f)!.get(node.name);
      const next = nodeAddr(node, f);
      if (tunnelAddr === undefined || next === undefined) continue;
      neigh.push({ dst: tunnelAddr, lladdr: mac(node.name, f), dev: devIndex(f) });
      fdb.push({ mac: mac(node.name, f), dev: devIndex(f), dst: next });
    }
  }

  // The table the nodes of subnet `local` share: every block via its node (what BIRD learns from the other nodes),
  // through the tunnel unless crossSubnet keeps a node of the same subnet native. BIRD resolves the next hop of a node on
  // another subnet recursively, through the router.
  const sharedTables = u.subnets.map((_, local) => {
    const shared = new Map<Family, Route[]>(FAMILIES.map((f) => [f, []]));
    for (const node of cluster.nodes) {
      const near = u.subnetOf(node) === local;
      for (const block of blocks.get(node.name)!) {
        const f = block.family;
        const next = nodeAddr(node, f);
        if (next === undefined) continue;
        const tunnelAddr = tunnelAddrs.get(f)?.get(node.name);
        const encap = encapsulated.includes(f) && !(cni.crossSubnet === true && near);
        let nh = [{ gateway: next, dev: ETH0, onlink: false, weight: 1 }];
        if (encap && mode === 'ipip') nh = [{ gateway: next, dev: devIndex(f), onlink: true, weight: 1 }];
        else if (encap && tunnelAddr !== undefined) nh = [{ gateway: tunnelAddr, dev: devIndex(f), onlink: true, weight: 1 }];
        else if (!encap && !near) {
          const router = u.router?.addrs[local]?.get(f);
          nh = [{ gateway: router ?? next, dev: ETH0, onlink: router === undefined, weight: 1 }];
        }
        const protocol = (encap && mode === 'vxlan') || canal !== undefined ? undefined : BIRD;
        shared.get(f)!.push(new Route(block, 'unicast', f === 6 ? 1024 : 0, nh, 'global', protocol, undefined));
      }
    }
    return new Map(FAMILIES.map((f) => [f, new RouteTable(f, shared.get(f)!)]));
  });

  // Every pod's table is the same: the gateway on eth0, and the default route via it.
  const gateways: Record<Family, Addr> = { 4: CALICO_GATEWAY4, 6: CALICO_GATEWAY6 };
  const podFib = (f: Family) =>
    new Fib(new RouteTable(f, f === 4 ? [linkRoute(Prefix.of(gateways[4], 32), ETH0), defaultRoute(gateways[4], ETH0)] : [defaultRoute(gateways[6], ETH0)]));
  const podFib4 = podFib(4);
  const podFib6 = podFib(6);

  const nodes = new Map<string, { ns: Netns; own: Map<Family, Route[]>; subnet: number }>();
  // The pods' veths take the smallest MTU of the tunnels.
  const mtu = encapsulated.length === 0 ? undefined : Math.min(...encapsulated.map((f) => MTU[mode === 'ipip' ? 'ipip' : f === 4 ? 'vxlan' : 'vxlan6']));
  for (const node of cluster.nodes) {
    const { ns, eth0Addrs } = addNode(b, node, u);
    for (const f of encapsulated) {
      const a = tunnelAddrs.get(f)!.get(node.name);
      const addrs = a === undefined ? [] : [IfAddr.of(a, a.bits)];
      if (mode === 'ipip') {
        const tunnel = { vni: 0, port: 0, local: undefined, underlay: -1, ipcache: [] };
        b.addLink(ns, devName(f), 'ipip', true, addrs, false, { mtu: MTU.ipip, tunnel });
      } else {
        const [vni, port] = canal === undefined ? [VXLAN_VNI, VXLAN_PORT] : [canal.vni, FLANNEL_PORT];
        const tunnel = { vni, port, local: nodeAddr(node, f), underlay: ETH0, ipcache: [] };
        b.addLink(ns, devName(f), 'vxlan', true, addrs, false, { mtu: MTU[f === 4 ? 'vxlan' : 'vxlan6'], mac: mac(node.name, f), tunnel });
      }
    }
    if (mode === 'vxlan') {
      ns.neigh = neigh;
      ns.fdb = fdb;
    }
    const own = new Map<Family, Route[]>(
      FAMILIES.map((f) => {
        const routes = connected(eth0Addrs, f, ETH0);
        const gateway = u.gatewayOf(node, f);
        if (gateway !== undefined) routes.push(defaultRoute(gateway, ETH0));
        for (const block of blocks.get(node.name)!) {
          if (block.family !== f) continue;
          const metric = f === 6 ? 1024 : 0;
          if (canal === undefined) routes.push(new Route(block, 'blackhole', metric, [], 'global', BIRD, undefined));
          // Canal's node has no route of its own pod CIDR: an address of it no pod has follows the default route. The
          // shared table's route to every node's CIDR would take it into the tunnel, so the default's next hop shadows
          // it here (without a gateway of the family the kernel finds no route: unreachable says so).
          else if (gateway !== undefined) routes.push(new Route(block, 'unicast', metric, via(gateway, ETH0), 'global', undefined, undefined));
          else routes.push(new Route(block, 'unreachable', metric, [], 'global', undefined, undefined));
        }
        return [f, routes];
      }),
    );
    nodes.set(node.name, { ns, own, subnet: u.subnetOf(node) });
  }

  const hostNetworkPods = placePods(cluster, nodes, (pod, key, node) => {
    const addrs = podAddrs(pod);
    // A pod gets the routes of the families it has an address in.
    const has = (f: Family) => addrs.some((a) => a.family === f);
    const ns = b.addNetns(key, 'pod', pod.nodeName, false, has(4) ? podFib4 : EMPTY_FIB4, has(6) ? podFib6 : EMPTY_FIB6);
    const eth0 = b.addLink(ns, 'eth0', 'veth', true, addrs.map((a) => IfAddr.of(a, a.bits)), false, { mtu });
    const hostAddrs = has(6) ? [IfAddr.of(CALICO_GATEWAY6, 64)] : [];
    const host = b.addLink(node.ns, hostVethName('cali', key, 11), 'veth', true, hostAddrs, true, { mtu });
    b.pair(eth0, host);
    for (const a of addrs) node.own.get(a.family)!.push(linkRoute(Prefix.of(a, a.bits), host.index));
  });

  for (const { ns, own, subnet } of nodes.values()) {
    ns.fib4 = new Fib(new RouteTable(4, own.get(4)!), sharedTables[subnet]!.get(4));
    ns.fib6 = new Fib(new RouteTable(6, own.get(6)!), sharedTables[subnet]!.get(6));
  }
  return { fabric: b.build(), hostNetworkPods };
}
