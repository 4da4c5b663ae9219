// Seeded random topologies for the conformance suite: a bridge host-gw cluster of 2-6 nodes and 1-4 pods per node,
// compiled and written back as a fabric document, then given up to two faults of the kinds operators meet: a deleted
// route, a blackhole, a wrong gateway, a downed veth, forwarding off, a routing loop between two nodes.
import { compileTopology } from '../../src/engine/topology.js';
import { materialise } from '../../src/engine/materialise.js';
import type { ClusterDoc, FabricDoc, NetnsDoc } from '../../src/topology/schema.js';

export interface Generated {
  seed: number;
  fabric: FabricDoc;
  faults: string[];
  /** Addresses worth tracing to besides the pods: unassigned pod IPs, outside addresses, a looped prefix. */
  extraDestinations: string[];
}

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]!;
  return { next, int, pick };
}

export function generate(seed: number): Generated {
  const r = rng(seed);
  const nodes = r.int(2, 6);
  const withGateway = r.next() < 0.5;
  const cluster: ClusterDoc = {
    nodes: [],
    pods: [],
    cni: { plugin: 'bridge', routes: 'host-gw' },
    network: withGateway ? { cidr: '192.168.0.0/24', gateway: '192.168.0.1' } : { cidr: '192.168.0.0/24' },
  };
  for (let i = 0; i < nodes; i++) {
    const name = `node-${i}`;
    cluster.nodes.push({ name, addresses: [{ type: 'InternalIP', address: `192.168.0.${11 + i}` }], podCIDRs: [`10.1.${i}.0/24`] });
    const pods = r.int(1, 4);
    for (let p = 0; p < pods; p++) {
      cluster.pods!.push({ namespace: 'default', name: `p${i}-${p}`, nodeName: name, podIPs: [`10.1.${i}.${10 + p}`] });
    }
  }
  const fabric = materialise(compileTopology({ form: 'cluster', cluster }).fabric);
  const nodeNs = fabric.netns.filter((n) => n.kind === 'node');
  const podNs = fabric.netns.filter((n) => n.kind === 'pod');
  const extraDestinations = ['8.8.8.8', ...nodeNs.map((_, i) => `10.1.${i}.200`)];
  const faults: string[] = [];
  const routesOf = (n: NetnsDoc) => (n.routes ??= []);

  const kinds = ['delete-route', 'blackhole', 'wrong-gateway', 'veth-down', 'forwarding-off', 'loop'] as const;
  const count = r.int(0, 2);
  for (let f = 0; f < count; f++) {
    const kind = r.pick(kinds);
    const node = r.pick(nodeNs);
    const remote = routesOf(node).filter((x) => x.dst !== 'default');
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
        const ip = pod.links[0]!.addresses![0]!.split('/')[0]!;
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
        const other = nodeNs.find((n) => n !== node)!;
        const ip = (n: NetnsDoc) => n.links.find((l) => l.name === 'eth0')!.addresses![0]!.split('/')[0]!;
        routesOf(node).push({ dst: '10.99.0.0/16', gateway: ip(other), dev: 'eth0' });
        routesOf(other).push({ dst: '10.99.0.0/16', gateway: ip(node), dev: 'eth0' });
        extraDestinations.push('10.99.0.1');
        faults.push(`loop: ${node.name} <-> ${other.name} for 10.99.0.0/16`);
        break;
      }
    }
  }
  return { seed, fabric, faults, extraDestinations };
}
