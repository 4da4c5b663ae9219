// Topologies with Services, built in code for tests that need sizes no example file should hold.
import { example } from './examples.js';

const NODES = 100;
const PER_NODE = 100;

/**
 * 100 nodes with 100 endpoints each of the Service `default/big` (TCP 80): on each node the first 5 are not ready, the
 * next 5 serving and terminating, the rest ready. Pods hold those node-0 has and the last of each node (the paths
 * traced go to the first 64 ready ones, on node-0); the others are addresses only, which is all the DNAT reads, and
 * keeps the topology quick to compile.
 */
export function bigService() {
  const nodes = [];
  const pods = [];
  const slices = [];
  for (let n = 0; n < NODES; n++) {
    const node = `node-${n}`;
    nodes.push({ name: node, addresses: [{ type: 'InternalIP', address: `192.168.${n >> 8}.${(n & 255) + 1}` }], podCIDRs: [`10.1.${n}.0/24`] });
    const endpoints = [];
    for (let p = 0; p < PER_NODE; p++) {
      const ip = `10.1.${n}.${p + 2}`;
      if (n === 0 || p === PER_NODE - 1) pods.push({ namespace: 'default', name: `big-${n}-${p}`, nodeName: node, podIPs: [{ ip }] });
      const conditions = p < 5 ? { ready: false, serving: false, terminating: false } : p < 10 ? { ready: false, serving: true, terminating: true } : { ready: true };
      endpoints.push({ addresses: [ip], conditions, nodeName: node });
    }
    slices.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { namespace: 'default', name: `big-${n}`, labels: { 'kubernetes.io/service-name': 'big' } },
      addressType: 'IPv4',
      endpoints,
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    });
  }
  return {
    name: 'big',
    cluster: {
      nodes,
      pods,
      cni: { plugin: 'bridge', routes: 'host-gw' },
      serviceCIDRs: ['10.96.0.0/12'],
      kubeProxy: { mode: 'iptables', clusterCIDR: '10.1.0.0/16' },
      services: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { namespace: 'default', name: 'big' },
          spec: { type: 'ClusterIP', clusterIP: '10.96.0.80', clusterIPs: ['10.96.0.80'], ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
        },
      ],
      endpointSlices: slices,
    },
  };
}


/**
 * examples/services.json with `web` given internalTrafficPolicy Local (its only endpoint is on node-b) and a Service
 * `default/empty` (TCP 443) without endpoints: each of kube-proxy's refusals of a pod's packet to a ClusterIP.
 */
export function servicesRefusing(): Record<string, any> {
  const body = example('services') as Record<string, any>;
  body.cluster.services.find((s: Record<string, any>) => s.metadata.name === 'web').spec.internalTrafficPolicy = 'Local';
  body.cluster.services.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: 'default', name: 'empty' },
    spec: { type: 'ClusterIP', clusterIP: '10.96.0.99', clusterIPs: ['10.96.0.99'], ports: [{ port: 443, protocol: 'TCP', targetPort: 8443 }] },
  });
  return body;
}
