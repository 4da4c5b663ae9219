// Imports of objects that real clusters printed (test/fixtures/kubernetes/real/, sources in SOURCES.md), traced: what the
// objects state (a tunnel address, a node subnet, cilium_host's address, a VTEP MAC) is what the trace uses.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CniRequiredError, importKubernetes, type ImportOptions, type KubernetesImport } from '../../src/import/kubernetes.js';
import { compileTopology, type CompiledTopology } from '../../src/engine/topology.js';
import { netnsDoc, run } from '../engine/compile/helpers.js';

type Obj = Record<string, any>;

const capture = (name: string): Obj => JSON.parse(readFileSync(new URL(`../fixtures/kubernetes/real/${name}.json`, import.meta.url), 'utf8'));

function imported(body: Obj, options: ImportOptions = {}): { r: KubernetesImport; c: CompiledTopology } {
  const r = importKubernetes(body as never, options);
  return { r, c: compileTopology(r.spec) };
}

const warning = (r: KubernetesImport, code: string) => r.warnings.find((w) => w.code === code);
const link = (c: CompiledTopology, netns: string, name: string) => netnsDoc(c, netns).links.find((l) => l.name === name);

describe('kind with Calico IP-in-IP (a node whose pod CIDR is not where Calico put its pods)', () => {
  const node = 'ks-cloud-control-plane';
  const coredns = 'kube-system/coredns-64897985d-v4dx9';

  test("the node's subnet is Calico's IPv4Address, and its gateway, which no object names, is assumed and said so", () => {
    const { r, c } = imported(capture('kind-calico-ipip'));
    assert.deepEqual(r.cluster.cni, { plugin: 'calico', mode: 'ipip' });
    assert.deepEqual(link(c, node, 'eth0')!.addresses, ['172.18.0.3/16']);
    assert.deepEqual(r.cluster.network, { cidr: '172.18.0.0/16', gateway: '172.18.0.1' });
    assert.match(warning(r, 'network-gateway-assumed')!.detail, /172\.18\.0\.1 on 172\.18\.0\.0\/16 .*IPv4Address annotations\) was assumed/);
    // Another host of kind's docker network is on the node's own subnet: asked for by ARP, not unroutable.
    assert.equal(run(c, node, '172.18.0.2').disposition, 'NEIGHBOR_UNREACHABLE');
    assert.equal(run(c, node, '8.8.8.8').disposition, 'EXITS_NETWORK');
  });

  test('the pods reach each other and the internet through the proxy-ARP gateway 169.254.1.1', () => {
    const { c } = imported(capture('kind-calico-ipip'));
    const local = run(c, coredns, 'kube-system/calico-kube-controllers-7f76d48f74-4qx4h');
    assert.equal(local.disposition, 'DELIVERED');
    assert.equal(local.hops[0]!.steps.find((s) => s.type === 'TRANSMIT')!.neighbor, '169.254.1.1');
    const out = run(c, coredns, '8.8.8.8');
    assert.equal(out.disposition, 'EXITS_NETWORK');
    assert.deepEqual(out.hops.map((h) => h.netns), [coredns, node]);
  });

  test("the node's block is its tunnel address's, where its pods are, not kubeadm's pod CIDR", () => {
    const { c } = imported(capture('kind-calico-ipip'));
    assert.deepEqual(link(c, node, 'tunl0')!.addresses, ['10.244.72.192/32']);
    const blackholes = netnsDoc(c, node).routes!.filter((x) => x.type === 'blackhole').map((x) => x.dst);
    assert.deepEqual(blackholes, ['10.244.72.192/26']);
    // The node list alone (kubectl get nodes -o json) says the same: the annotation, not the pod CIDR, tells.
    const nodesOnly = capture('kind-calico-ipip');
    nodesOnly.items = nodesOnly.items.filter((i: Obj) => i.kind === 'Node');
    const alone = imported(nodesOnly).c;
    assert.deepEqual(link(alone, node, 'tunl0')!.addresses, ['10.244.72.192/32']);
    assert.deepEqual(netnsDoc(alone, node).routes!.filter((x) => x.type === 'blackhole').map((x) => x.dst), ['10.244.72.192/26']);
  });

  test('finished pods are left out and explained; hostNetwork pods are the node', () => {
    const { r, c } = imported(capture('kind-calico-ipip'));
    assert.equal(r.counts.skipped.terminated, 2);
    assert.deepEqual(warning(r, 'pod-terminated')!.examples, [
      { pointer: '/items/4/status/phase', detail: 'pod ingress-nginx/ingress-nginx-admission-patch-cxh6p is Completed (its status still shows 10.244.72.194)' },
      { pointer: '/items/5/status/phase', detail: 'pod ingress-nginx/ingress-nginx-admission-create-cdkxl is Completed (its status still shows 10.244.72.197)' },
    ]);
    assert.equal(r.counts.pods, 8);
    const proxy = run(c, 'kube-system/kube-proxy-8mtbj', coredns);
    const fromNode = run(c, node, coredns);
    assert.deepEqual(proxy.hops.map((h) => h.netns), fromNode.hops.map((h) => h.netns));
    assert.equal(proxy.hops[0]!.steps[0]!.src, fromNode.hops[0]!.steps[0]!.src);
  });
});

describe('RKE2 with Canal', () => {
  test('detected as Canal: flannel.1 between the nodes with the VTEP MACs of backend-data, cali veths, no cni0', () => {
    const { r, c } = imported(capture('rke2-canal-nodes'));
    assert.deepEqual(r.cluster.cni, { plugin: 'flannel', backend: 'vxlan', pods: 'calico' });
    const a = 'oneke-ip-172-20-0-100';
    assert.deepEqual(
      netnsDoc(c, a).links.map((l) => l.name),
      ['eth0', 'flannel.1'],
    );
    assert.equal(link(c, a, 'flannel.1')!.mac, '6e:c7:7a:19:fb:7f');
    assert.deepEqual(link(c, a, 'flannel.1')!.addresses, ['10.244.0.0/32']);
    // What `ip neigh show dev flannel.1` shows on the node: the other nodes' VTEP MACs, and the ENCAPSULATE step says it.
    const neigh = netnsDoc(c, a).neigh!.map((n) => `${n.dst} ${n.lladdr}`);
    assert.ok(neigh.includes('10.244.2.0 1a:f1:ed:df:19:cd'), neigh.join(', '));
    const t = run(c, a, '10.244.2.5');
    const encap = t.hops[0]!.steps.find((s) => s.type === 'ENCAPSULATE')!;
    assert.equal(encap.lladdr, '1a:f1:ed:df:19:cd');
    assert.deepEqual(t.hops.map((h) => h.netns), [a, 'oneke-ip-172-20-0-102']);
    // No pod has 10.244.2.5: the far node has no route of its own CIDR for it, and sends it to its default route.
    assert.equal(t.disposition, 'EXITS_NETWORK');
  });

  test("Canal's pods: a cali veth with proxy ARP and a /32 route on the node; across nodes over flannel.1", () => {
    const body = capture('rke2-canal-nodes');
    const pod = (name: string, node: number, ip: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      spec: { nodeName: `oneke-ip-172-20-0-10${node}` },
      status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
    });
    body.items.push(pod('web-1', 1, '10.244.1.7'), pod('web-2', 2, '10.244.2.9'), pod('web-3', 1, '10.244.1.8'));
    const { c } = imported(body);
    const b = netnsDoc(c, 'oneke-ip-172-20-0-101');
    const cali = b.links.filter((l) => l.name.startsWith('cali'));
    assert.equal(cali.length, 2);
    assert.ok(cali.every((l) => l.proxyArp === true));
    assert.ok(b.routes!.some((x) => x.dst === '10.244.1.7' && x.dev?.startsWith('cali')));
    assert.equal(run(c, 'web-1', 'web-3').disposition, 'DELIVERED');
    const across = run(c, 'web-1', 'web-2');
    assert.equal(across.disposition, 'DELIVERED');
    assert.deepEqual(across.hops.map((h) => h.netns), ['default/web-1', 'oneke-ip-172-20-0-101', 'oneke-ip-172-20-0-102', 'default/web-2']);
    assert.equal(across.hops[1]!.steps.find((s) => s.type === 'ENCAPSULATE')!.lladdr, '1a:f1:ed:df:19:cd');
    assert.equal(run(c, 'web-1', '8.8.8.8').disposition, 'EXITS_NETWORK');
  });
});

describe('DigitalOcean with Cilium (the annotations of Cilium before 1.12)', () => {
  test("cilium_host holds the annotated router IP, and the health endpoint answers on its node", () => {
    const { r, c } = imported(capture('doks-cilium-node'));
    assert.deepEqual(r.cluster.cni, { plugin: 'cilium' });
    const node = 'pool-un5t2n2gp-8b870';
    assert.deepEqual(link(c, node, 'cilium_host')!.addresses, ['10.244.60.81/32']);
    const host = run(c, node, '10.244.60.81');
    assert.equal(host.disposition, 'DELIVERED');
    assert.deepEqual(host.hops.map((h) => h.netns), [node]);
    const health = run(c, node, '10.244.60.6');
    assert.equal(health.disposition, 'DELIVERED');
    assert.deepEqual(health.hops.map((h) => h.netns), [node, `${node}/cilium-health`]);
    assert.match(r.cni.note!, /tunnel with vxlan, Cilium's default, is assumed/);
  });
});

describe('OpenShift 4.12 with OVN-Kubernetes (the nodes, as the API printed them)', () => {
  test('refused with 422 cni-required that names OVN-Kubernetes and the annotation that told, not "cannot tell"', () => {
    let err: unknown;
    try {
      importKubernetes(capture('openshift-ovn-nodes') as never);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof CniRequiredError, String(err));
    assert.equal(err.status, 422);
    assert.match(err.message, /^the objects name a data path that is not modelled: the cluster runs OVN-Kubernetes \(metadata\.annotations\["k8s\.ovn\.org\/node-subnets"\] of node ocp-worker2\.domain\.local\)/);
    assert.deepEqual(err.evidence, ['ovn-kubernetes: metadata.annotations["k8s.ovn.org/node-subnets"] of node ocp-worker2.domain.local']);
  });

  test('a data path given anyway is stored with a warning that the objects say OVN, whose node subnets are not spec.podCIDR', () => {
    const { r } = imported(capture('openshift-ovn-nodes'), { plugin: 'bridge' });
    assert.deepEqual(r.cluster.cni, { plugin: 'bridge', routes: 'host-gw' });
    const w = warning(r, 'cni-differs-from-detected')!;
    assert.match(w.detail, /^cni was given as bridge \(host-gw routes\), but the cluster runs OVN-Kubernetes/);
    assert.deepEqual(w.examples, [{ pointer: '/items/0', detail: 'metadata.annotations["k8s.ovn.org/node-subnets"] of node ocp-worker2.domain.local names a data path that is not modelled' }]);
    // What the import reads of these nodes: spec.podCIDR (kube-controller-manager's), which OVN does not use: its
    // node-subnets annotation (10.128.8.0/23) is where the pods are.
    assert.deepEqual(r.cluster.nodes.map((n) => [n.name, n.addresses[0]!.address, n.podCIDRs]), [
      ['ocp-worker2.domain.local', '172.10.57.12', ['10.128.4.0/24']],
      ['ocp-worker3.domain.local', '172.10.57.13', ['10.128.3.0/24']],
    ]);
  });
});

describe('GKE, routes-based (a node and a pod, as the API printed them)', () => {
  const node = 'gke-gar-1-pool-1-dce25db1-2mm5';

  test("the route controller's NetworkUnavailable message says the VPC routes the node's pod CIDR to it: bridge with cloud routes", () => {
    const { r, c } = imported(capture('gke-routes-node'));
    assert.deepEqual(r.cluster.cni, { plugin: 'bridge', routes: 'cloud' });
    assert.equal(r.cni.detectedFrom, `status.conditions[0].message ("RouteController created a route") of node ${node}`);
    assert.deepEqual(r.cluster.nodes.map((n) => n.podCIDRs), [['10.48.10.0/24']]);
    assert.deepEqual(netnsDoc(c, 'vpc-router').routes!.map((x) => `${x.dst} via ${x.gateway}`), ['10.48.10.0/24 via 10.128.0.4', 'default via 169.254.255.2']);
    // The node reaches the internet through the VPC router, and its own pod CIDR is on cbr0.
    const out = run(c, node, '8.8.8.8');
    assert.equal(out.disposition, 'EXITS_NETWORK');
    assert.deepEqual(out.hops.map((h) => h.netns), [node, 'vpc-router']);
    assert.deepEqual(link(c, node, 'cbr0')!.addresses, ['10.48.10.1/24']);
  });

  test('the pod runs on a node the capture does not hold: left out, and said so', () => {
    const { r } = imported(capture('gke-routes-node'));
    assert.equal(r.counts.skipped.unknownNode, 1);
    assert.deepEqual(warning(r, 'pod-on-unknown-node')!.examples, [
      { pointer: '/items/1/spec/nodeName', detail: 'pod test-ns/cost-attribution-prometheus-5dd645756b-w4n7s runs on node gke-gar-1-pool-1-acc63c03-7zvd, which is not in the objects sent' },
    ]);
  });

  test("the cloud CIDR allocator's message, or none, is VPC-native (alias ranges, ptp veths)", () => {
    const body = capture('gke-routes-node');
    body.items[0].status.conditions[0].message = 'NodeController create implicit route';
    const { r } = imported(body);
    assert.deepEqual(r.cluster.cni, { plugin: 'gke' });
    assert.equal(r.cni.detectedFrom, `status.conditions[0].message ("NodeController create implicit route") of node ${node}`);
    body.items[0].status.conditions = body.items[0].status.conditions.filter((x: Obj) => x.type !== 'NetworkUnavailable');
    assert.deepEqual(imported(body).r.cluster.cni, { plugin: 'gke' });
  });
});
