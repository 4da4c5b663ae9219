// Seeded random topologies for the conformance suite: a cluster of 2-6 nodes and 1-4 pods per node on one of the data
// paths this kernel can realise (bridge host-gw or cloud routes, flannel host-gw or vxlan, calico bgp or vxlan, cilium
// native, weave, the routed ones: kindnet, the AWS VPC CNI, GKE, Azure CNI, and Canal: flannel's vxlan or host-gw between
// the nodes, Calico's cali veths for the pods; IP-in-IP and Geneve need kernel modules the test machines lack, and Cilium's tunnel is a BPF decision), compiled and written back as a fabric document, then given up to two faults of the kinds operators meet: a deleted
// route, a blackhole, a wrong gateway, a downed veth, forwarding off, a routing loop between two nodes; a node's
// connected route replaced by a route via another node, deleted, or never added (an address with noprefixroute); and in
// some, ECMP routes under known multipath hash seeds (see multipath()).
import { compileTopology } from '../../src/engine/topology.js';
import { seeded, type Rng } from '../helpers/rng.js';
import { materialise } from '../../src/engine/materialise.js';
import { linkAddress } from '../../src/engine/compile/fabric.js';
import type { DeletedConnected } from './realise.js';
import type { ClusterDoc, CniDoc, FabricDoc, LinkAddressDoc, LinkDoc, NetnsDoc } from '../../src/topology/schema.js';

/**
 * The data paths of the seeded topologies, one per seed in turn (seed % 8): taken without drawing from the seed's random
 * numbers, so that a seed's nodes, pods and faults are the same whatever its data path (seed 18, which other tests use
 * for its node that does not forward, stays bridge host-gw). Weave takes the pod IPs' range as its subnet.
 */
export const DATA_PATHS: readonly CniDoc[] = [
  { plugin: 'calico', mode: 'bgp' },
  { plugin: 'cilium', routing: 'native' },
  { plugin: 'bridge', routes: 'host-gw' },
  { plugin: 'flannel', backend: 'vxlan' },
  { plugin: 'bridge', routes: 'cloud' },
  { plugin: 'calico', mode: 'vxlan' },
  { plugin: 'flannel', backend: 'host-gw' },
  { plugin: 'weave', subnet: '10.1.0.0/16' },
];

/**
 * The data paths that route each pod by its /32 (routed.ts), in rounds 4 and 5 of every eight rounds of DATA_PATHS (seeds
 * 32-47, 96-111, ...: one subnet, then two), so that the seeds other tests name keep their data paths.
 */
export const ROUTED_DATA_PATHS: readonly CniDoc[] = [{ plugin: 'kindnet' }, { plugin: 'aws-vpc-cni' }, { plugin: 'gke' }, { plugin: 'azure-cni' }];

/**
 * Canal (flannel between the nodes, Calico's CNI plugin for the pods: a cali veth per pod with proxy ARP and a /32
 * route, no cni0), in rounds 6 and 7 of every eight (seeds 48-63, 112-127, ...: one subnet, then two).
 */
export const CANAL_DATA_PATHS: readonly CniDoc[] = [
  { plugin: 'flannel', backend: 'vxlan', pods: 'calico' },
  { plugin: 'flannel', backend: 'host-gw', pods: 'calico' },
];

function dataPathOf(seed: number): CniDoc {
  const round = Math.floor(seed / DATA_PATHS.length) % 8;
  if (round >= 6) return CANAL_DATA_PATHS[seed % CANAL_DATA_PATHS.length]!;
  return round >= 4 ? ROUTED_DATA_PATHS[seed % ROUTED_DATA_PATHS.length]! : DATA_PATHS[seed % DATA_PATHS.length]!;
}

/** Across subnets the overlays encapsulate only where they must. */
function crossing(cni: CniDoc): CniDoc {
  if (cni.plugin === 'flannel' && cni.backend === 'vxlan') return { ...cni, directRouting: true };
  if (cni.plugin === 'calico' && cni.mode === 'vxlan') return { ...cni, crossSubnet: true };
  return cni;
}

export interface Generated {
  seed: number;
  fabric: FabricDoc;
  /** The data path, e.g. "calico bgp". */
  dataPath: string;
  /** The data path ("data path calico bgp"), then the faults applied. */
  faults: string[];
  /** Addresses worth tracing to besides the pods: unassigned pod IPs, outside addresses, a looped prefix. */
  extraDestinations: string[];
  /** Connected routes the realiser deletes (`ip route del`); the fabric has their addresses noprefixroute. */
  deletedConnected: DeletedConnected[];
}

type Random = Rng;

const addressText = (a: LinkAddressDoc) => (typeof a === 'string' ? a : a.address);
/** The address of a link, without its prefix length. */
const ipOf = (l: LinkDoc, family: 4 | 6 = 4) => addressText(l.addresses!.find((a) => linkAddress(a).addr.family === family)!).split('/')[0]!;
const eth0 = (n: NetnsDoc) => n.links.find((l) => l.name === 'eth0')!;

/**
 * The addresses of a node whose connected routes a fault can take away: on its pod-side links (bridges, tunnels), up
 * and no bridge port, an IPv4 address shorter than /32 or a global IPv6 address. Not eth0's: the routes through the
 * underlay's gateways hang on its subnet.
 */
function connectedAddresses(node: NetnsDoc): { link: LinkDoc; index: number }[] {
  return node.links.flatMap((link) => {
    if (link.name === 'eth0' || link.up === false || link.master !== undefined) return [];
    return (link.addresses ?? []).flatMap((a, index) => {
      const { addr, bits } = linkAddress(a);
      const keep = typeof a === 'string' && (addr.family === 6 ? !addr.toString().startsWith('fe80:') : bits < 32);
      return keep ? [{ link, index }] : [];
    });
  });
}

/** `ip route replace <own pod CIDR> via <other node>`: the other node sends it back, and the packet loops. */
function replaceConnected(r: Random, node: NetnsDoc, nodeNs: readonly NetnsDoc[]): string | undefined {
  const candidates = connectedAddresses(node);
  if (candidates.length === 0) return undefined;
  const { link, index } = r.pick(candidates);
  const { prefix, addr } = linkAddress(link.addresses![index]!);
  // A gateway on the node's own subnet, as `ip route replace` accepts it.
  const own = linkAddress(eth0(node).addresses!.find((a) => linkAddress(a).addr.family === addr.family)!).prefix;
  const others = nodeNs.filter((n) => n !== node && own.contains(linkAddress(eth0(n).addresses!.find((a) => linkAddress(a).addr.family === addr.family)!).addr));
  if (others.length === 0) return undefined;
  const gateway = ipOf(eth0(r.pick(others)), addr.family);
  // IPv6 holds the connected route at metric 256, and `ip -6 route replace` without one adds at 1024 beside it.
  (node.routes ??= []).push({ dst: prefix.toString(), gateway, dev: 'eth0', ...(addr.family === 6 ? { metric: 256 } : {}) });
  return `${node.name}: ip route replace ${prefix} via ${gateway}${addr.family === 6 ? ' metric 256' : ''}`;
}

/** `ip route del <connected prefix>`: the kernel no longer reaches the subnet, though it still owns the address. */
function deleteConnected(r: Random, node: NetnsDoc, deleted: DeletedConnected[]): string | undefined {
  const candidates = connectedAddresses(node);
  if (candidates.length === 0) return undefined;
  const { link, index } = r.pick(candidates);
  const address = addressText(link.addresses![index]!);
  // The fabric form of a deleted connected route: an address the kernel derives none from.
  link.addresses![index] = { address, noprefixroute: true };
  const prefix = linkAddress(address).prefix.toString();
  deleted.push({ netns: node.name, prefix, dev: link.name });
  return `${node.name}: ip route del ${prefix} dev ${link.name}`;
}

/** An address added with noprefixroute. */
function noPrefixRoute(r: Random, node: NetnsDoc): string | undefined {
  const candidates = connectedAddresses(node);
  if (candidates.length === 0) return undefined;
  const { link, index } = r.pick(candidates);
  const address = addressText(link.addresses![index]!);
  link.addresses![index] = { address, noprefixroute: true };
  return `${node.name}: ${address} dev ${link.name} noprefixroute`;
}

/**
 * In about two topologies of five, a node loses a connected route: replaced, deleted, or never added (noprefixroute).
 * Drawn from numbers of its own, so that every seed keeps the other faults it always had (and seed 18 gets none: other
 * tests count what its node that does not forward cuts off).
 */
function connectedFault(seed: number, nodeNs: readonly NetnsDoc[], deleted: DeletedConnected[]): string | undefined {
  const r = seeded(seed ^ 0x85ebca6b);
  if (r.next() >= 0.4) return undefined;
  const node = r.pick(nodeNs);
  const kind = r.pick(['replace', 'delete', 'noprefixroute'] as const);
  if (kind === 'replace') return replaceConnected(r, node, nodeNs);
  return kind === 'delete' ? deleteConnected(r, node, deleted) : noPrefixRoute(r, node);
}

export function generate(seed: number): Generated {
  const r = seeded(seed);
  const nodes = r.int(2, 6);
  const withGateway = r.next() < 0.5;
  const cni = dataPathOf(seed);
  const dataPath = (cni.plugin === 'flannel' && cni.pods === 'calico' ? `canal ${cni.backend}` : Object.values(cni).join(' ')) + (Math.floor(seed / DATA_PATHS.length) % 2 === 1 ? ' on two subnets' : '');
  // Every other round of data paths puts the odd nodes on a second subnet behind a router: what host-gw cannot cross and
  // crossSubnet and directRouting are for. Decided without drawing from the seed's random numbers, as the data path is.
  const twoSubnets = Math.floor(seed / DATA_PATHS.length) % 2 === 1;
  const network = twoSubnets
    ? { subnets: ['192.168.0.0/24', '192.168.1.0/24'] }
    : withGateway
      ? { cidr: '192.168.0.0/24', gateway: '192.168.0.1' }
      : { cidr: '192.168.0.0/24' };
  // A third of the one-subnet topologies are dual-stack, on the data paths that route IPv6 (Weave allocates IPv4 only).
  const dualStack = !twoSubnets && seed % 3 === 1 && cni.plugin !== 'weave';
  const cluster: ClusterDoc = { nodes: [], pods: [], cni: twoSubnets ? crossing(cni) : cni, network };
  const hex = (n: number) => n.toString(16);
  for (let i = 0; i < nodes; i++) {
    const name = `node-${i}`;
    const address = `192.168.${twoSubnets ? i % 2 : 0}.${11 + i}`;
    const node = { name, addresses: [{ type: 'InternalIP' as const, address }], podCIDRs: [`10.1.${i}.0/24`] };
    if (dualStack) {
      node.addresses.push({ type: 'InternalIP', address: `fd00::${hex(11 + i)}` });
      node.podCIDRs.push(`fd01:0:0:${hex(i)}::/64`);
    }
    cluster.nodes.push(node);
    const pods = r.int(1, 4);
    for (let p = 0; p < pods; p++) {
      const podIPs = [`10.1.${i}.${10 + p}`, ...(dualStack ? [`fd01:0:0:${hex(i)}::${hex(10 + p)}`] : [])];
      cluster.pods!.push({ namespace: 'default', name: `p${i}-${p}`, nodeName: name, podIPs });
    }
  }
  const fabric = materialise(compileTopology({ form: 'cluster', cluster }).fabric);
  const nodeNs = fabric.netns.filter((n) => n.kind === 'node');
  // What holds routes worth breaking: the nodes, and the VPC router of cloud routes.
  const routers = fabric.netns.filter((n) => n.kind === 'node' || n.kind === 'router');
  const podNs = fabric.netns.filter((n) => n.kind === 'pod');
  // Unassigned pod IPs: .50 is in calico's block of the node (blackholed there), .200 outside it.
  const extraDestinations = ['8.8.8.8', ...nodeNs.flatMap((_, i) => [`10.1.${i}.50`, `10.1.${i}.200`])];
  if (dualStack) extraDestinations.push('2001:db8::1', ...nodeNs.map((_, i) => `fd01:0:0:${hex(i)}::50`));
  // The data path leads the list, so that every disagreement the suite prints says which compiler made the topology.
  const faults: string[] = [`data path ${dataPath}${dualStack ? ' dual-stack' : ''}`];
  const routesOf = (n: NetnsDoc) => (n.routes ??= []);

  const deletedConnected: DeletedConnected[] = [];
  const kinds = ['delete-route', 'blackhole', 'wrong-gateway', 'veth-down', 'forwarding-off', 'loop'] as const;
  const count = r.int(0, 2);
  for (let f = 0; f < count; f++) {
    const kind = r.pick(kinds);
    const node = r.pick(kind === 'delete-route' || kind === 'wrong-gateway' || kind === 'forwarding-off' ? routers : nodeNs);
    const remote = routesOf(node).filter((x) => x.dst !== 'default' && (kind !== 'wrong-gateway' || x.gateway?.includes('.') === true));
    switch (kind) {
      case 'delete-route': {
        if (remote.length === 0) break;
        const victim = r.pick(remote);
        node.routes = routesOf(node).filter((x) => x !== victim);
        faults.push(`${node.name}: route ${victim.dst} deleted`);
        break;
      }
      case 'blackhole': {
        const pod = r.pick(podNs);
        const ip = ipOf(pod.links[0]!);
        routesOf(node).push({ dst: ip, type: 'blackhole' });
        faults.push(`${node.name}: blackhole ${ip}`);
        break;
      }
      case 'wrong-gateway': {
        if (remote.length === 0) break;
        const victim = r.pick(remote);
        const wrong = r.next() < 0.5 ? `192.168.0.${11 + r.int(0, nodes - 1)}` : '192.168.0.99';
        victim.gateway = wrong;
        faults.push(`${node.name}: ${victim.dst} via ${wrong}`);
        break;
      }
      case 'veth-down': {
        const pod = r.pick(podNs);
        const hostSide = r.next() < 0.5;
        const peer = pod.links[0]!.peer!;
        const link = hostSide ? fabric.netns.find((n) => n.name === peer.netns)!.links.find((l) => l.name === peer.link)! : pod.links[0]!;
        link.up = false;
        faults.push(`${hostSide ? peer.netns : pod.name}: ${link.name} down`);
        break;
      }
      case 'forwarding-off':
        node.forwarding = false;
        faults.push(`${node.name}: forwarding off`);
        break;
      case 'loop': {
        // One loop per topology: a second one between the same nodes would add the same routes again (File exists).
        if (extraDestinations.includes('10.99.0.1')) break;
        const other = nodeNs.find((n) => n !== node)!;
        routesOf(node).push({ dst: '10.99.0.0/16', gateway: ipOf(eth0(other)), dev: 'eth0' });
        routesOf(other).push({ dst: '10.99.0.0/16', gateway: ipOf(eth0(node)), dev: 'eth0' });
        extraDestinations.push('10.99.0.1');
        faults.push(`loop: ${node.name} <-> ${other.name} for 10.99.0.0/16`);
        break;
      }
    }
  }
  const fault = connectedFault(seed, nodeNs, deletedConnected);
  if (fault !== undefined) faults.push(fault);
  multipath(seed, fabric, faults);
  return { seed, fabric, dataPath, faults, extraDestinations, deletedConnected };
}

/**
 * ECMP, in the topologies of three nodes or more but every third (seed 18, whose node that does not forward other tests
 * use, stays without): every node gets a known fib_multipath_hash_seed and a hash policy (0 or 1), and one node a
 * multipath route (2-4 next hops over the nodes of its subnet, weights 1-3) either to another node's pod CIDR (both
 * families where the nodes have them) or, nested behind a tunnel, to another node's own address (the underlay route an
 * overlay's outer packets take; the other next hops forward them). Drawn from random numbers of its own, so that every
 * other choice of a seed stays what it was.
 */
function multipath(seed: number, fabric: FabricDoc, faults: string[]): void {
  const r = seeded(seed * 7919 + 17);
  const nodes = fabric.netns.filter((n) => n.kind === 'node');
  if (nodes.length < 3 || seed % 3 === 0) return;
  const policy = r.int(0, 1) as 0 | 1;
  for (const n of nodes) {
    n.multipathHashPolicy = policy;
    n.multipathHashSeed = 1 + r.int(0, 0xfffffffe);
  }
  const addrs = (n: NetnsDoc, family: 4 | 6) =>
    (n.links.find((l) => l.name === 'eth0')?.addresses ?? []).map(addressText).filter((a) => a.includes(':') === (family === 6));
  const from = r.pick(nodes);
  const subnet = (n: NetnsDoc) => addrs(n, 4)[0]?.replace(/\.\d+\/\d+$/, '');
  const peers = nodes.filter((n) => n !== from && subnet(n) === subnet(from));
  if (peers.length < 2) return;
  const to = r.pick(peers);
  const via = [to, ...peers.filter((n) => n !== to)].slice(0, r.int(2, Math.min(4, peers.length)));
  const weights = via.map(() => r.int(1, 3));
  const tunnelled = from.links.some((l) => l.kind === 'vxlan') && r.next() < 0.7;
  for (const family of [4, 6] as const) {
    const gateways = via.map((n) => addrs(n, family)[0]?.split('/')[0]);
    if (addrs(from, family).length === 0 || gateways.some((g) => g === undefined)) continue;
    const dst = tunnelled ? `${gateways[0]}/${family === 4 ? 32 : 128}` : podCidr(to, family);
    if (dst === undefined) continue;
    from.routes = (from.routes ?? []).filter((x) => x.dst !== dst);
    from.routes.push({ dst, nexthops: gateways.map((gateway, k) => ({ gateway: gateway!, dev: 'eth0', weight: weights[k]! })) });
    faults.push(`${from.name}: ECMP ${dst} via ${via.map((n, k) => `${n.name}×${weights[k]}`).join(', ')}${tunnelled ? ' (the tunnel\'s underlay)' : ''}; hash policy ${policy}`);
  }
}

/** A node's pod CIDR in a family, as generate() numbers them (IPv6 only in a dual-stack topology). */
function podCidr(node: NetnsDoc, family: 4 | 6): string | undefined {
  const i = Number(node.name.replace('node-', ''));
  return family === 4 ? `10.1.${i}.0/24` : node.links.some((l) => l.addresses?.some((a) => addressText(a).startsWith('fd00::'))) ? `fd01:0:0:${i.toString(16)}::/64` : undefined;
}
