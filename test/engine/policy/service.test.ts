// NetworkPolicy through a Service: kube-proxy's DNAT and masquerade happen before the policies see the packet, so the
// source pod's egress is judged against the endpoint and its target port, and the endpoint's ingress against the source
// the packet arrives with (the node's address after a masquerade). Judged against the flow as sent, each case here would
// come out the other way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTopology } from '../../../src/engine/topology.js';
import { checkTopology } from '../../../src/topology/validate.js';
import { Addr } from '../../../src/engine/addr.js';
import type { ClusterDoc, NetworkPolicyDoc } from '../../../src/topology/schema.js';
import type { Path, PolicyStep } from '../../../src/engine/trace.js';
import { explain } from '../../../src/answer/explain.js';
import { serviceCluster } from '../service/clusters.js';

const labelled = (): ClusterDoc => {
  const c = serviceCluster();
  return { ...c, pods: c.pods!.map((p) => ({ ...p, labels: { app: p.name.startsWith('web') ? 'web' : 'client' } })) };
};

const np = (name: string, spec: NetworkPolicyDoc['spec']): NetworkPolicyDoc => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: 'default' },
  spec,
});

/** web's ingress: TCP 8080 (the target port, not the Service's 80) from the client pods only. */
const webIngress = np('web-in', {
  podSelector: { matchLabels: { app: 'web' } },
  ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
});

/** client's egress: TCP 8080 to the web pods only; no rule names the ClusterIP or port 80. */
const clientEgress = np('client-out', {
  podSelector: { matchLabels: { app: 'client' } },
  policyTypes: ['Egress'],
  egress: [{ to: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
});

function traceToService(cluster: ClusterDoc) {
  const c = compileTopology(checkTopology({ cluster }));
  const t = c.trace(c.resolve('client', 'source'), { name: 'web', kind: 'address', netns: undefined, addrs: [Addr.parse('10.96.0.10')], v4: Addr.parse('10.96.0.10'), v6: undefined }, 64, undefined, {
    protocol: 'tcp',
    srcPort: 40000,
    dstPort: 80,
  });
  return { c, t };
}

const policies = (p: Path) => p.hops.flatMap((h) => h.steps).filter((s): s is PolicyStep => s.type === 'POLICY');
const endpointOf = (p: Path) => p.hops.flatMap((h) => h.steps).find((s) => s.type === 'DNAT')!.to!.address.toString();

test('egress through a Service is judged against the endpoint kube-proxy chose and its target port', () => {
  const { t } = traceToService({ ...labelled(), networkPolicies: [clientEgress] });
  // Two ready endpoints: a path for each.
  assert.deepEqual(t.paths.map(endpointOf).sort(), ['10.1.1.10', '10.1.2.10']);
  for (const path of t.paths) {
    assert.equal(path.disposition, 'DELIVERED');
    const egress = policies(path).find((s) => s.direction === 'egress')!;
    assert.equal(egress.verdict, 'ALLOWED');
    assert.equal(egress.peer.toString(), endpointOf(path));
    assert.equal(egress.peerPod, endpointOf(path) === '10.1.1.10' ? 'default/web-a' : 'default/web-b');
    assert.equal(egress.port, 8080);
  }
});

test('ingress behind a Service is judged at the target port, from the client pod when nothing masquerades', () => {
  const { t } = traceToService({ ...labelled(), networkPolicies: [webIngress] });
  for (const path of t.paths) {
    assert.equal(path.disposition, 'DELIVERED');
    const ingress = policies(path).find((s) => s.direction === 'ingress')!;
    assert.equal(ingress.verdict, 'ALLOWED');
    assert.equal(ingress.peer.toString(), '10.1.1.2');
    assert.equal(ingress.peerPod, 'default/client');
    assert.equal(ingress.port, 8080);
  }
});

test('ingress behind a masquerading kube-proxy sees the node, not the client pod', () => {
  const { c, t } = traceToService({ ...labelled(), kubeProxy: { iptables: { masqueradeAll: true } }, networkPolicies: [webIngress] });
  const remote = t.paths.find((p) => endpointOf(p) === '10.1.2.10')!;
  const snat = remote.hops.flatMap((h) => h.steps).find((s) => s.type === 'SNAT');
  assert.ok(snat !== undefined, 'masqueradeAll masquerades the packet');
  // Masqueraded to node-a's address: not a client pod, and not web-b's own node, so web-b's policy denies it.
  assert.equal(remote.disposition, 'DENIED');
  const ingress = policies(remote).find((s) => s.direction === 'ingress')!;
  assert.equal(ingress.verdict, 'DENIED');
  assert.equal(ingress.peer.toString(), snat.to.toString());
  assert.equal(ingress.peerPod, undefined);
  const last = remote.hops[remote.hops.length - 1]!.steps.at(-1)!;
  assert.deepEqual(last.type === 'DROP' && last.detail, { kind: 'policy', direction: 'ingress' });
  // The local endpoint gets the packet from its own node's address, which a pod cannot block.
  const local = t.paths.find((p) => endpointOf(p) === '10.1.1.10')!;
  assert.equal(local.disposition, 'DELIVERED');
  assert.equal(policies(local).find((s) => s.direction === 'ingress')!.verdict, 'FROM_NODE');
  // The answer says so in words, naming the masqueraded source.
  const answer = explain(c.fabric, { ...t, paths: [remote] }, { from: 'client', to: 'web' });
  const step = answer.hops.flatMap((h) => h.steps).find((s) => s.type === 'POLICY' && s.direction === 'ingress')!;
  assert.match(step.explanation, new RegExp(`${snat.to.toString().replace(/\./g, '\\.')} → default/web-b \\(TCP/8080\\) is denied`));
});
