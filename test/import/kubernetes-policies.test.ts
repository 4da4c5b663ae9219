// The kubectl import reads what NetworkPolicy verdicts need from the same List: Namespaces, NetworkPolicies, pod labels
// and container ports; the imported cluster then denies what the policies deny.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { importKubernetes, KubernetesImportBody } from '../../src/import/kubernetes.js';
import { compileTopology } from '../../src/engine/topology.js';

const validBody = new Ajv({ allErrors: true, strict: true }).compile(KubernetesImportBody);
const list = () => JSON.parse(readFileSync(new URL('../fixtures/kubernetes/flannel-host-gw.json', import.meta.url), 'utf8')) as { items: Record<string, unknown>[] };

const policy = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'db-from-web', namespace: 'default', uid: '0d1e', resourceVersion: '812', generation: 1, creationTimestamp: '2026-11-30T09:00:00Z' },
  spec: {
    podSelector: { matchLabels: { app: 'db' } },
    policyTypes: ['Ingress'],
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ protocol: 'TCP', port: 'postgres' }] }],
  },
};
const namespace = (name: string, labels: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });

test('namespaces, policies, pod labels and named ports come from the List, and the policies decide traces', () => {
  const body = list();
  body.items.push(namespace('default', { 'kubernetes.io/metadata.name': 'default', env: 'prod' }), policy);
  assert.ok(validBody(body), JSON.stringify(validBody.errors?.slice(0, 3)));
  const r = importKubernetes(body as never, {});
  assert.deepEqual(r.counts.ignored, {});
  assert.deepEqual(r.cluster.namespaces, [{ name: 'default', labels: { 'kubernetes.io/metadata.name': 'default', env: 'prod' } }]);
  assert.equal(r.cluster.networkPolicies?.[0]?.metadata.name, 'db-from-web');
  const db = r.cluster.pods!.find((p) => p.name === 'db-0')!;
  assert.equal(db.labels?.app, 'db');
  assert.deepEqual(db.ports, [{ name: 'postgres', containerPort: 5432, protocol: 'TCP' }]);

  const c = compileTopology(r.spec);
  const trace = (from: string) =>
    c.trace(c.resolve(from, 'source'), c.resolve('default/db-0', 'destination'), 64, undefined, { protocol: 'tcp', dstPort: 5432 }).paths[0]!.disposition;
  const web = r.cluster.pods!.find((p) => p.name.startsWith('web-') && p.nodeName === 'worker-2')!.name;
  const cache = r.cluster.pods!.find((p) => p.name.startsWith('cache-'))!.name;
  assert.equal(trace(`default/${web}`), 'DELIVERED');
  assert.equal(trace(`default/${cache}`), 'DENIED');
});

test('a NetworkPolicy of the List that is not one is refused by the schema', () => {
  const body = list();
  body.items.push({ ...policy, spec: { policyTypes: ['Ingress'] } });
  assert.equal(validBody(body), false);
  assert.ok(validBody.errors!.some((e) => e.instancePath.startsWith(`/items/${body.items.length - 1}`)));
});

test('AdminNetworkPolicies and the BaselineAdminNetworkPolicy come from the same List, with node labels for nodes peers', () => {
  const body = list();
  const meta = { uid: '9a1f', resourceVersion: '901', generation: 2, creationTimestamp: '2026-11-30T09:00:00Z' };
  body.items.push(
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha1',
      kind: 'AdminNetworkPolicy',
      metadata: { name: 'no-control-plane', ...meta },
      spec: {
        priority: 20,
        subject: { namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'default' } } },
        egress: [{ name: 'deny-cp', action: 'Deny', to: [{ nodes: { matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }] } }] }],
      },
      status: { conditions: [] },
    },
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha1',
      kind: 'BaselineAdminNetworkPolicy',
      metadata: { name: 'default', ...meta },
      spec: {
        subject: { pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: 'db' } } } },
        ingress: [{ name: 'only-web', action: 'Deny', from: [{ pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: 'cache' } } } }] }],
      },
    },
  );
  assert.ok(validBody(body), JSON.stringify(validBody.errors?.slice(0, 3)));
  const r = importKubernetes(body as never, {});
  assert.deepEqual(r.counts.ignored, {});
  assert.equal(r.cluster.adminNetworkPolicies?.[0]?.metadata.name, 'no-control-plane');
  assert.equal(r.cluster.baselineAdminNetworkPolicies?.[0]?.metadata.name, 'default');
  assert.equal(r.cluster.nodes.find((n) => n.name === 'cp-1')?.labels?.['node-role.kubernetes.io/control-plane'], '');

  const c = compileTopology(r.spec);
  const trace = (from: string, to: string) =>
    c.trace(c.resolve(from, 'source'), c.resolve(to, 'destination'), 64, undefined, { protocol: 'tcp', dstPort: 5432 }).paths[0]!;
  const cache = r.cluster.pods!.find((p) => p.name.startsWith('cache-'))!.name;
  const denied = trace(`default/${cache}`, 'default/db-0');
  assert.equal(denied.disposition, 'DENIED');
  const web = r.cluster.pods!.find((p) => p.name.startsWith('web-') && p.nodeName === 'worker-2')!.name;
  assert.equal(trace(`default/${web}`, 'default/db-0').disposition, 'DELIVERED');
  assert.equal(trace(`default/${web}`, 'cp-1').disposition, 'DENIED');
});

test('an AdminNetworkPolicy of the List without a priority is refused by the schema', () => {
  const body = list();
  body.items.push({ apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'AdminNetworkPolicy', metadata: { name: 'x' }, spec: { subject: { namespaces: {} } } });
  assert.equal(validBody(body), false);
  assert.ok(validBody.errors!.some((e) => e.instancePath.startsWith(`/items/${body.items.length - 1}`)));
});
