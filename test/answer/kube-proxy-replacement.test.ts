// Cilium's kube-proxy replacement (cilium-config kube-proxy-replacement): a trace through a Service says that Cilium's
// BPF programs, not kube-proxy's iptables rules, translate it, and where; the endpoints and the outcome are the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerFlow } from '../../src/answer/flow.js';
import { compileTopology } from '../../src/engine/topology.js';
import { checkTopologyBody } from '../../src/import/body.js';
import { serviceCluster } from '../engine/service/clusters.js';

type Json = Record<string, any>;

function answer(kubeProxyReplacement: boolean | undefined, to: string): Json {
  const cluster = { ...serviceCluster(), cni: { plugin: 'cilium' as const, ...(kubeProxyReplacement !== undefined ? { kubeProxyReplacement } : {}) } };
  const compiled = compileTopology(checkTopologyBody({ cluster }).spec);
  return answerFlow(compiled, { name: 'kpr', revision: 1 }, { from: 'client', to, port: 80, protocol: 'tcp', endpoint: '10.1.2.10' } as never);
}

test('with kube-proxy-replacement a trace to a ClusterIP says Cilium translates it at the socket or tc, with the same endpoints', () => {
  const replaced = answer(true, 'svc/default/web');
  const plain = answer(undefined, 'svc/default/web');
  assert.equal(replaced.disposition, 'DELIVERED');
  const dnat = (a: Json) => a.hops.flatMap((h: Json) => h.steps.filter((s: Json) => s.type === 'DNAT'));
  assert.deepEqual(dnat(replaced)[0].to, dnat(plain)[0].to);
  assert.deepEqual(dnat(replaced)[0].endpoints, dnat(plain)[0].endpoints);
  // The step says who translates: Cilium, not kube-proxy's iptables mode (which the cluster would otherwise default to).
  assert.equal(dnat(replaced)[0].mode, 'cilium');
  assert.equal(dnat(plain)[0].mode, 'iptables');
  assert.equal(dnat(answer(false, 'svc/default/web'))[0].mode, 'iptables');
  assert.match(dnat(replaced)[0].explanation, /^10\.96\.0\.10:80 is the ClusterIP of default\/web:http \(TCP\): Cilium's kube-proxy replacement in node-a DNATs it to one of 2 endpoints/);
  assert.match(dnat(plain)[0].explanation, /: kube-proxy in node-a DNATs it/);
  const [note] = replaced.notes.filter((n: string) => n.startsWith("Cilium's kube-proxy replacement"));
  assert.match(note, /translated at its socket \(connect\(\), before the packet exists\) or at the tc hook of its lxc device/);
  assert.equal(plain.notes.some((n: string) => n.includes('kube-proxy replacement')), false);
  assert.equal(answer(false, 'svc/default/web').notes.some((n: string) => n.includes('kube-proxy replacement')), false);
  // A trace that meets no Service says nothing of it.
  assert.equal(answer(true, 'client-b').notes.some((n: string) => n.includes('kube-proxy replacement')), false);
});

test("with kube-proxy-replacement a Service's REJECT is Cilium's, and kube-proxy's nftables check is not there to reject a port", () => {
  const cluster = (kubeProxyReplacement: boolean) => {
    const c = serviceCluster();
    // No endpoint left: the Service rejects (Cilium answers a Service without backends as kube-proxy does, by default).
    c.endpointSlices = [];
    return { ...c, kubeProxy: { mode: 'nftables' as const }, serviceCIDRs: ['10.96.0.0/16'], cni: { plugin: 'cilium' as const, kubeProxyReplacement } };
  };
  const trace = (kubeProxyReplacement: boolean, port: number) =>
    answerFlow(compileTopology(checkTopologyBody({ cluster: cluster(kubeProxyReplacement) }).spec), { name: 'kpr', revision: 1 }, {
      from: 'client',
      to: '10.96.0.10',
      port,
      protocol: 'tcp',
    } as never) as Json;
  const replaced = trace(true, 80);
  assert.equal(replaced.disposition, 'REJECTED');
  assert.match(replaced.summary, /Cilium's kube-proxy replacement rejects the packet: default\/web:http has no usable endpoint/);
  assert.doesNotMatch(replaced.summary, /: kube-proxy rejects/);
  const proxied = trace(false, 80);
  assert.equal(proxied.disposition, 'REJECTED');
  assert.match(proxied.summary, /: kube-proxy rejects the packet: default\/web:http has no usable endpoint/);
  // Port 81 is no port of the ClusterIP: kube-proxy's nftables mode rejects it in cluster-ips-check; without kube-proxy
  // no such rule exists and the packet is routed as any other (to the node's default route, out of the model).
  assert.equal(trace(false, 81).disposition, 'REJECTED');
  assert.match(trace(false, 81).summary, /cluster-ips-check/);
  const unchecked = trace(true, 81);
  assert.notEqual(unchecked.disposition, 'REJECTED');
  assert.doesNotMatch(unchecked.summary, /cluster-ips-check/);
});
