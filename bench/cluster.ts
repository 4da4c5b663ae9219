// Generates Kubernetes-scale cluster documents: n nodes with a /24 pod CIDR each and `podsPerNode` pods, on one underlay.
import type { ClusterDoc } from '../src/topology/schema.js';

export function generateCluster(nodes: number, podsPerNode: number): ClusterDoc {
  if (nodes > 65_000 || podsPerNode > 250) throw new RangeError('at most 65,000 nodes and 250 pods per node');
  const doc: ClusterDoc = { nodes: [], pods: [], cni: { plugin: 'bridge', routes: 'host-gw' }, network: { cidr: '172.16.0.0/16' } };
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
