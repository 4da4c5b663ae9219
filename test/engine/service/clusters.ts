// Clusters with Services for the engine's Service tests: two nodes on the bridge data path with a default route (via
// 192.168.0.1, as every node kube-proxy runs on has one: without a route to a ClusterIP the node cannot send to it, and
// rejects nothing), a client pod on each, and default/web (ClusterIP 10.96.0.10, port 80 → 8080) with a ready endpoint
// on each node and a not-ready one.
import type { ClusterDoc } from '../../../src/topology/schema.js';

export function serviceCluster(): ClusterDoc {
  return {
    nodes: [
      { name: 'node-a', addresses: [{ type: 'InternalIP', address: '192.168.0.11' }], podCIDRs: ['10.1.1.0/24'] },
      { name: 'node-b', addresses: [{ type: 'InternalIP', address: '192.168.0.12' }], podCIDRs: ['10.1.2.0/24'] },
    ],
    network: { cidr: '192.168.0.0/24', gateway: '192.168.0.1' },
    pods: [
      { name: 'client', nodeName: 'node-a', podIPs: ['10.1.1.2'] },
      { name: 'client-b', nodeName: 'node-b', podIPs: ['10.1.2.2'] },
      { name: 'web-a', nodeName: 'node-a', podIPs: ['10.1.1.10'] },
      { name: 'web-b', nodeName: 'node-b', podIPs: ['10.1.2.10'] },
      { name: 'web-c', nodeName: 'node-b', podIPs: ['10.1.2.11'] },
    ],
    services: [
      {
        metadata: { name: 'web', namespace: 'default' },
        spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
      },
    ],
    endpointSlices: [
      {
        metadata: { name: 'web-abc', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
        addressType: 'IPv4',
        endpoints: [
          { addresses: ['10.1.1.10'], conditions: { ready: true }, nodeName: 'node-a' },
          { addresses: ['10.1.2.10'], nodeName: 'node-b' },
          { addresses: ['10.1.2.11'], conditions: { ready: false, serving: false }, nodeName: 'node-b' },
        ],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    ],
  };
}
