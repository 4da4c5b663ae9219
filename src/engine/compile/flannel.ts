// Flannel. The host-gw backend is the bridge data path with the bridge named cni0. The vxlan backend adds per node a
// VXLAN device flannel.<VNI> (VNI 1, UDP 8472, MTU 1450: the underlay's 1500 less 50 bytes of headers) holding the
// first address of the node's subnet as a /32 (flannel-v6.<VNI>, MTU 1430, and the subnet's first IPv6 address as a
// /128 for IPv6, the outer packets then being IPv6 between the nodes' IPv6 addresses), and for every other node:
// `<subnet> via <subnet's first address> dev flannel.1 onlink`, a permanent neighbour entry giving that address the
// other node's VTEP MAC (its `flannel.alpha.coreos.com/backend-data` VtepMAC, or else one derived from its name), and
// an FDB entry sending the MAC to the other node's address. The packet is encapsulated on flannel.1, the outer UDP
// packet is routed again in the node and carried on the underlay, and the other node's flannel.1 decapsulates it. cni0,
// the pods' eth0 and their host ends get the smallest MTU of the VXLAN devices.
//
// With `pods: calico` (Canal) the pods attach as Calico attaches them, no cni0: see compileCalico's CanalOptions.
//
// `directRouting: true` gives the nodes on the sender's own underlay subnet host-gw routes instead (network.subnets).
// The neighbour and FDB lists are shared by every node: an entry for the node itself is never looked up (its own subnet
// is on cni0), and is not written back when the fabric is materialised.
import type { Family } from '../addr.js';
import { IfAddr } from '../ifaddr.js';
import { Prefix } from '../prefix.js';
import { Route } from '../route.js';
import type { FabricBuilder, FdbEntry, Neighbour, Netns } from '../fabric.js';
import type { ClusterDoc, CniDoc } from '../../topology/schema.js';
import { compileBridge, deviceMac, type ClusterFabric, type Overlay } from './bridge.js';
import { ETH0, nodeAddr, type Underlay } from './underlay.js';
import { flannelVtepMac } from './annotations.js';
import { compileCalico } from './calico.js';

type FlannelCniDoc = Extract<CniDoc, { plugin: 'flannel' }>;
type ClusterNode = ClusterDoc['nodes'][number];

export const FLANNEL_PORT = 8472;
/**
 * The underlay's 1500 less the outer headers: 50 bytes over IPv4, 70 over IPv6 (the kernel refuses a larger MTU on a
 * VXLAN device). cni0 and the pods take the smallest of the devices a node has.
 */
const VTEP_MTU: Record<Family, number> = { 4: 1450, 6: 1430 };
/** eth0, cni0, then the VXLAN devices (IPv4 first). */
const FIRST_VTEP = 2;

export function compileFlannel(cluster: ClusterDoc, cni: FlannelCniDoc): ClusterFabric {
  if (cni.pods === 'calico') {
    const canal = { backend: cni.backend ?? 'vxlan', vni: cni.vni ?? 1 };
    return compileCalico(cluster, { plugin: 'calico', crossSubnet: cni.directRouting === true }, canal);
  }
  if ((cni.backend ?? 'vxlan') === 'host-gw') return compileBridge(cluster, { bridgeName: 'cni0', routes: 'host-gw' });
  const overlay = vxlanOverlay(cluster, cni.vni ?? 1, cni.directRouting === true);
  return compileBridge(cluster, { bridgeName: 'cni0', routes: 'host-gw', overlay });
}

function vxlanOverlay(cluster: ClusterDoc, vni: number, directRouting: boolean): Overlay {
  // A device per family the cluster has subnets in, at the same index on every node.
  const families = ([4, 6] as const).filter((f) => cluster.nodes.some((n) => subnet(n, f) !== undefined));
  const devName = (f: Family) => (f === 4 ? `flannel.${vni}` : `flannel-v6.${vni}`);
  const devIndex = (f: Family) => FIRST_VTEP + families.indexOf(f);
  // flanneld publishes each VTEP's MAC in the node's backend-data (what `ip neigh show dev flannel.1` shows on the others).
  const mac = (node: ClusterNode, f: Family) => flannelVtepMac(node, f) ?? deviceMac(`${node.name}/${devName(f)}`);

  const neigh: Neighbour[] = [];
  const fdb: FdbEntry[] = [];
  for (const node of cluster.nodes) {
    for (const f of families) {
      const s = subnet(node, f);
      const underlay = nodeAddr(node, f);
      if (s === undefined || underlay === undefined) continue;
      neigh.push({ dst: s.addr, lladdr: mac(node, f), dev: devIndex(f) });
      fdb.push({ mac: mac(node, f), dev: devIndex(f), dst: underlay });
    }
  }

  return {
    mtu: Math.min(...families.map((f) => VTEP_MTU[f])),
    addLinks(b: FabricBuilder, ns: Netns, node: ClusterNode) {
      for (const f of families) {
        const s = subnet(node, f);
        const addrs = s === undefined ? [] : [IfAddr.of(s.addr, f === 4 ? 32 : 128)];
        const tunnel = { vni, port: FLANNEL_PORT, local: nodeAddr(node, f), underlay: ETH0, ipcache: [] };
        b.addLink(ns, devName(f), 'vxlan', true, addrs, false, { mtu: VTEP_MTU[f], mac: mac(node, f), tunnel });
      }
      ns.neigh = neigh;
      ns.fdb = fdb;
    },
    route(cidr: Prefix, node: ClusterNode, local: number, u: Underlay) {
      if (nodeAddr(node, cidr.family) === undefined || (directRouting && u.subnetOf(node) === local)) return undefined;
      const nh = [{ gateway: cidr.addr, dev: devIndex(cidr.family), onlink: true, weight: 1 }];
      return new Route(cidr, 'unicast', cidr.family === 6 ? 1024 : 0, nh, 'global', undefined, undefined);
    },
  };
}

function subnet(node: ClusterNode, family: Family): Prefix | undefined {
  return node.podCIDRs.map((t) => Prefix.parse(t)).find((p) => p.family === family);
}
