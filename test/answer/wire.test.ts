// The JSON the API answers for a trace is the answer the answer layer built, field for field: writing it out in a worker
// and sending its bytes loses nothing and changes nothing, through every step type, tunnels and drops included, in the
// single trace and the batch.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, type TestApp } from '../helpers/app.js';
import { resetDb } from '../helpers/db.js';
import { example } from '../helpers/examples.js';
import { answerFlow } from '../../src/answer/flow.js';
import { compileStored } from '../../src/work/revisions.js';

const TOPOLOGIES = ['two-nodes', 'flannel-vxlan-two-subnets', 'calico-ipip-three-nodes', 'cilium-tunnel-two-nodes', 'weave-two-nodes'];

let t: TestApp;
before(async () => {
  t = await openTestApp();
  await resetDb(t.db);
  for (const name of TOPOLOGIES) {
    const res = await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: example(name) });
    assert.equal(res.statusCode, 201, res.body);
  }
});
after(() => t.close());

/** Every pod and node to every pod, node and an address nobody owns, with ports and a size that does not fit. */
function flows(name: string) {
  const { cluster } = example(name);
  const pods = (cluster?.pods ?? []).map((p) => `${p.namespace}/${p.name}`);
  const nodes = (cluster?.nodes ?? []).map((n) => n.name);
  const from = [...pods, ...nodes];
  return from.flatMap((f) => [...from, '10.1.2.99', '8.8.8.8'].filter((to) => to !== f).map((to) => ({ from: f, to, protocol: 'tcp' as const, srcPort: 40000, dstPort: 443, size: 1500 })));
}

/** The newest revision compiled here, in the test's thread, to compare with what the workers answered. */
async function compiledNewest(name: string) {
  const stored = await t.app.store.get(name);
  return { revision: stored.revision, compiled: compileStored(stored).compiled };
}

const asJson = (value: unknown) => JSON.parse(JSON.stringify(value));

test('a trace answered over HTTP is the answer built for it, for every step type', async () => {
  const types = new Set<string>();
  for (const name of TOPOLOGIES) {
    const { revision, compiled } = await compiledNewest(name);
    for (const flow of flows(name)) {
      const query = new URLSearchParams(Object.entries(flow).map(([k, v]) => [k, String(v)]));
      const res = await t.app.inject(`/v1/topologies/${name}/trace?${query}`);
      assert.equal(res.statusCode, 200, res.body);
      const built = answerFlow(compiled, { name, revision }, flow);
      assert.deepEqual(res.json(), asJson(built), `${name}: ${flow.from} → ${flow.to}`);
      for (const hop of built.hops) for (const step of hop.steps) types.add(step.type);
    }
  }
  assert.deepEqual([...types].sort(), ['BRIDGE', 'DECAPSULATE', 'DELIVER', 'DROP', 'ENCAPSULATE', 'ORIGINATE', 'RECEIVE', 'ROUTE', 'SNAT', 'TRANSMIT']);
});

test('the batch holds the same answers, there and back', async () => {
  const name = 'flannel-vxlan-two-subnets';
  const { revision, compiled } = await compiledNewest(name);
  const batch = flows(name).slice(0, 60);
  const res = await t.app.inject({ method: 'POST', url: `/v1/topologies/${name}/traces`, payload: { flows: batch, bidirectional: true } });
  assert.equal(res.statusCode, 200, res.body);
  const items = res.json().traces as { trace: unknown }[];
  batch.forEach((flow, i) => {
    const { topology: _, ...trace } = answerFlow(compiled, { name, revision }, flow);
    assert.deepEqual(items[i]!.trace, asJson(trace), `${flow.from} → ${flow.to}`);
  });
});
