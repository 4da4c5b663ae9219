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
});

test('the SVG heat map', async () => {
  const res = await t.app.inject({ url: '/v1/topologies/no-forwarding/reachability', headers: { accept: 'image/svg+xml' } });
  assert.equal(res.headers['content-type'], 'image/svg+xml; charset=utf-8');
  const m = (await t.app.inject('/v1/topologies/no-forwarding/reachability')).json();
  assert.match(res.body, new RegExp(`<title>no-forwarding revision 1: ${m.counts.DELIVERED} of ${m.pairs} pod pairs delivered</title>`));
  assert.match(res.body, new RegExp(`FORWARDING_DISABLED: ${m.counts.FORWARDING_DISABLED} pairs`));
  assert.match(res.body, /fill="#fdd835"/);
});
