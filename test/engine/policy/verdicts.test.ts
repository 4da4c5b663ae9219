// NetworkPolicy semantics the e2e suite does not reach: endPort ranges, the selector operators, named ports resolved on
// the destination (for egress too), ipBlock except, default policyTypes, ICMP, a pod's own node, hostNetwork pods, the
// rule a denial names and what it misses, and the problems the validator reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTopology, type CompiledTopology } from '../../../src/engine/topology.js';
import { checkTopology } from '../../../src/topology/validate.js';
import { DataError } from '../../../src/topology/data-error.js';
import type { ClusterDoc, NetworkPolicyDoc } from '../../../src/topology/schema.js';
import type { PolicyStep } from '../../../src/engine/trace.js';

const base: ClusterDoc = {
  nodes: [
    { name: 'node-1', addresses: [{ type: 'InternalIP', address: '192.168.0.11' }], podCIDRs: ['10.1.1.0/24'] },
    { name: 'node-2', addresses: [{ type: 'InternalIP', address: '192.168.0.12' }], podCIDRs: ['10.1.2.0/24'] },
  ],
  namespaces: [{ name: 'shop', labels: { team: 'web' } }, { name: 'ops' }],
  pods: [
    { namespace: 'shop', name: 'web', nodeName: 'node-1', podIPs: ['10.1.1.2'], labels: { app: 'web', tier: 'front' } },
    {
      namespace: 'shop',
      name: 'db',
      nodeName: 'node-2',
      podIPs: ['10.1.2.2'],
      labels: { app: 'db' },
      ports: [{ name: 'pg', containerPort: 5432 }, { name: 'metrics', containerPort: 9187 }],
    },
    { namespace: 'ops', name: 'probe', nodeName: 'node-2', podIPs: ['10.1.2.3'], labels: { app: 'probe' } },
    { namespace: 'ops', name: 'agent', nodeName: 'node-1', podIPs: ['192.168.0.11'], hostNetwork: true },
  ],
};

const np = (name: string, namespace: string, spec: NetworkPolicyDoc['spec']): NetworkPolicyDoc => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace },
  spec,
});

const compile = (...policies: NetworkPolicyDoc[]) => compileTopology(checkTopology({ cluster: { ...base, networkPolicies: policies } }));

function run(c: CompiledTopology, from: string, to: string, protocol: 'tcp' | 'udp' | 'sctp' | 'icmp', dstPort?: number) {
  const t = c.trace(c.resolve(from, 'source'), c.resolve(to, 'destination'), 64, undefined, protocol === 'icmp' ? {} : { protocol, dstPort });
  const path = t.paths[0]!;
  const policies = path.hops.flatMap((h) => h.steps).filter((s): s is PolicyStep => s.type === 'POLICY');
  return { disposition: path.disposition, policies, ingress: policies.find((p) => p.direction === 'ingress'), egress: policies.find((p) => p.direction === 'egress') };
}

const dbIngress = (ingress: NonNullable<NetworkPolicyDoc['spec']['ingress']>) => np('db-in', 'shop', { podSelector: { matchLabels: { app: 'db' } }, ingress });

test('endPort admits the range and nothing outside it', () => {
  const c = compile(dbIngress([{ ports: [{ protocol: 'TCP', port: 5000, endPort: 5500 }] }]));
  assert.equal(run(c, 'shop/web', 'shop/db', 'tcp', 5000).disposition, 'DELIVERED');
  assert.equal(run(c, 'shop/web', 'shop/db', 'tcp', 5500).disposition, 'DELIVERED');
  const denied = run(c, 'shop/web', 'shop/db', 'tcp', 5501);
  assert.equal(denied.disposition, 'DENIED');
  assert.deepEqual(denied.ingress?.closest?.unmet, ['the port: TCP/5501 is not one of TCP/5000-5500']);
});

test('a port entry with only a protocol admits every port of it, and no other protocol', () => {
  const c = compile(dbIngress([{ ports: [{ protocol: 'UDP' }] }]));
  assert.equal(run(c, 'shop/web', 'shop/db', 'udp', 53).disposition, 'DELIVERED');
  assert.equal(run(c, 'shop/web', 'shop/db', 'tcp', 53).disposition, 'DENIED');
  // ICMP has no ports: a rule that lists ports never admits it; a rule without ports does.
  assert.equal(run(c, 'shop/web', 'shop/db', 'icmp').disposition, 'DENIED');
  assert.equal(run(compile(dbIngress([{}])), 'shop/web', 'shop/db', 'icmp').disposition, 'DELIVERED');
});

test('matchExpressions: NotIn holds for a pod without the key, DoesNotExist and Exists', () => {
  const rule = (op: 'NotIn' | 'Exists' | 'DoesNotExist', values?: string[]) =>
    compile(dbIngress([{ from: [{ namespaceSelector: {}, podSelector: { matchExpressions: [{ key: 'tier', operator: op, ...(values ? { values } : {}) }] } }] }]));
  assert.equal(run(rule('NotIn', ['front']), 'shop/web', 'shop/db', 'tcp', 5432).disposition, 'DENIED');
  assert.equal(run(rule('NotIn', ['front']), 'ops/probe', 'shop/db', 'tcp', 5432).disposition, 'DELIVERED');
  assert.equal(run(rule('Exists'), 'shop/web', 'shop/db', 'tcp', 5432).disposition, 'DELIVERED');
  assert.equal(run(rule('Exists'), 'ops/probe', 'shop/db', 'tcp', 5432).disposition, 'DENIED');
  assert.equal(run(rule('DoesNotExist'), 'ops/probe', 'shop/db', 'tcp', 5432).disposition, 'DELIVERED');
});

test('a podSelector alone means the policy\'s namespace; with namespaceSelector {} every namespace', () => {
  const alone = compile(dbIngress([{ from: [{ podSelector: { matchLabels: { app: 'probe' } } }] }]));
  const denied = run(alone, 'ops/probe', 'shop/db', 'tcp', 5432);
  assert.equal(denied.disposition, 'DENIED');
  assert.match(denied.ingress!.closest!.unmet[0]!, /not in the policy's namespace shop/);
  const every = compile(dbIngress([{ from: [{ podSelector: { matchLabels: { app: 'probe' } }, namespaceSelector: {} }] }]));
  const allowed = run(every, 'ops/probe', 'shop/db', 'tcp', 5432);
  assert.equal(allowed.disposition, 'DELIVERED');
  assert.deepEqual(allowed.ingress!.allowedBy, {
    policy: { namespace: 'shop', name: 'db-in' },
    rule: 0,
    peer: 'namespaces {} and pods app=probe',
    peerIndex: 0,
    port: undefined,
    portIndex: undefined,
  });
});

test('a denial names every isolating policy and, for the closest rule, the namespace labels it misses', () => {
  const c = compile(
    dbIngress([{ from: [{ namespaceSelector: { matchLabels: { team: 'web' } }, podSelector: { matchLabels: { app: 'probe' } } }], ports: [{ port: 'pg' }] }]),
    np('db-deny', 'shop', { podSelector: {}, policyTypes: ['Ingress'] }),
  );
  const r = run(c, 'ops/probe', 'shop/db', 'tcp', 5432);
  assert.equal(r.disposition, 'DENIED');
  assert.deepEqual(r.ingress!.isolatedBy.map((p) => p.name), ['db-in', 'db-deny']);
  assert.equal(r.ingress!.closest!.policy.name, 'db-in');
  assert.deepEqual(r.ingress!.closest!.unmet, [
    'namespace labels: ops does not match team=web: needs team=web (it has no team)',
  ]);
});

test('named ports resolve on the destination pod, for egress too', () => {
  const egress = np('web-out', 'shop', {
    podSelector: { matchLabels: { app: 'web' } },
    policyTypes: ['Egress'],
    egress: [{ ports: [{ port: 'pg' }] }],
  });
  const c = compile(egress);
  const ok = run(c, 'shop/web', 'shop/db', 'tcp', 5432);
  assert.equal(ok.disposition, 'DELIVERED');
  assert.equal(ok.egress!.allowedBy!.port, 'TCP/pg');
  // The probe pod has no port named pg: the name matches nothing there.
  assert.equal(run(c, 'shop/web', 'ops/probe', 'tcp', 5432).disposition, 'DENIED');
  assert.equal(run(c, 'shop/web', 'shop/db', 'tcp', 9187).disposition, 'DENIED');
});

test('policyTypes absent: Ingress always, Egress only when the policy has egress rules', () => {
  const withEgress = np('web', 'shop', { podSelector: { matchLabels: { app: 'web' } }, egress: [{ to: [{ ipBlock: { cidr: '10.1.2.0/24', except: ['10.1.2.3/32'] } }] }] });
  const c = compile(withEgress);
  assert.equal(run(c, 'shop/web', 'shop/db', 'tcp', 80).disposition, 'DELIVERED');
  const except = run(c, 'shop/web', 'ops/probe', 'tcp', 80);
  assert.equal(except.disposition, 'DENIED');
  assert.deepEqual(except.egress!.closest!.unmet, ['ipBlock: 10.1.2.3 is in 10.1.2.0/24 but also in its except 10.1.2.3/32']);
  // Ingress is isolated too (no ingress rules: nothing is admitted).
  assert.equal(run(c, 'shop/db', 'shop/web', 'tcp', 80).disposition, 'DENIED');
  // Without egress rules the policy isolates ingress only.
  const ingressOnly = compile(np('web', 'shop', { podSelector: { matchLabels: { app: 'web' } } }));
  assert.equal(run(ingressOnly, 'shop/web', 'ops/probe', 'tcp', 80).egress!.verdict, 'NOT_ISOLATED');
});

test("the pod's own node (and its hostNetwork pods) pass an isolated pod's ingress; another node does not", () => {
  const c = compile(np('deny', 'shop', { podSelector: {}, policyTypes: ['Ingress'] }));
  const own = run(c, 'node-1', 'shop/web', 'tcp', 80);
  assert.equal(own.disposition, 'DELIVERED');
  assert.equal(own.ingress!.verdict, 'FROM_NODE');
  assert.equal(run(c, 'ops/agent', 'shop/web', 'tcp', 80).ingress!.verdict, 'FROM_NODE');
  assert.equal(run(c, 'node-2', 'shop/web', 'tcp', 80).disposition, 'DENIED');
  // A hostNetwork pod is not subject to NetworkPolicy: its egress has no POLICY step.
  const out = compile(np('deny-out', 'ops', { podSelector: {}, policyTypes: ['Egress'] }));
  assert.equal(run(out, 'ops/agent', 'shop/db', 'tcp', 80).egress, undefined);
  assert.equal(run(out, 'ops/probe', 'shop/db', 'tcp', 80).disposition, 'DENIED');
});

test('a pod reaching itself is not filtered', () => {
  const c = compile(np('deny', 'shop', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }));
  const r = run(c, 'shop/web', 'shop/web', 'tcp', 80);
  assert.equal(r.disposition, 'DELIVERED');
  assert.deepEqual(r.policies, []);
});

test('a cluster without policies traces as before: no POLICY steps', () => {
  const c = compileTopology(checkTopology({ cluster: base }));
  assert.deepEqual(run(c, 'shop/web', 'shop/db', 'tcp', 80).policies, []);
});

test('the validator reports what the API server refuses, at JSON pointers', () => {
  const bad = np('bad', 'shop', {
    podSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] },
    ingress: [
      {
        from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['192.168.0.0/16'] }, podSelector: {} }, {}],
        ports: [{ port: 'Not_A_Name' }, { port: 90, endPort: 80 }, { port: 'http', endPort: 90 }],
      },
    ],
  });
  try {
    checkTopology({ cluster: { ...base, networkPolicies: [bad, np('bad', 'shop', { podSelector: {} })] } });
    assert.fail('accepted');
  } catch (err) {
    assert.ok(err instanceof DataError);
    const pointers = err.errors.map((e) => e.pointer).sort();
    assert.deepEqual(pointers, [
      '/cluster/networkPolicies/0/spec/ingress/0/from/0/ipBlock',
      '/cluster/networkPolicies/0/spec/ingress/0/from/0/ipBlock/except/0',
      '/cluster/networkPolicies/0/spec/ingress/0/from/1',
      '/cluster/networkPolicies/0/spec/ingress/0/ports/0/port',
      '/cluster/networkPolicies/0/spec/ingress/0/ports/1/endPort',
      '/cluster/networkPolicies/0/spec/ingress/0/ports/2/endPort',
      '/cluster/networkPolicies/0/spec/podSelector/matchExpressions/0/values',
      '/cluster/networkPolicies/1/metadata/name',
    ]);
  }
});
