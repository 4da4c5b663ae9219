import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, type TestApp } from '../../helpers/app.js';
import { example } from '../../helpers/examples.js';
import { generate } from '../../kernel/generate.js';

let t: TestApp;
before(async () => {
  t = await openTestApp();
  await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: example('two-nodes') });
  // Seed 18: three nodes, node-0 with forwarding off.
  await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: { name: 'no-forwarding', fabric: generate(18).fabric } });
});
after(() => t.close());

test('the matrix: one row per pod, one letter per destination, counts and the legend', async () => {
  const res = await t.app.inject('/v1/topologies/two-nodes/reachability');
  assert.equal(res.statusCode, 200);
  const m = res.json();
  assert.deepEqual(m.topology, { name: 'two-nodes', revision: 1 });
  assert.deepEqual(m.endpoints.map((e: { name: string }) => e.name), ['default/pod-a1', 'default/pod-a2', 'default/pod-b1', 'kube-system/kube-proxy-a']);
  assert.deepEqual(m.endpoints.map((e: { node: string }) => e.node), ['node-a', 'node-a', 'node-b', 'node-a']);
  assert.deepEqual(m.rows, ['-DDD', 'D-DD', 'DD-D', 'DDD-']);
  assert.deepEqual(m.counts, { DELIVERED: 12 });
  assert.equal(m.pairs, 12);
  assert.equal(m.legend.N, 'NEIGHBOR_UNREACHABLE');
});

test('filters by node and namespace', async () => {
  let m = (await t.app.inject('/v1/topologies/two-nodes/reachability?node=node-a')).json();
  assert.deepEqual(m.endpoints.map((e: { name: string }) => e.name), ['default/pod-a1', 'default/pod-a2', 'kube-system/kube-proxy-a']);
  m = (await t.app.inject('/v1/topologies/two-nodes/reachability?namespace=kube-system')).json();
  assert.deepEqual(m.rows, ['-']);
});

test('a node that does not forward: its pods reach only each other, and nobody reaches them', async () => {
  const m = (await t.app.inject('/v1/topologies/no-forwarding/reachability')).json();
  const onNode0 = m.endpoints.map((e: { node: string }) => e.node === 'node-0');
  m.rows.forEach((row: string, i: number) => {
    [...row].forEach((cell, j) => {
      if (i === j) return;
      const expected = onNode0[i] === onNode0[j] ? 'D' : 'F';
      assert.equal(cell, expected, `${m.endpoints[i].name} → ${m.endpoints[j].name}`);
    });
  });
  assert.ok(m.counts.FORWARDING_DISABLED > 0);
  // The counts are the rows' letters counted, in the order they first occur there (JSON keeps that order).
  const expected: Record<string, number> = {};
  for (const row of m.rows as string[]) for (const letter of row) if (letter !== '-') expected[m.legend[letter]] = (expected[m.legend[letter]] ?? 0) + 1;
  assert.equal(JSON.stringify(m.counts), JSON.stringify(expected));
  assert.equal(Object.keys(m.counts).length, 2);
});

test('the SVG heat map', async () => {
  const res = await t.app.inject({ url: '/v1/topologies/no-forwarding/reachability', headers: { accept: 'image/svg+xml' } });
  assert.equal(res.headers['content-type'], 'image/svg+xml; charset=utf-8');
  const m = (await t.app.inject('/v1/topologies/no-forwarding/reachability')).json();
  assert.match(res.body, new RegExp(`<title>no-forwarding revision 1: ${m.counts.DELIVERED} of ${m.pairs} pod pairs delivered</title>`));
  assert.match(res.body, new RegExp(`FORWARDING_DISABLED: ${m.counts.FORWARDING_DISABLED} pairs`));
  assert.match(res.body, /fill="#fdd835"/);
});

test('format=rows: one object per ordered pair of distinct pods, as a dashboard table takes it', async () => {
  const m = (await t.app.inject('/v1/topologies/no-forwarding/reachability')).json();
  const res = await t.app.inject('/v1/topologies/no-forwarding/reachability?format=rows');
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  const rows = res.json() as Record<string, string | null>[];
  assert.equal(rows.length, m.pairs);
  const n = m.endpoints.length;
  for (const row of rows) {
    const i = m.endpoints.findIndex((e: { name: string }) => e.name === row.from);
    const j = m.endpoints.findIndex((e: { name: string }) => e.name === row.to);
    assert.notEqual(i, j);
    assert.equal(row.disposition, m.legend[m.rows[i][j]], `${row.from} → ${row.to}`);
    assert.equal(row.fromNode, m.endpoints[i].node);
    assert.equal(row.toAddress, m.endpoints[j].address);
  }
  assert.equal(new Set(rows.map((r) => `${r.from} ${r.to}`)).size, n * (n - 1));
  const two = (await t.app.inject('/v1/topologies/two-nodes/reachability?format=rows&namespace=default')).json();
  assert.deepEqual(two[0], {
    from: 'default/pod-a1', fromNamespace: 'default', fromNode: 'node-a', fromAddress: '10.1.1.2',
    to: 'default/pod-a2', toNamespace: 'default', toNode: 'node-a', toAddress: '10.1.1.3', disposition: 'DELIVERED',
  });
});

test('CSV by format=csv or Accept: text/csv, with a header line; a name that looks like a formula is defused', async () => {
  let res = await t.app.inject('/v1/topologies/two-nodes/reachability?format=csv');
  assert.equal(res.headers['content-type'], 'text/csv; charset=utf-8; header=present');
  const lines = res.body.split('\r\n');
  assert.equal(lines[0], 'from,fromNamespace,fromNode,fromAddress,to,toNamespace,toNode,toAddress,disposition,decidedBy');
  // No policy in this cluster: the last column is empty.
  assert.equal(lines[1], 'default/pod-a1,default,node-a,10.1.1.2,default/pod-a2,default,node-a,10.1.1.3,DELIVERED,');
  assert.equal(lines.length, 1 + 12 + 1, 'a header, 12 pairs, and the last line ended');
  res = await t.app.inject({ url: '/v1/topologies/two-nodes/reachability', headers: { accept: 'text/csv' } });
  assert.match(res.headers['content-type'] as string, /^text\/csv/);
  res = await t.app.inject({ url: '/v1/topologies/two-nodes/reachability', headers: { accept: 'text/csv;q=0, application/json' } });
  assert.match(res.headers['content-type'] as string, /^application\/json/);

  // A fabric whose pods are named by whoever sent it: a spreadsheet must not run "=HYPERLINK(…)" nor split "a,b".
  const fabric = generate(18).fabric;
  const pods = fabric.netns.filter((ns: { kind: string }) => ns.kind === 'pod');
  const renamed = new Map([[pods[0].name, '=HYPERLINK("x")'], [pods[1].name, 'a,b']]);
  const text = JSON.stringify(fabric).replace(/"([^"\\]*)"/g, (all, s: string) => (renamed.has(s) ? JSON.stringify(renamed.get(s)) : all));
  const put = await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: { name: 'odd-names', fabric: JSON.parse(text) } });
  assert.equal(put.statusCode, 201, put.body);
  const csv = (await t.app.inject('/v1/topologies/odd-names/reachability?format=csv')).body;
  assert.match(csv, /\r\n"'=HYPERLINK\(""x""\)",/);
  assert.match(csv, /\r\n"a,b",/);
  assert.doesNotMatch(csv, /(^|,|\r\n)=/);
});

test('rows and CSV past MAX_ANSWER_BYTES are refused with a 422 that says how to ask for less', async () => {
  const small = await openTestApp({ maxAnswerBytes: 1024 });
  try {
    await small.app.inject({ method: 'POST', url: '/v1/topologies', payload: { name: 'no-forwarding', fabric: generate(18).fabric } });
    for (const format of ['rows', 'csv']) {
      const res = await small.app.inject(`/v1/topologies/no-forwarding/reachability?format=${format}`);
      assert.equal(res.statusCode, 422);
      assert.equal(res.json().type, 'urn:pathtrace:problem:answer-too-large');
      assert.match(res.json().detail, /namespace=, node=/);
    }
    assert.equal((await small.app.inject('/v1/topologies/no-forwarding/reachability')).statusCode, 200, 'the letters still answer');
  } finally {
    await small.close();
  }
});
