// The kubectl import reads Services, EndpointSlices (or v1 Endpoints) and the kube-proxy ConfigMap from the same List:
// the flannel fixture with the objects `kubectl get services,endpointslices -A -o json` and
// `kubectl get -n kube-system configmap/kube-proxy -o json` print for its web Deployment and kube-dns, and a trace
// through the imported cluster goes through kube-proxy's DNAT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { importKubernetes } from '../../src/import/kubernetes.js';
import { compileTopology } from '../../src/engine/topology.js';
import { DataError } from '../../src/topology/data-error.js';

type Obj = Record<string, any>;
const flannel = (): Obj => JSON.parse(readFileSync(new URL('../fixtures/kubernetes/flannel-host-gw.json', import.meta.url), 'utf8'));

// kubeadm's config.conf, abridged to the fields it always writes around the ones read.
const CONFIG_CONF = `apiVersion: kubeproxy.config.k8s.io/v1alpha1
bindAddress: 0.0.0.0
clusterCIDR: 10.244.0.0/16
conntrack:
  maxPerCore: null
detectLocalMode: ""
iptables:
  localhostNodePorts: null
  masqueradeAll: false
  masqueradeBit: null
kind: KubeProxyConfiguration
mode: ""
nodePortAddresses: null
`;

function serviceObjects(): Obj[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default', uid: 'a1b2', resourceVersion: '812', labels: { app: 'web' } },
      spec: {
        clusterIP: '10.96.12.34',
        clusterIPs: ['10.96.12.34'],
        internalTrafficPolicy: 'Cluster',
        ipFamilies: ['IPv4'],
        ipFamilyPolicy: 'SingleStack',
        ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
        selector: { app: 'web' },
        sessionAffinity: 'None',
        type: 'ClusterIP',
      },
      status: { loadBalancer: {} },
    },
    {
      addressType: 'IPv4',
      apiVersion: 'discovery.k8s.io/v1',
      endpoints: [
        { addresses: ['10.244.1.5'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'worker-1', targetRef: { kind: 'Pod', name: 'web-7d4b9c8f5-2xk8p', namespace: 'default' } },
        { addresses: ['10.244.2.7'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'worker-2', targetRef: { kind: 'Pod', name: 'web-7d4b9c8f5-9hm4t', namespace: 'default' } },
      ],
      kind: 'EndpointSlice',
      metadata: { name: 'web-x8k2p', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kube-proxy', namespace: 'kube-system', labels: { app: 'kube-proxy' } },
      data: { 'config.conf': CONFIG_CONF, kubeconfig: 'apiVersion: v1\nkind: Config\n' },
    },
  ];
}

test('Services, EndpointSlices and the kube-proxy ConfigMap are read from the List into the cluster form', () => {
  const body = flannel();
  body.items.push(...serviceObjects());
  const r = importKubernetes(body as never, {});
  assert.equal(r.cluster.services?.length, 1);
  assert.equal(r.cluster.endpointSlices?.length, 1);
  assert.equal(r.cluster.kubeProxy?.clusterCIDR, '10.244.0.0/16');
  assert.equal(r.cluster.kubeProxy?.iptables?.masqueradeAll, false);
  assert.deepEqual(r.counts.ignored, {});
  // Traced through: the pod on cp-1 (coredns) to the Service is DNATed in cp-1 to a web pod.
  const c = compileTopology(r.spec);
  const from = c.resolve('kube-system/coredns-76f75df574-ktwhp', 'source');
  const to = c.resolve('10.96.12.34', 'destination');
  const t = c.trace(from, to, 64, undefined, { protocol: 'tcp', dstPort: 80 });
  assert.equal(t.paths.length, 2);
  assert.deepEqual(t.paths.map((p) => p.disposition), ['DELIVERED', 'DELIVERED']);
  const dnat = t.paths[0]!.hops.flatMap((h) => h.steps).find((s) => s.type === 'DNAT');
  assert.equal(dnat?.type === 'DNAT' && dnat.netns.name, 'cp-1');
});

test('v1 Endpoints stand in for a Service no EndpointSlice names', () => {
  const body = flannel();
  const [svc] = serviceObjects();
  body.items.push(svc, {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'web', namespace: 'default' },
    subsets: [{ addresses: [{ ip: '10.244.2.7', nodeName: 'worker-2' }], notReadyAddresses: [{ ip: '10.244.1.5', nodeName: 'worker-1' }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }],
  });
  const r = importKubernetes(body as never, {});
  const c = compileTopology(r.spec);
  const t = c.trace(c.resolve('default/db-0', 'source'), c.resolve('10.96.12.34', 'destination'), 64, undefined, { protocol: 'tcp', dstPort: 80 });
  assert.equal(t.paths.length, 1, 'the not-ready address is no candidate');
  assert.equal(t.paths[0]!.hops.at(-1)!.netns.name, 'default/web-7d4b9c8f5-9hm4t');
});

test('a Service the cluster form cannot read, and a ConfigMap whose config.conf is not a KubeProxyConfiguration, are 400s pointing into the List', () => {
  const body = flannel();
  const n = body.items.length;
  body.items.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'bad', namespace: 'default' }, spec: { ports: [{ port: 'eighty' }] } });
  assert.throws(() => importKubernetes(body as never, {}), (err: unknown) => err instanceof DataError && err.status === 400 && err.errors.some((e) => e.pointer === `/items/${n}/spec/ports/0/port`));
  const body2 = flannel();
  const m = body2.items.length;
  const cm = serviceObjects()[2]!;
  cm.data['config.conf'] = 'mode: userspace\n';
  body2.items.push(cm);
  assert.throws(() => importKubernetes(body2 as never, {}), (err: unknown) => err instanceof DataError && err.status === 400 && err.errors.some((e) => e.pointer?.startsWith(`/items/${m}/data/config.conf`)));
});
