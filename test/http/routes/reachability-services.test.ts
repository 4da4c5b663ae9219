// The pods × Services matrix: `reachability?to=services` answers, for every pod, one letter per Service port (the worst
// outcome over the Service's endpoints, as a trace to svc/<namespace>/<name> answers it). The topology is
// examples/services.json with `web` given internalTrafficPolicy Local (its only endpoint is on node-b) and a Service
// `empty` with no endpoints.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, type TestApp } from '../../helpers/app.js';
import { resetDb } from '../../helpers/db.js';
import { example } from '../../helpers/examples.js';

type Json = Record<string, any>;

let t: TestApp;
before(async () => {
  t = await openTestApp();
  await resetDb(t.db);
  const body = example('services') as Json;
  body.cluster.services.find((s: Json) => s.metadata.name === 'web').spec.internalTrafficPolicy = 'Local';
  body.cluster.services.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: 'default', name: 'empty' },
    spec: { type: 'ClusterIP', clusterIP: '10.96.0.99', clusterIPs: ['10.96.0.99'], ports: [{ port: 443, protocol: 'TCP', targetPort: 8443 }] },
  });
  const res = await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: body });
  assert.equal(res.statusCode, 201, res.body);
});
after(() => t.close());

const matrix = (query: string) => t.app.inject(`/v1/topologies/services/reachability?to=services${query}`);

test('to=services: one column per Service port; Local policy without a local endpoint is DENIED, no endpoint REJECTED', async () => {
  const res = await matrix('');
  assert.equal(res.statusCode, 200, res.body);
  const a = res.json();
  assert.deepEqual(
    a.services.map((s: Json) => `${s.name}:${s.port}/${s.protocol}`),
    ['svc/kube-system/kube-dns:53/UDP', 'svc/kube-system/kube-dns:53/TCP', 'svc/default/web:80/TCP', 'svc/default/empty:443/TCP'],
  );
  assert.equal(a.services[2].address, '10.96.100.1');
  const row = (pod: string) => a.rows[a.endpoints.findIndex((e: Json) => e.name === pod)];
  // pod-a1 is on node-a, where web has no endpoint; web-b1 is on node-b with it.
  assert.equal(row('default/pod-a1'), 'DDPJ');
  assert.equal(row('default/web-b1'), 'DDDJ');
  assert.equal(a.pairs, 16);
  assert.equal(a.counts.REJECTED, 4);
  // Each letter is what the single trace answers.
  const one = (await t.app.inject('/v1/topologies/services/trace?from=pod-a1&to=svc/default/web&port=80&detail=summary')).json();
  assert.equal(one.disposition, 'DENIED');
});

test('protocol and port select the Service ports; other formats are refused', async () => {
  const a = (await matrix('&protocol=tcp&port=53&namespace=default')).json();
  assert.deepEqual(a.services.map((s: Json) => s.name), ['svc/kube-system/kube-dns']);
  assert.deepEqual(a.endpoints.map((e: Json) => e.name), ['default/pod-a1', 'default/web-b1']);
  assert.deepEqual(a.rows, ['D', 'D']);
  const csv = await matrix('&format=csv');
  assert.equal(csv.statusCode, 400);
  assert.match(csv.json().detail, /to=services answers format=json only/);
});
