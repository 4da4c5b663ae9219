// The pods × Services matrix: `reachability?to=services` answers, for every pod, one letter per Service port (the worst
// outcome over the Service's endpoints, as a trace to svc/<namespace>/<name> answers it). The topology is
// examples/services.json with `web` given internalTrafficPolicy Local (its only endpoint is on node-b) and a Service
// `empty` with no endpoints.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, type TestApp } from '../../helpers/app.js';
import { resetDb } from '../../helpers/db.js';
import { example } from '../../helpers/examples.js';
import { parseXml } from '../../helpers/xml.js';
import { servicesRefusing } from '../../helpers/services.js';

type Json = Record<string, any>;

let t: TestApp;
before(async () => {
  t = await openTestApp();
  await resetDb(t.db);
  const body = servicesRefusing();
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

test('protocol and port select the Service ports', async () => {
  const a = (await matrix('&protocol=tcp&port=53&namespace=default')).json();
  assert.deepEqual(a.services.map((s: Json) => s.name), ['svc/kube-system/kube-dns']);
  assert.deepEqual(a.endpoints.map((e: Json) => e.name), ['default/pod-a1', 'default/web-b1']);
  assert.deepEqual(a.rows, ['D', 'D']);
});

test('format=rows: one object per pod and Service port, naming what decided, as the letters and the single trace say', async () => {
  const letters = (await matrix('&namespace=default')).json();
  const res = await matrix('&namespace=default&format=rows');
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  const rows = res.json() as Json[];
  assert.equal(rows.length, letters.pairs);
  for (const row of rows) {
    const i = letters.endpoints.findIndex((e: Json) => e.name === row.from);
    const j = letters.services.findIndex((c: Json) => c.name === `svc/${row.service}` && c.port === row.port && c.protocol === row.protocol);
    assert.equal(row.disposition, letters.legend[letters.rows[i][j]], `${row.from} → ${row.service}`);
  }
  const web = rows.find((r) => r.from === 'default/pod-a1' && r.service === 'default/web')!;
  assert.deepEqual(web.decidedBy, [{ kind: 'Service', verdict: 'DENIED', namespace: 'default', name: 'web', dnat: 'no-local-endpoints', node: 'node-a' }]);
  // The trace of the same pair drops it in the DNAT step at node-a, for the same reason.
  const one = (await t.app.inject('/v1/topologies/services/trace?from=pod-a1&to=svc/default/web&port=80')).json();
  const dnat = one.hops.flatMap((h: Json) => h.steps.map((s: Json) => ({ ...s, netns: h.netns }))).find((s: Json) => s.type === 'DNAT');
  assert.equal(dnat.verdict, 'no-local-endpoints');
  assert.equal(dnat.netns, 'node-a');
  const empty = rows.find((r) => r.from === 'default/web-b1' && r.service === 'default/empty')!;
  assert.equal(empty.disposition, 'REJECTED');
  assert.deepEqual(empty.decidedBy, [{ kind: 'Service', verdict: 'REJECTED', namespace: 'default', name: 'empty', dnat: 'reject', node: 'node-b' }]);
  const dns = rows.find((r) => r.from === 'default/web-b1' && r.service === 'kube-system/kube-dns' && r.protocol === 'UDP')!;
  assert.equal(dns.disposition, 'DELIVERED');
  assert.equal(dns.decidedBy, undefined, 'no policy here: nothing decided');
  assert.match(dns.endpoint, /^10\.1\.[12]\.53:53$/);
});

test('CSV by format=csv or Accept: text/csv, and the SVG heat map with a titled cell per pod and Service port', async () => {
  let res = await matrix('&namespace=default&format=csv');
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['content-type'], 'text/csv; charset=utf-8; header=present');
  const lines = res.body.split('\r\n');
  assert.equal(lines[0], 'from,fromNamespace,fromNode,fromAddress,service,serviceNamespace,clusterIP,port,portName,protocol,endpoint,disposition,decidedBy');
  assert.equal(lines.length, 1 + 2 * 4 + 1);
  assert.ok(lines.includes('default/web-b1,default,node-b,10.1.2.3,default/empty,default,10.96.0.99,443,,TCP,,REJECTED,REJECTED by Service default/empty (no usable endpoint)'));
  res = await t.app.inject({ url: '/v1/topologies/services/reachability?to=services', headers: { accept: 'text/csv' } });
  assert.match(res.headers['content-type'] as string, /^text\/csv/);

  res = await t.app.inject({ url: '/v1/topologies/services/reachability?to=services', headers: { accept: 'image/svg+xml' } });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['content-type'], 'image/svg+xml; charset=utf-8');
  parseXml(res.body);
  assert.match(res.body, /<title>services revision 1: 10 of 16 pod × Service-port cells delivered<\/title>/);
  assert.match(
    res.body,
    /<title>default\/pod-a1 → default\/web http\/TCP: DENIED, DENIED by Service default\/web \(Local traffic policy and no usable endpoint on node-a\)<\/title>/,
  );
  assert.match(res.body, /REJECTED: 4 pairs/);
});

test('rows, CSV and SVG past MAX_ANSWER_BYTES: a 422 naming the limit and how to ask for less; the letters still answer', async () => {
  const small = await openTestApp({ maxAnswerBytes: 600 });
  try {
    const body = example('services') as Json;
    assert.equal((await small.app.inject({ method: 'POST', url: '/v1/topologies', payload: body })).statusCode, 201);
    for (const format of ['rows', 'csv', 'svg']) {
      const res = await small.app.inject(`/v1/topologies/services/reachability?to=services&format=${format}`);
      assert.equal(res.statusCode, 422, `${format}: ${res.body}`);
      assert.equal(res.json().type, 'urn:pathtrace:problem:answer-too-large');
      assert.match(res.json().detail, /limit of 600 bytes \(MAX_ANSWER_BYTES\).*namespace=, node=.*protocol=, port=/);
    }
    // 12 cells of at least ~150 bytes each: refused before tracing, the detail counting the cells.
    const rows = await small.app.inject('/v1/topologies/services/reachability?to=services&format=rows');
    assert.match(rows.json().detail, /^12 pod × Service-port cells as JSON rows would be larger/);
    assert.equal((await small.app.inject('/v1/topologies/services/reachability?to=services')).statusCode, 200);
  } finally {
    await small.close();
  }
});
