import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { CniRequiredError, importKubernetes, KubernetesImportBody, type ImportOptions, type KubernetesImport } from '../../src/import/kubernetes.js';
import { DataError } from '../../src/topology/data-error.js';
import { Cluster } from '../../src/topology/schema.js';
import { compileTopology } from '../../src/engine/topology.js';
import { checkTopology } from '../../src/topology/validate.js';
import { kubectlList, kubeNode, kubePod, newContext, type Context } from '../fixtures/kubernetes/generate.js';

type Obj = Record<string, any>;

const fixture = (name: string): Obj => JSON.parse(readFileSync(new URL(`../fixtures/kubernetes/${name}.json`, import.meta.url), 'utf8'));

// The body as the route sees it: checked against the import schema first, the way the app's Ajv does.
const ajv = new Ajv({ allErrors: true, strict: true });
const validBody = ajv.compile(KubernetesImportBody);
const validCluster = new Ajv({ allErrors: true, strict: false }).compile(Cluster);

function run(body: Obj, options: ImportOptions = {}): KubernetesImport {
  assert.ok(validBody(body), JSON.stringify(validBody.errors?.slice(0, 3)));
  const result = importKubernetes(body as never, options);
  // Whatever is imported is a cluster document the topology routes would accept as it is.
  assert.ok(validCluster(JSON.parse(JSON.stringify(result.cluster))), JSON.stringify(validCluster.errors?.slice(0, 3)));
  return result;
}

function fails(body: Obj, options: ImportOptions = {}): DataError {
  assert.ok(validBody(body), JSON.stringify(validBody.errors?.slice(0, 3)));
  try {
    importKubernetes(body as never, options);
  } catch (err) {
    assert.ok(err instanceof DataError, String(err));
    return err;
  }
  assert.fail('the import succeeded');
}

const warning = (r: KubernetesImport, code: string) => r.warnings.find((w) => w.code === code);
const codes = (r: KubernetesImport) => r.warnings.map((w) => w.code).sort();
const podNames = (r: KubernetesImport) => r.cluster.pods!.map((p) => `${p.namespace}/${p.name}`);
const noneSkipped = { noNode: 0, pending: 0, terminated: 0, unknownNode: 0, duplicateName: 0, duplicateIP: 0, outsidePodCIDR: 0 };

// Small clusters built from the same builders as the fixtures, for the cases a fixture does not show.
interface MiniNode {
  name: string;
  ips: string[];
  podCIDRs: string[];
  annotations?: Record<string, string>;
  ready?: boolean;
}
function mini(nodes: MiniNode[], pods: { ns?: string; name: string; node?: string; ips?: string[]; hostNetwork?: boolean; phase?: 'Running' | 'Pending' | 'Succeeded' }[], ctx: Context = newContext(9, false)) {
  const hostIPs = (node?: string) => nodes.find((n) => n.name === node)?.ips;
  return kubectlList([
    ...nodes.map((n) => kubeNode(ctx, n)),
    ...pods.map((p) =>
      kubePod(ctx, {
        namespace: p.ns ?? 'default',
        name: p.name,
        nodeName: p.node,
        hostIPs: hostIPs(p.node),
        ips: p.ips,
        hostNetwork: p.hostNetwork,
        phase: p.phase,
        image: 'docker.io/library/nginx:1.25.5',
      }),
    ),
  ]) as Obj;
}
const twoNodes = (annotations: (i: number) => Record<string, string> = () => ({})): MiniNode[] => [
  { name: 'a', ips: ['192.168.0.11'], podCIDRs: ['10.1.1.0/24'], annotations: annotations(0) },
  { name: 'b', ips: ['192.168.0.12'], podCIDRs: ['10.1.2.0/24'], annotations: annotations(1) },
];
const bridge: ImportOptions = { plugin: 'bridge' };

describe('the fixtures', () => {
  test('flannel host-gw: nodes, pods, what is left out and why, the backend from the node annotation', () => {
    const r = run(fixture('flannel-host-gw'));
    assert.deepEqual(r.counts, {
      nodes: 3,
      pods: 17,
      skipped: { ...noneSkipped, noNode: 1, pending: 1, terminated: 1 },
      skippedNodes: { noAddress: 0, duplicateName: 0 },
      ignored: {},
    });
    assert.deepEqual(r.cluster.nodes, [
      { name: 'cp-1', addresses: [{ type: 'InternalIP', address: '192.168.56.10' }, { type: 'Hostname', address: 'cp-1' }], podCIDRs: ['10.244.0.0/24'] },
      { name: 'worker-1', addresses: [{ type: 'InternalIP', address: '192.168.56.11' }, { type: 'Hostname', address: 'worker-1' }], podCIDRs: ['10.244.1.0/24'] },
      { name: 'worker-2', addresses: [{ type: 'InternalIP', address: '192.168.56.12' }, { type: 'Hostname', address: 'worker-2' }], podCIDRs: ['10.244.2.0/24'] },
    ]);
    assert.deepEqual(r.cluster.cni, { plugin: 'flannel', backend: 'host-gw' });
    assert.equal(r.cni.detectedFrom, 'metadata.annotations["flannel.alpha.coreos.com/backend-type"] of node cp-1');
    assert.match(r.cni.evidence[1]!, /^flannel: 3 agent pods such as kube-flannel\/kube-flannel-ds-/);
    // The note says how what was stored is traced, not to import it as something else.
    assert.match(r.cni.note!, /host-gw backend is traced as it programs the nodes: cni0/);
    // The finished Job's IP went to the cache pod: the Job is left out (terminated), so there is no duplicate.
    const cache = r.cluster.pods!.find((p) => p.name.startsWith('cache-'))!;
    assert.deepEqual(cache.podIPs, ['10.244.1.4']);
    assert.ok(!podNames(r).some((n) => n.startsWith('batch/')));
    const proxy = r.cluster.pods!.find((p) => p.name.startsWith('kube-proxy-') && p.nodeName === 'worker-1')!;
    assert.deepEqual(proxy, { namespace: 'kube-system', name: proxy.name, nodeName: 'worker-1', hostNetwork: true, podIPs: ['192.168.56.11'], labels: proxy.labels });
    assert.equal(proxy.labels?.['k8s-app'], 'kube-proxy');
    // Every pod left out is explained, with a pointer to it; and the nodes' gateway, which no object names, is assumed.
    assert.deepEqual(codes(r), ['network-gateway-assumed', 'pod-terminated', 'pod-unscheduled', 'pod-without-ip']);
    assert.equal(warning(r, 'pod-terminated')!.examples[0]!.pointer.endsWith('/status/phase'), true);
    assert.deepEqual(r.cluster.network, { cidr: '192.168.56.0/24', gateway: '192.168.56.1' });
    assert.equal(r.description, 'Imported from Kubernetes objects: 3 nodes, 17 pods (3 left out), flannel (backend host-gw).');
  });

  test('calico ipip: pod IPs from IPAM blocks are kept and reported; a stale pod loses its reused IP', () => {
    const r = run(fixture('calico-ipip'));
    assert.deepEqual(r.cluster.cni, { plugin: 'calico', mode: 'ipip' });
    assert.equal(r.cni.detectedFrom, 'metadata.annotations["projectcalico.org/IPv4IPIPTunnelAddr"] of node k8s-master');
    assert.equal(r.counts.nodes, 4);
    assert.equal(r.counts.pods, 22);
    assert.deepEqual(r.counts.skipped, { ...noneSkipped, pending: 1, duplicateIP: 1 });
    assert.deepEqual(codes(r), [
      'duplicate-ip',
      'network-gateway-assumed',
      'node-not-ready',
      'node-without-pod-cidr',
      'pod-ip-in-other-node-cidr',
      'pod-ip-outside-node-cidrs',
      'pod-without-ip',
    ]);
    assert.match(warning(r, 'network-gateway-assumed')!.detail, /gateway: 10\.0\.0\.1 on 10\.0\.0\.0\/24 .* was assumed.*give network\.gateway/);
    // With the nodes' gateway given, it is the one stored and nothing is assumed.
    const withGateway = run({ ...fixture('calico-ipip'), network: { cidr: '10.0.0.0/24', gateway: '10.0.0.254' } });
    assert.equal(warning(withGateway, 'network-gateway-assumed'), undefined);
    assert.deepEqual(withGateway.cluster.network, { cidr: '10.0.0.0/24', gateway: '10.0.0.254' });
    assert.equal(warning(r, 'pod-ip-outside-node-cidrs')!.count, 7);
    assert.match(warning(r, 'pod-ip-outside-node-cidrs')!.detail, /usual with Calico.*kept$/);
    assert.deepEqual(warning(r, 'pod-ip-in-other-node-cidr')!.examples.map((e) => e.detail), [
      "192.168.1.194 of pod shop/checkout-6c8d7f9b4-vbrg7 is inside the pod CIDR of node k8s-node-1; node k8s-node-2's pod CIDR is 192.168.2.0/24",
      "192.168.1.193 of pod shop/frontend-7f6d8c9b5-xv282 is inside the pod CIDR of node k8s-node-1; node k8s-node-2's pod CIDR is 192.168.2.0/24",
    ]);
    // k8s-node-3 stopped reporting; its pod still says Running, but the new pod on a Ready node keeps 192.168.169.130.
    const dup = warning(r, 'duplicate-ip')!;
    assert.deepEqual(dup.examples, [
      { pointer: '/items/21/status/podIPs/0/ip', detail: '192.168.169.130 of pod shop/checkout-6c8d7f9b4-45s2p is also the address of pod shop/payments-84d5b7c6f9-556nk' },
    ]);
    const payments = r.cluster.pods!.find((p) => p.name === 'payments-84d5b7c6f9-556nk')!;
    assert.deepEqual(payments.podIPs, ['192.168.169.130']);
    assert.deepEqual(r.cluster.nodes[3]!.podCIDRs, []);
    assert.match(warning(r, 'node-without-pod-cidr')!.detail, /usual with Calico/);
  });

  test('a hostNetwork pod is its node: through tunl0 it speaks from the tunnel address, as the node does', () => {
    const r = run(fixture('calico-ipip'));
    const c = compileTopology(r.spec);
    const trace = (from: string) => c.trace(c.resolve(from, 'source'), c.resolve('shop/cart-5d7b9c8f6-wwkm4', 'destination'));
    const fromNode = trace('k8s-node-2');
    const fromPod = trace('calico-system/calico-node-ccx9l');
    assert.equal(fromNode.flow.src.toString(), '192.168.1.192');
    assert.equal(fromPod.flow.src.toString(), fromNode.flow.src.toString());
    assert.equal(fromPod.paths[0]!.disposition, 'DELIVERED');
  });

  test('a dual-stack kind cluster as {nodes, pods}: both families, kindnet detected from its pods', () => {
    const body = fixture('dual-stack-split');
    const r = run(body);
    assert.deepEqual(r.cluster.cni, { plugin: 'kindnet' });
    assert.match(r.cni.detectedFrom, /^metadata\.name of pod kube-system\/kindnet-\w+$/);
    assert.deepEqual(r.counts.skipped, { ...noneSkipped, pending: 1 });
    assert.equal(r.counts.pods, 14);
    assert.deepEqual(r.cluster.nodes[1], {
      name: 'dual-worker',
      addresses: [
        { type: 'InternalIP', address: '172.18.0.2' },
        { type: 'InternalIP', address: 'fc00:f853:ccd:e793::2' },
        { type: 'Hostname', address: 'dual-worker' },
      ],
      podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'],
    });
    const echo = r.cluster.pods!.find((p) => p.name === 'echo-6d9f8b7c5c-4kq9p')!;
    assert.deepEqual(echo.podIPs, ['10.244.1.2', 'fd00:10:244:1::2']);
    const kindnet = r.cluster.pods!.find((p) => p.name.startsWith('kindnet-') && p.nodeName === 'dual-worker')!;
    assert.deepEqual(kindnet.podIPs, ['172.18.0.2', 'fc00:f853:ccd:e793::2']);
    assert.deepEqual(codes(r), ['network-gateway-assumed', 'pod-without-ip']);
  });

  test('dual-stack nodes: the assumed gateway is IPv4, whichever family kubectl lists first, and the answer says IPv6 gets none', () => {
    for (const v6First of [false, true]) {
      const body = fixture('dual-stack-split');
      if (v6First) for (const n of body.nodes.items) n.status.addresses.reverse();
      const r = run(body);
      assert.deepEqual(r.cluster.network, { cidr: '172.18.0.0/24', gateway: '172.18.0.1' }, `IPv6 first: ${v6First}`);
      assert.match(warning(r, 'network-gateway-assumed')!.detail, /172\.18\.0\.1 on 172\.18\.0\.0\/24 .* \(IPv4, the nodes' first family: none is assumed for IPv6, whose traffic out of the cluster finds no route\)/);
      const c = compileTopology(r.spec);
      const out = (to: string, family: 4 | 6) => c.trace(c.resolve('default/echo-6d9f8b7c5c-4kq9p', 'source'), c.resolve(to, 'destination'), 64, family).paths[0]!.disposition;
      assert.equal(out('8.8.8.8', 4), 'EXITS_NETWORK');
      assert.equal(out('2001:db8::1', 6), 'NO_ROUTE');
      // The nodes' own IPv6 neighbours are still on their subnet: pod to pod in IPv6 across nodes is delivered.
      assert.equal(out('default/echo-6d9f8b7c5c-wq7t2', 6), 'DELIVERED');
    }
    // IPv4 only: no word about IPv6.
    assert.doesNotMatch(warning(run(fixture('flannel-host-gw')), 'network-gateway-assumed')!.detail, /IPv6/);
  });

  test("cilium cluster-pool: the pod CIDRs are Cilium's, not spec.podCIDR's", () => {
    const r = run(fixture('cilium-cluster-pool'));
    assert.deepEqual(r.cluster.cni, { plugin: 'cilium' });
    assert.equal(r.cni.detectedFrom, 'metadata.annotations["network.cilium.io/ipv4-cilium-host"] of node ip-10-20-1-15.eu-west-1.compute.internal');
    assert.deepEqual(r.cluster.nodes.map((n) => n.podCIDRs), [['10.0.0.0/24'], ['10.0.1.0/24']]);
    assert.deepEqual(r.cluster.nodes[0]!.addresses.map((a) => a.type), ['InternalIP', 'ExternalIP', 'Hostname']);
    assert.deepEqual(codes(r), ['cni-mode-unknown', 'network-gateway-assumed', 'pod-cidr-from-cilium']);
    assert.equal(r.counts.pods, 12);
    assert.deepEqual(warning(r, 'pod-cidr-from-cilium')!.examples[1], {
      pointer: '/items/1',
      detail: 'node ip-10-20-2-37.eu-west-1.compute.internal: 10.0.1.0/24 from Cilium, not 10.244.1.0/24 from spec.podCIDRs',
    });
  });
});

/** flannel's annotations of a node, as flannel writes them. */
const flannel = (backend: string, data = 'null') => ({
  'flannel.alpha.coreos.com/backend-data': data,
  'flannel.alpha.coreos.com/backend-type': backend,
  'flannel.alpha.coreos.com/kube-subnet-manager': 'true',
  'flannel.alpha.coreos.com/public-ip': '192.168.0.11',
});

describe('detecting the data path', () => {

  test("flannel vxlan, with the VNI of backend-data", () => {
    const r = run(mini(twoNodes(() => flannel('vxlan', '{"VNI":4096,"VtepMAC":"6a:1c:2e:0b:9f:41"}')), []));
    assert.deepEqual(r.cluster.cni, { plugin: 'flannel', backend: 'vxlan', vni: 4096 });
    assert.equal(r.cni.note, undefined);
  });

  test('flannel with a backend pathtrace does not model asks for cni', () => {
    const err = fails(mini(twoNodes(() => flannel('wireguard')), []));
    assert.ok(err instanceof CniRequiredError);
    assert.match(err.message, /flannel's wireguard backend \(metadata.annotations\["flannel.alpha.coreos.com\/backend-type"\] of node a\) is not a data path/);
    assert.deepEqual(run(mini(twoNodes(() => flannel('wireguard')), []), { plugin: 'flannel', mode: 'vxlan' }).cluster.cni, { plugin: 'flannel', backend: 'vxlan' });
  });

  test('flannel without backend-type: public-ip says flannel, not the backend', () => {
    const r = run(mini(twoNodes(() => ({ 'flannel.alpha.coreos.com/public-ip': '192.168.0.11' })), []));
    assert.deepEqual(r.cluster.cni, { plugin: 'flannel' });
    assert.equal(r.cni.detectedFrom, 'metadata.annotations["flannel.alpha.coreos.com/public-ip"] of node a');
  });

  test('calico: VXLAN tunnel address → vxlan, IPv4Address alone → bgp', () => {
    let r = run(mini(twoNodes(() => ({ 'projectcalico.org/IPv4Address': '192.168.0.11/24', 'projectcalico.org/IPv4VXLANTunnelAddr': '10.1.1.0' })), []));
    assert.deepEqual(r.cluster.cni, { plugin: 'calico', mode: 'vxlan' });
    assert.equal(r.cni.detectedFrom, 'metadata.annotations["projectcalico.org/IPv4VXLANTunnelAddr"] of node a');
    r = run(mini(twoNodes(() => ({ 'projectcalico.org/IPv4Address': '192.168.0.11/24' })), []));
    assert.deepEqual(r.cluster.cni, { plugin: 'calico', mode: 'bgp' });
    assert.equal(r.cni.detectedFrom, 'metadata.annotations["projectcalico.org/IPv4Address"] of node a');
  });

  test('calico nodes that disagree on the mode: the most common wins, with a warning', () => {
    const nodes = [...twoNodes(), { name: 'c', ips: ['192.168.0.13'], podCIDRs: ['10.1.3.0/24'] }].map((n, i) => ({
      ...n,
      annotations: (i === 0 ? { 'projectcalico.org/IPv4Address': `${n.ips[0]}/24` } : { 'projectcalico.org/IPv4IPIPTunnelAddr': `10.9.${i}.0` }) as Record<string, string>,
    }));
    const r = run(mini(nodes, []));
    assert.deepEqual(r.cluster.cni, { plugin: 'calico', mode: 'ipip' });
    assert.equal(r.cni.detectedFrom, 'metadata.annotations["projectcalico.org/IPv4IPIPTunnelAddr"] of node b');
    assert.match(warning(r, 'cni-mixed-modes')!.detail, /ipip on 2 nodes, bgp on 1 node\); ipip, the most common, was taken/);
    assert.deepEqual(warning(r, 'cni-mixed-modes')!.examples, [{ pointer: '/items/0', detail: 'bgp: metadata.annotations["projectcalico.org/IPv4Address"] of node a' }]);
  });

  test('cilium, also by the annotations of Cilium before 1.12', () => {
    const r = run(mini(twoNodes((i) => ({ 'io.cilium.network.ipv4-cilium-host': `10.1.${i + 1}.1`, 'io.cilium.network.ipv4-pod-cidr': `10.1.${i + 1}.0/24` })), []));
    assert.deepEqual(r.cluster.cni, { plugin: 'cilium' });
    assert.equal(r.cni.detectedFrom, 'metadata.annotations["io.cilium.network.ipv4-cilium-host"] of node a');
    assert.equal(warning(r, 'pod-cidr-from-cilium'), undefined, 'the same CIDR as spec.podCIDRs says nothing new');
  });

  test("cilium's IPv4 pod CIDR annotation replaces spec's IPv4 pod CIDR only", () => {
    const nodes: MiniNode[] = [
      { name: 'a', ips: ['192.168.0.11', 'fd00::11'], podCIDRs: ['10.244.0.0/24', 'fd00:10:244::/64'], annotations: { 'network.cilium.io/ipv4-pod-cidr': '10.0.0.0/24' } },
    ];
    const r = run(mini(nodes, [{ name: 'p', node: 'a', ips: ['10.0.0.7', 'fd00:10:244::7'] }]));
    assert.deepEqual(r.cluster.nodes[0]!.podCIDRs, ['10.0.0.0/24', 'fd00:10:244::/64']);
    assert.deepEqual(r.cluster.pods![0]!.podIPs, ['10.0.0.7', 'fd00:10:244::7']);
    assert.deepEqual(warning(r, 'pod-cidr-from-cilium')!.examples, [{ pointer: '/items/0', detail: 'node a: 10.0.0.0/24 from Cilium, not 10.244.0.0/24 from spec.podCIDRs' }]);
  });

  test('canal: flannel and calico annotate the nodes; flannel carries the packets, Calico attaches the pods', () => {
    const r = run(mini(twoNodes(() => ({ ...flannel('vxlan'), 'projectcalico.org/IPv4Address': '192.168.0.11/24' })), []));
    assert.deepEqual(r.cluster.cni, { plugin: 'flannel', backend: 'vxlan', pods: 'calico' });
    assert.match(warning(r, 'cni-evidence-conflict')!.detail, /as with Canal.*Calico's CNI plugin attaches the pods/);
    assert.match(r.description, /canal \(flannel backend vxlan, Calico's pod interfaces\)/);
    // Canal's agent pods say the same of nodes that only flannel annotates.
    const canal = twoNodes().map((n, i) => ({ ns: 'kube-system', name: `canal-${'xk2p9q'.slice(i, i + 5)}`, node: n.name, ips: n.ips, hostNetwork: true }));
    assert.deepEqual(run(mini(twoNodes(() => flannel('vxlan')), canal)).cluster.cni, { plugin: 'flannel', backend: 'vxlan', pods: 'calico' });
    assert.deepEqual(run(mini(twoNodes(), canal)).cluster.cni, { plugin: 'flannel', pods: 'calico' });
  });

  test('agent pods are weaker evidence: weave-net, calico-node (then the mode is unknown)', () => {
    const agents = (prefix: string) =>
      twoNodes().map((n, i) => ({ ns: 'kube-system', name: `${prefix}-${'xk2p9q'.slice(i, i + 5)}`, node: n.name, ips: n.ips, hostNetwork: true }));
    let r = run(mini(twoNodes(), agents('weave-net')));
    assert.deepEqual(r.cluster.cni, { plugin: 'weave' });
    assert.equal(r.cni.detectedFrom, 'metadata.name of pod kube-system/weave-net-xk2p9');
    assert.deepEqual(codes(r), ['network-gateway-assumed']);
    r = run(mini(twoNodes(), agents('calico-node')));
    assert.deepEqual(r.cluster.cni, { plugin: 'calico' });
    assert.deepEqual(codes(r), ['cni-mode-unknown', 'network-gateway-assumed']);
    // The mode the compiler takes is said, as what was assumed.
    assert.match(r.cni.note!, /ipip, the mode of Calico's manifests, is assumed/);
    // A user's pod of the same name in another namespace is no evidence.
    assert.ok(fails(mini(twoNodes(), agents('calico-node').map((p) => ({ ...p, ns: 'default' })))) instanceof CniRequiredError);
  });

  test('nothing to go by: 422 asking for cni', () => {
    const err = fails(mini(twoNodes(), []));
    assert.ok(err instanceof CniRequiredError);
    assert.equal(err.slug, 'cni-required');
    assert.match(err.message, /^cannot tell the cluster's CNI data path from the objects: no node carries flannel, Calico, Cilium or OVN annotations or a cloud's providerID/);
    assert.deepEqual(err.evidence, []);
  });
});

describe('a given data path', () => {
  const hostGw = () => mini(twoNodes(() => ({ 'flannel.alpha.coreos.com/backend-type': 'host-gw' })), [{ name: 'p', node: 'a', ips: ['10.1.1.2'] }]);

  test('cni= and mode= of the query', () => {
    assert.deepEqual(run(hostGw(), { plugin: 'bridge', mode: 'cloud' }).cluster.cni, { plugin: 'bridge', routes: 'cloud' });
    assert.deepEqual(run(hostGw(), { plugin: 'cilium', mode: 'geneve' }).cluster.cni, { plugin: 'cilium', routing: 'tunnel', tunnel: 'geneve' });
    assert.deepEqual(run(hostGw(), { plugin: 'cilium', mode: 'native' }).cluster.cni, { plugin: 'cilium', routing: 'native' });
    assert.deepEqual(run(hostGw(), { plugin: 'calico', mode: 'bgp' }).cluster.cni, { plugin: 'calico', mode: 'bgp' });
  });

  test('cni= alone takes the mode the objects show', () => {
    const r = run(hostGw(), { plugin: 'flannel' });
    assert.deepEqual(r.cluster.cni, { plugin: 'flannel', backend: 'host-gw' });
    assert.equal(r.cni.detectedFrom, 'given');
    assert.equal(r.cni.modeDetectedFrom, 'metadata.annotations["flannel.alpha.coreos.com/backend-type"] of node a');
  });

  test('cni=canal: flannel between the nodes, Calico\'s cali veths for the pods; cni=flannel on Canal\'s nodes is flannel\'s own cni0', () => {
    assert.deepEqual(run(hostGw(), { plugin: 'canal', mode: 'vxlan' }).cluster.cni, { plugin: 'flannel', backend: 'vxlan', pods: 'calico' });
    // Alone, it takes flannel's backend from the nodes; the pods attach as Canal's do.
    const canalNodes = () => mini(twoNodes(() => ({ ...flannel('vxlan'), 'projectcalico.org/IPv4Address': '192.168.0.11/24' })), [{ name: 'p', node: 'a', ips: ['10.1.1.2'] }]);
    let r = run(canalNodes(), { plugin: 'canal' });
    assert.deepEqual(r.cluster.cni, { plugin: 'flannel', backend: 'vxlan', pods: 'calico' });
    assert.equal(r.cni.modeDetectedFrom, 'metadata.annotations["flannel.alpha.coreos.com/backend-type"] of node a');
    assert.equal(warning(r, 'cni-differs-from-detected'), undefined);
    r = run(hostGw(), { plugin: 'canal' });
    assert.deepEqual(r.cluster.cni, { plugin: 'flannel', backend: 'host-gw', pods: 'calico' });
    assert.match(warning(r, 'cni-differs-from-detected')!.detail, /^cni was given as canal \(flannel backend host-gw, Calico's pod interfaces\), but the objects say flannel \(backend host-gw\)/);
    // cni=flannel where the objects say Canal: flannel's own pods (cni0), the backend from the nodes, and a warning.
    r = run(canalNodes(), { plugin: 'flannel' });
    assert.deepEqual(r.cluster.cni, { plugin: 'flannel', backend: 'vxlan' });
    assert.match(warning(r, 'cni-differs-from-detected')!.detail, /^cni was given as flannel \(backend vxlan\), but the objects say canal/);
    // What was stored is what is traced: the pod sits on a cali veth, and the node has no cni0.
    const c = compileTopology(checkTopology({ cluster: run(hostGw(), { plugin: 'canal', mode: 'vxlan' }).cluster }));
    const a = c.fabric.byName.get('a')!;
    assert.deepEqual(a.links.map((l) => l.name.replace(/^cali[0-9a-f]{11}$/, 'cali…')), ['eth0', 'flannel.1', 'cali…']);
  });

  test('a cni that differs from what the objects say is stored as given, with a warning', () => {
    let r = run(hostGw(), bridge);
    assert.deepEqual(r.cluster.cni, { plugin: 'bridge', routes: 'host-gw' });
    assert.deepEqual(warning(r, 'cni-differs-from-detected'), {
      code: 'cni-differs-from-detected',
      count: 1,
      detail: 'cni was given as bridge (host-gw routes); the objects say flannel (backend host-gw), which programs the same routes: stored as given',
      examples: [{ pointer: '/items/0', detail: 'metadata.annotations["flannel.alpha.coreos.com/backend-type"] of node a says flannel (backend host-gw)' }],
    });
    r = run(hostGw(), { plugin: 'calico' });
    assert.match(warning(r, 'cni-differs-from-detected')!.detail, /^cni was given as calico, but the objects say flannel \(backend host-gw\)/);
  });

  test('cni, description and network in the body, next to what kubectl printed', () => {
    const body = { ...hostGw(), cni: { plugin: 'bridge', routes: 'host-gw' }, description: 'lab', network: { gateway: '192.168.0.1' } };
    const r = run(body);
    assert.deepEqual(r.cluster.cni, { plugin: 'bridge', routes: 'host-gw' });
    assert.deepEqual(r.cluster.network, { gateway: '192.168.0.1' });
    assert.equal(r.description, 'lab');
    assert.equal(run(hostGw(), { ...bridge, description: 'from the query' }).description, 'from the query');
  });

  test('contradictions are 400s that name the parameter', () => {
    const param = (err: DataError) => [err.status, err.errors.map((e) => `${e.parameter}: ${e.detail}`)];
    assert.deepEqual(param(fails({ ...hostGw(), cni: { plugin: 'bridge' } }, bridge)), [400, ['cni: the body gives cni as well: give it in one place']]);
    assert.deepEqual(param(fails(hostGw(), { mode: 'vxlan' })), [400, ['mode: give cni as well, e.g. cni=flannel&mode=host-gw']]);
    assert.deepEqual(param(fails(hostGw(), { plugin: 'weave', mode: 'vxlan' })), [400, ['mode: weave takes no mode']]);
    assert.deepEqual(param(fails(hostGw(), { plugin: 'bridge', mode: 'ipip' })), [400, ['mode: bridge takes mode host-gw or cloud']]);
    assert.deepEqual(param(fails(hostGw(), { plugin: 'canal', mode: 'ipip' })), [400, ['mode: canal takes mode vxlan or host-gw']]);
    assert.deepEqual(param(fails({ ...hostGw(), description: 'x' }, { ...bridge, description: 'y' })), [400, ['description: the body gives description as well: give it in one place']]);
  });

  test('a network that the nodes do not fit is a 422 pointing at the node objects of the request', () => {
    const err = fails({ ...hostGw(), network: { cidr: '10.0.0.0/24' } }, bridge);
    assert.equal(err.status, 422);
    assert.deepEqual(err.errors, [
      { pointer: '/items/0', detail: 'addresses/0/address: 192.168.0.11 is outside the node network 10.0.0.0/24' },
      { pointer: '/items/1', detail: 'addresses/0/address: 192.168.0.12 is outside the node network 10.0.0.0/24' },
    ]);
  });
});

describe('what a real cluster holds that the cluster form cannot', () => {
  test('a pod IP outside its node pod CIDR is dropped with bridge/flannel/cilium; a pod with none left is skipped', () => {
    const body = mini(
      [{ name: 'a', ips: ['192.168.0.11', 'fd00::11'], podCIDRs: ['10.1.1.0/24'] }, twoNodes()[1]!],
      [
        { name: 'dual', node: 'a', ips: ['10.1.1.2', 'fd00:1::2'] },
        { name: 'elsewhere', node: 'a', ips: ['10.1.2.9'] },
        { name: 'nowhere', node: 'b', ips: ['172.16.0.5'] },
      ],
    );
    const r = run(body, bridge);
    assert.deepEqual(podNames(r), ['default/dual']);
    assert.deepEqual(r.cluster.pods![0]!.podIPs, ['10.1.1.2']);
    assert.deepEqual(r.counts.skipped, { ...noneSkipped, outsidePodCIDR: 2 });
    assert.deepEqual(warning(r, 'pod-ip-outside-node-cidrs')!.examples.map((e) => e.detail), [
      'fd00:1::2 of pod default/dual is outside every node\'s pod CIDR; node a has no IPv6 pod CIDR',
      '172.16.0.5 of pod default/nowhere is outside every node\'s pod CIDR; node b\'s pod CIDR is 10.1.2.0/24',
    ]);
    assert.match(warning(r, 'pod-ip-outside-node-cidrs')!.detail, /bridge gives a pod an address from its own node's pod CIDR, so they were left out/);
    assert.deepEqual(warning(r, 'pod-ip-in-other-node-cidr')!.examples, [
      { pointer: '/items/3/status/podIPs/0/ip', detail: "10.1.2.9 of pod default/elsewhere is inside the pod CIDR of node b; node a's pod CIDR is 10.1.1.0/24" },
    ]);
  });

  test('duplicate IPs: a Running pod keeps it before one that is not, then the first; a node keeps its own address', () => {
    const body = mini(twoNodes(), [
      { name: 'was-here', node: 'a', ips: ['10.1.1.5'], phase: 'Pending' },
      { name: 'first', node: 'a', ips: ['10.1.1.7'] },
      { name: 'second', node: 'a', ips: ['10.1.1.7'] },
      { name: 'now-here', node: 'a', ips: ['10.1.1.5'] },
      { name: 'hostish', node: 'b', ips: ['192.168.0.12'] },
    ]);
    // Calico: no pod IP is pinned to its node's pod CIDR, so every one of them reaches the duplicate check.
    const r = run(body, { plugin: 'calico' });
    assert.deepEqual(podNames(r), ['default/first', 'default/now-here']);
    assert.equal(r.counts.skipped.duplicateIP, 3);
    assert.deepEqual(warning(r, 'duplicate-ip')!.examples.map((e) => e.detail).sort(), [
      '10.1.1.5 of pod default/was-here is also the address of pod default/now-here',
      '10.1.1.7 of pod default/second is also the address of pod default/first',
      '192.168.0.12 of pod default/hostish is also the address of node b',
    ]);
  });

  test('hostNetwork pods keep only the addresses of their node', () => {
    const r = run(mini(twoNodes(), [{ ns: 'kube-system', name: 'agent', node: 'a', ips: ['192.168.0.11', 'fd00::99'], hostNetwork: true }]), bridge);
    assert.deepEqual(r.cluster.pods, [{ namespace: 'kube-system', name: 'agent', nodeName: 'a', hostNetwork: true, podIPs: ['192.168.0.11'] }]);
    assert.deepEqual(warning(r, 'host-network-ip-not-node-address')!.examples, [
      { pointer: '/items/2/status/podIPs/1/ip', detail: 'fd00::99 of pod kube-system/agent is not an address of node a' },
    ]);
  });

  test('nodes: a repeated name, no address, a repeated address, an overlapping pod CIDR, no pod CIDR', () => {
    const body = mini(
      [
        ...twoNodes(),
        { name: 'a', ips: ['192.168.0.21'], podCIDRs: ['10.1.9.0/24'] },
        { name: 'no-ip', ips: [], podCIDRs: ['10.1.4.0/24'] },
        { name: 'same-ip', ips: ['192.168.0.12', '192.168.0.15'], podCIDRs: ['10.1.0.0/16'] },
        { name: 'bare', ips: ['192.168.0.16'], podCIDRs: [] },
      ],
      [
        { name: 'on-no-ip', node: 'no-ip', ips: ['10.1.4.2'] },
        { name: 'on-ghost', node: 'ghost', ips: ['10.1.5.2'] },
        { name: 'on-bare', node: 'bare', ips: ['10.1.6.2'] },
        { name: 'unscheduled' },
        { name: 'done', node: 'a', ips: ['10.1.1.9'], phase: 'Succeeded' },
        { name: 'p', node: 'a', ips: ['10.1.1.9'] },
        { name: 'p', node: 'b', ips: ['10.1.2.9'] },
      ],
    );
    const r = run(body, bridge);
    assert.deepEqual(r.cluster.nodes.map((n) => [n.name, n.addresses.filter((a) => a.type === 'InternalIP').map((a) => a.address), n.podCIDRs]), [
      ['a', ['192.168.0.11'], ['10.1.1.0/24']],
      ['b', ['192.168.0.12'], ['10.1.2.0/24']],
      ['same-ip', ['192.168.0.15'], []],
      ['bare', ['192.168.0.16'], []],
    ]);
    assert.deepEqual(r.counts.skippedNodes, { noAddress: 1, duplicateName: 1 });
    assert.deepEqual(r.counts.skipped, { ...noneSkipped, noNode: 1, terminated: 1, unknownNode: 2, duplicateName: 1, outsidePodCIDR: 1 });
    assert.deepEqual(podNames(r), ['default/p']);
    assert.deepEqual(codes(r), [
      'network-gateway-assumed',
      'node-duplicate-address',
      'node-duplicate-name',
      'node-without-address',
      'node-without-pod-cidr',
      'pod-cidr-overlap',
      'pod-duplicate-name',
      'pod-ip-outside-node-cidrs',
      'pod-on-unknown-node',
      'pod-terminated',
      'pod-unscheduled',
    ]);
    assert.deepEqual(warning(r, 'pod-unscheduled')!.examples, [{ pointer: '/items/9', detail: 'pod default/unscheduled has no spec.nodeName (phase Pending)' }]);
    assert.deepEqual(warning(r, 'pod-terminated')!.examples, [
      { pointer: '/items/10/status/phase', detail: 'pod default/done is Succeeded (its status still shows 10.1.1.9)' },
    ]);
    assert.deepEqual(warning(r, 'pod-cidr-overlap')!.examples, [
      { pointer: '/items/4/spec/podCIDRs/0', detail: '10.1.0.0/16 of node same-ip overlaps a prefix within 10.1.0.0/16 of node a' },
    ]);
    assert.deepEqual(warning(r, 'pod-on-unknown-node')!.examples.map((e) => e.detail), [
      'pod default/on-no-ip runs on node no-ip, which was left out',
      'pod default/on-ghost runs on node ghost, which is not in the objects sent',
    ]);
    assert.equal(warning(r, 'node-without-pod-cidr')!.count, 2);
  });

  test('a CNI annotation that does not read (a redacted one) is left out with a warning; the fact is derived', () => {
    const body = mini(twoNodes((i) => ({ 'projectcalico.org/IPv4IPIPTunnelAddr': i === 0 ? '***HIDDEN***' : '10.1.2.64' })), []);
    const r = run(body);
    assert.deepEqual(r.cluster.nodes.map((n) => n.annotations), [undefined, { 'projectcalico.org/IPv4IPIPTunnelAddr': '10.1.2.64' }]);
    assert.deepEqual(warning(r, 'annotation-unreadable')!.examples, [
      { pointer: '/items/0/metadata/annotations/projectcalico.org~1IPv4IPIPTunnelAddr', detail: 'node a: "***HIDDEN***" is not an IP address' },
    ]);
    // A cluster document that carries one anyway is refused where it is.
    const doc = structuredClone(r.cluster);
    doc.nodes[0]!.annotations = { 'network.cilium.io/ipv4-cilium-host': 'fd00::1' };
    assert.throws(
      () => checkTopology({ cluster: doc }),
      (err: DataError) =>
        err.errors.some((e) => e.pointer === '/cluster/nodes/0/annotations/network.cilium.io~1ipv4-cilium-host' && /not an IPv4 address/.test(e.detail)),
    );
  });

  test('objects of other kinds are counted and ignored (Services are read: test/import/kubernetes-services.test.ts)', () => {
    const body = mini(twoNodes(), []);
    body.items.push(
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubernetes', namespace: 'default' }, spec: { clusterIP: '10.96.0.1' } },
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'coredns', namespace: 'kube-system' }, data: {} },
    );
    assert.deepEqual(run(body, bridge).counts.ignored, { Deployment: 1, ConfigMap: 1 });
  });

  test('every pod left out is counted under exactly one reason', () => {
    for (const name of ['flannel-host-gw', 'calico-ipip', 'cilium-cluster-pool']) {
      const body = fixture(name);
      const r = run(body);
      const pods = body.items.filter((i: Obj) => i.kind === 'Pod').length;
      const skipped = Object.values(r.counts.skipped).reduce((a, b) => a + b, 0);
      assert.equal(r.counts.pods + skipped, pods, name);
    }
  });
});

describe('input kubectl does not print', () => {
  test('addresses and prefixes that do not parse are 400s with pointers into the request', () => {
    const body = mini(twoNodes(), [{ name: 'p', node: 'a', ips: ['10.1.1.2'] }]);
    body.items[0].status.addresses[0].address = '192.168.0.300';
    body.items[1].spec.podCIDRs = ['10.1.2.1/24'];
    body.items[2].status.podIPs = [{ ip: '10.1.1.2' }, { ip: '10.1.1.3' }];
    const err = fails(body, bridge);
    assert.equal(err.status, 400);
    assert.equal(err.slug, 'invalid-request');
    assert.deepEqual(err.errors, [
      { pointer: '/items/0/status/addresses/0/address', detail: '"192.168.0.300" is not an IPv4 or IPv6 address' },
      { pointer: '/items/1/spec/podCIDRs/0', detail: '10.1.2.1/24 has host bits set (the prefix is 10.1.2.0/24; 10.1.2.1/24 is an interface address)' },
      { pointer: '/items/2/status/podIPs/1/ip', detail: 'a pod has at most one IPv4 address' },
    ]);
  });

  test('no nodes, or both forms at once', () => {
    const pointers = (err: DataError) => err.errors.map((e) => e.pointer);
    assert.deepEqual(pointers(fails(kubectlList([]))), ['/items']);
    assert.deepEqual(pointers(fails({})), ['/items']);
    assert.deepEqual(pointers(fails({ pods: kubectlList([]) })), ['/nodes']);
    assert.deepEqual(pointers(fails({ nodes: kubectlList([]) })), ['/nodes/items']);
    assert.deepEqual(pointers(fails({ ...mini(twoNodes(), []), nodes: kubectlList([]) })), ['/nodes']);
  });

  test('a cluster where no node can be imported is a 422 that says why', () => {
    const err = fails(mini([{ name: 'a', ips: [], podCIDRs: [] }], []), bridge);
    assert.equal(err.status, 422);
    assert.deepEqual(err.errors, [{ pointer: '/items/0', detail: 'node a has no InternalIP or ExternalIP address' }]);
  });
});
