// Every document under examples/ is what the README tells users to POST: each one is stored through the API and one
// cross-node pod pair traced through it, so an example can never drift from what the service accepts and traces.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { openTestApp, type TestApp } from './helpers/app.js';
import { resetDb } from './helpers/db.js';

const dir = new URL('../examples/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

let t: TestApp;
before(async () => {
  t = await openTestApp();
  await resetDb(t.db);
});
after(() => t.close());

test('there is a two-node and a three-node example for every cluster data path', () => {
  assert.ok(files.includes('two-nodes.json') && files.includes('bridge-host-gw-three-nodes.json'), 'the seed\'s data path');
  const paths = ['bridge-cloud', 'flannel-host-gw', 'flannel-vxlan', 'canal-vxlan', 'calico-bgp', 'calico-ipip', 'calico-vxlan', 'cilium-native', 'cilium-tunnel', 'weave', 'kindnet', 'gke', 'aws-vpc-cni', 'azure-cni'];
  for (const path of paths) {
    for (const size of ['two', 'three']) assert.ok(files.includes(`${path}-${size}-nodes.json`), `${path}-${size}-nodes.json`);
  }
});

for (const file of files) {
  test(`examples/${file} can be POSTed and a cross-node pod pair traced through it`, async () => {
    const doc = JSON.parse(readFileSync(new URL(file, dir), 'utf8'));
    assert.equal(`${doc.name}.json`, file, 'the file is named after the topology');
    const res = await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: doc });
    assert.equal(res.statusCode, 201, res.body);
    const pods = (doc.cluster.pods as { namespace?: string; name: string; nodeName: string; hostNetwork?: boolean }[]).filter((p) => !p.hostNetwork);
    const from = pods[0]!;
    const to = pods.find((p) => p.nodeName !== from.nodeName)!;
    const tr = await t.app.inject(`/v1/topologies/${doc.name}/trace?from=${from.name}&to=${to.name}`);
    assert.equal(tr.statusCode, 200, tr.body);
    const body = tr.json();
    assert.equal(body.disposition, 'DELIVERED', body.summary);
    const netns = body.hops.map((h: { netns: string }) => h.netns);
    assert.equal(netns[0], `${from.namespace ?? 'default'}/${from.name}`);
    assert.equal(netns.at(-1), `${to.namespace ?? 'default'}/${to.name}`);
    assert.ok(netns.includes(from.nodeName) && netns.includes(to.nodeName), netns.join(' → '));
  });
}
