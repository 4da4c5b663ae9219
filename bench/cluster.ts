// Generates Kubernetes-scale cluster documents: n nodes with a /24 pod CIDR each and `podsPerNode` pods, on one underlay,
// on any data path (bridge host-gw by default).
import type { CompiledTopology, Endpoint } from '../src/engine/topology.js';
import type { ClusterDoc, CniDoc } from '../src/topology/schema.js';

/** The data paths by the names the benchmarks take (the pod IPs are in 10.0.0.0/8, which weave takes as its subnet). */
export const DATA_PATHS: Record<string, CniDoc> = {
  'bridge-host-gw': { plugin: 'bridge', routes: 'host-gw' },
  'bridge-cloud': { plugin: 'bridge', routes: 'cloud' },
  'flannel-vxlan': { plugin: 'flannel', backend: 'vxlan' },
  'calico-bgp': { plugin: 'calico', mode: 'bgp' },
  'calico-ipip': { plugin: 'calico', mode: 'ipip' },
  'calico-vxlan': { plugin: 'calico', mode: 'vxlan' },
  'cilium-native': { plugin: 'cilium', routing: 'native' },
  'cilium-tunnel': { plugin: 'cilium', routing: 'tunnel' },
  weave: { plugin: 'weave', subnet: '10.0.0.0/8' },
};

export function generateCluster(nodes: number, podsPerNode: number, cni: CniDoc = DATA_PATHS['bridge-host-gw']!): ClusterDoc {
  if (nodes > 65_000 || podsPerNode > 250) throw new RangeError('at most 65,000 nodes and 250 pods per node');
  const doc: ClusterDoc = { nodes: [], pods: [], cni, network: { cidr: '172.16.0.0/16' } };
  for (let i = 0; i < nodes; i++) {
    const name = `node-${i}`;
    const host = i + 1;
    doc.nodes.push({
      name,
      addresses: [{ type: 'InternalIP', address: `172.16.${host >> 8}.${host & 255}` }],
      podCIDRs: [`10.${i >> 8}.${i & 255}.0/24`],
    });
    for (let p = 0; p < podsPerNode; p++) {
      doc.pods!.push({ namespace: 'default', name: `pod-${i}-${p}`, nodeName: name, podIPs: [{ ip: `10.${i >> 8}.${i & 255}.${p + 2}` }] });
    }
  }
  return doc;
}

/**
 * `n` random pod pairs of a generated cluster, resolved up front (a benchmark measures tracing, not name lookups): the
 * same pairs on every run, from a fixed seed.
 */
export function samplePairs(compiled: CompiledTopology, cluster: ClusterDoc, n: number): [Endpoint, Endpoint][] {
  let seed = 12345;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const pods = cluster.pods!;
  const pairs: [Endpoint, Endpoint][] = [];
  for (let i = 0; i < n; i++) {
    const a = pods[Math.floor(rand() * pods.length)]!;
    const b = pods[Math.floor(rand() * pods.length)]!;
    pairs.push([compiled.resolve(`default/${a.name}`, 'source'), compiled.resolve(`default/${b.name}`, 'destination')]);
  }
  return pairs;
}

/**
 * The cluster with `count` ClusterIP Services: Service k at 10.96.0.0/12 + k + 1, TCP 80 → 8080, its endpoints (one
 * EndpointSlice, all ready) the pods k*perService … k*perService+perService-1; kube-proxy iptables, clusterCIDR
 * 10.0.0.0/8.
 */
export function withServices(cluster: ClusterDoc, count: number, perService: number): ClusterDoc {
  const pods = cluster.pods!;
  const ip = (k: number) => `10.${96 + ((k + 1) >> 16)}.${((k + 1) >> 8) & 255}.${(k + 1) & 255}`;
  const services = Array.from({ length: count }, (_, k) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: 'default', name: `svc-${k}` },
    spec: { type: 'ClusterIP', clusterIP: ip(k), clusterIPs: [ip(k)], ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
  }));
  const endpointSlices = Array.from({ length: count }, (_, k) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: 'default', name: `svc-${k}-abcde`, labels: { 'kubernetes.io/service-name': `svc-${k}` } },
    addressType: 'IPv4',
    endpoints: Array.from({ length: perService }, (_, j) => {
      const pod = pods[(k * perService + j) % pods.length]!;
      const ip = pod.podIPs![0]!;
      return { addresses: [typeof ip === 'string' ? ip : ip.ip], conditions: { ready: true }, nodeName: pod.nodeName };
    }),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  }));
  return { ...cluster, services, endpointSlices, serviceCIDRs: ['10.96.0.0/12'], kubeProxy: { mode: 'iptables', clusterCIDR: '10.0.0.0/8' } } as ClusterDoc;
}
