// AdminNetworkPolicy and BaselineAdminNetworkPolicy over HTTP: stored with a cluster, a trace whose POLICY step names
// the deciding ANP rule (JSON and text), a what-if that turns its action into Pass and so hands the verdict to
// NetworkPolicy, the diff naming the admin policy changed, and the problem document a bad one gets.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, type TestApp } from '../../helpers/app.js';

const anp = {
  apiVersion: 'policy.networking.k8s.io/v1alpha1',
  kind: 'AdminNetworkPolicy',
  metadata: { name: 'no-ops-to-db', uid: '77aa', generation: 3 },
  spec: {
    priority: 20,
    subject: { pods: { namespaceSelector: { matchLabels: { team: 'web' } }, podSelector: { matchLabels: { app: 'db' } } } },
    ingress: [{ name: 'deny-ops', action: 'Deny', from: [{ namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'ops' } } }] }],
  },
  status: { conditions: [] },
};
// Two nodes; shop/web and ops/probe on node-a, shop/db on node-b.
const pod = (namespace: string, app: string, node: 'a' | 'b', ip: string) => ({ namespace, name: app, nodeName: `node-${node}`, podIPs: [ip], labels: { app } });
const cluster = {
  nodes: (['a', 'b'] as const).map((n, i) => ({ name: `node-${n}`, addresses: [{ type: 'InternalIP', address: `192.168.0.${11 + i}` }], podCIDRs: [`10.1.${1 + i}.0/24`] })),
  namespaces: [{ name: 'shop', labels: { team: 'web' } }, { name: 'ops' }],
  pods: [pod('shop', 'web', 'a', '10.1.1.2'), pod('shop', 'db', 'b', '10.1.2.2'), pod('ops', 'probe', 'a', '10.1.1.3')],
  networkPolicies: [
    {
      metadata: { name: 'db-from-ops', namespace: 'shop' },
      spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'probe' } } }] }] },
    },
  ],
  adminNetworkPolicies: [anp],
};

let t: TestApp;
before(async () => {
  t = await openTestApp();
  // Stored with PUT, as `kubectl`-style tooling would apply it; the diff test below writes revision 2 the same way.
  const created = await t.app.inject({ method: 'PUT', url: '/v1/topologies/shop', payload: { cluster } });
  assert.equal(created.statusCode, 201, created.body);
});
after(() => t.close());

const policySteps = (a: { hops: { steps: { type: string }[] }[] }) =>
  a.hops.flatMap((h) => h.steps).filter((s): s is { type: 'POLICY'; direction: string; [k: string]: unknown } => s.type === 'POLICY');

test('the ANP Deny decides before the NetworkPolicy that allows, and the step names it', async () => {
  const res = await t.app.inject('/v1/topologies/shop/trace?from=ops/probe&to=shop/db&protocol=tcp&port=5432');
  assert.equal(res.statusCode, 200);
  const a = res.json();
  assert.equal(a.disposition, 'DENIED');
  const ingress = policySteps(a).find((s) => s.direction === 'ingress')!;
  assert.equal(ingress.verdict, 'DENIED');
  assert.deepEqual(ingress.decidedBy, {
    kind: 'AdminNetworkPolicy',
    name: 'no-ops-to-db',
    priority: 20,
    rule: 0,
    ruleName: 'deny-ops',
    action: 'Deny',
    peer: 'namespaces kubernetes.io/metadata.name=ops',
    peerIndex: 0,
  });
  const text = await t.app.inject({ url: '/v1/topologies/shop/trace?from=ops/probe&to=shop/db&protocol=tcp&port=5432', headers: { accept: 'text/plain' } });
  assert.match(text.body, /denied by AdminNetworkPolicy no-ops-to-db \(priority 20\) ingress rule 0 "deny-ops"/);
});

test('the ANP denial names the closest Allow rule before it and what it misses, in JSON and text', async () => {
  const https = { name: 'https-from-ops', action: 'Allow', from: anp.spec.ingress[0]!.from, ports: [{ portNumber: { protocol: 'TCP', port: 443 } }] };
  const guarded = { ...anp, spec: { ...anp.spec, ingress: [https, anp.spec.ingress[0]!] } };
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/traces',
    payload: { base: 'shop', patch: { cluster: { adminNetworkPolicies: [guarded] } }, flows: [{ from: 'ops/probe', to: 'shop/db', protocol: 'tcp', port: 5432 }] },
  });
  assert.equal(res.statusCode, 200, res.body);
  const ingress = policySteps(res.json().traces[0].trace).find((s) => s.direction === 'ingress')!;
  assert.equal((ingress.decidedBy as { ruleName: string }).ruleName, 'deny-ops');
  assert.deepEqual(ingress.closestAdmin, {
    kind: 'AdminNetworkPolicy',
    name: 'no-ops-to-db',
    priority: 20,
    rule: 0,
    ruleName: 'https-from-ops',
    action: 'Allow',
    peer: 'namespaces kubernetes.io/metadata.name=ops',
    peerIndex: 0,
    unmet: ['the port: TCP/5432 is not one of TCP/443'],
  });
  assert.match(ingress.explanation as string, /the closest Allow rule before it, AdminNetworkPolicy no-ops-to-db \(priority 20\) ingress rule 0 "https-from-ops", does not match: the port/);
});

test('a what-if that makes the rule Pass hands the verdict to NetworkPolicy, which allows', async () => {
  const pass = { ...anp, spec: { ...anp.spec, ingress: [{ ...anp.spec.ingress[0]!, action: 'Pass' }] } };
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/traces',
    payload: { base: 'shop', patch: { cluster: { adminNetworkPolicies: [pass] } }, flows: [{ from: 'ops/probe', to: 'shop/db', protocol: 'tcp', port: 5432 }] },
  });
  assert.equal(res.statusCode, 200, res.body);
  const trace = res.json().traces[0].trace;
  assert.equal(trace.disposition, 'DELIVERED');
  const ingress = policySteps(trace).find((s) => s.direction === 'ingress')!;
  assert.equal(ingress.verdict, 'ALLOWED');
  assert.deepEqual((ingress.allowedBy as { policy: unknown }).policy, { namespace: 'shop', name: 'db-from-ops' });
  assert.equal((ingress.passedBy as { action: string }).action, 'Pass');
});

test('diff between revisions names the admin policy that changed', async () => {
  const lower = { ...anp, spec: { ...anp.spec, priority: 30 } };
  const put = await t.app.inject({ method: 'PUT', url: '/v1/topologies/shop', payload: { cluster: { ...cluster, adminNetworkPolicies: [lower] } } });
  assert.equal(put.statusCode, 200, put.body);
  const d = (await t.app.inject('/v1/topologies/shop/diff?from=1&to=2')).json();
  assert.deepEqual(d.changes.adminNetworkPolicies, { added: [], removed: [], changed: ['AdminNetworkPolicy/no-ops-to-db'] });
});

test('an admin policy the CRD would refuse is a 422 with its JSON pointer', async () => {
  const bad = { ...anp, spec: { ...anp.spec, ingress: [{ action: 'Deny', from: [{ networks: ['10.0.0.0/8'] }] }] } };
  const res = await t.app.inject({ method: 'PUT', url: '/v1/topologies/bad', payload: { cluster: { ...cluster, adminNetworkPolicies: [bad] } } });
  assert.equal(res.statusCode, 422, res.body);
  assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.deepEqual(res.json().errors.map((e: { pointer: string }) => e.pointer), ['/cluster/adminNetworkPolicies/0/spec/ingress/0/from/0/networks']);
  const shape = await t.app.inject({ method: 'PUT', url: '/v1/topologies/bad', payload: { cluster: { ...cluster, adminNetworkPolicies: [{ ...anp, spec: { ...anp.spec, priority: 1001 } }] } } });
  assert.equal(shape.statusCode, 400);
});
