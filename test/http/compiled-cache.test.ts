// The LRU of compiled topologies: with room for 2, tracing 3 topologies in turn keeps at most 2 compiled, evicts the least
// recently used, and every answer stays correct (an evicted topology is compiled again on its next trace).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, type TestApp } from '../helpers/app.js';
import { resetDb } from '../helpers/db.js';
import { example } from '../helpers/examples.js';

let t: TestApp;
before(async () => {
  t = await openTestApp({ compiledCacheSize: 2 });
  await resetDb(t.db);
  const { name: _, ...doc } = example('two-nodes') as { name: string };
  for (const name of ['lru-a', 'lru-b', 'lru-c']) {
    const res = await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: { ...doc, name } });
    assert.equal(res.statusCode, 201, res.body);
  }
});
after(() => t.close());

async function trace(name: string) {
  const res = await t.app.inject({ method: 'GET', url: `/v1/topologies/${name}/trace?from=pod-a1&to=pod-b1` });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.deepEqual(body.topology, { name, revision: 1 });
  assert.equal(body.disposition, 'DELIVERED');
  assert.deepEqual(body.hops.map((h: { netns: string }) => h.netns), ['default/pod-a1', 'node-a', 'node-b', 'default/pod-b1']);
}

test('with COMPILED_CACHE_SIZE 2, three topologies traced in turn keep at most 2 compiled and answer correctly', async () => {
  const cache = t.app.compiled;
  // Every write compiled its revision before answering; the cache kept the last two.
  assert.equal(cache.compilations, 3);
  assert.equal(cache.size, 2);
  for (const round of [1, 2, 3]) {
    for (const name of ['lru-a', 'lru-b', 'lru-c']) {
      await trace(name);
      assert.ok(cache.size <= 2, `round ${round}, ${name}: ${cache.size} compiled`);
    }
  }
  assert.equal(cache.size, 2);
  // Round robin over 3 with room for 2 always misses: 9 compilations for 9 traces.
  assert.equal(cache.compilations, 3 + 9);
});

test('the most recently used stay: repeating a topology compiles nothing, the least recently used is evicted', async () => {
  const cache = t.app.compiled;
  // Held now: lru-b, lru-c (lru-c most recent).
  const before = cache.compilations;
  await trace('lru-c');
  await trace('lru-b');
  assert.equal(cache.compilations, before, 'both were cached');
  await trace('lru-a'); // evicts lru-c, the least recently used
  assert.equal(cache.compilations, before + 1);
  await trace('lru-b');
  assert.equal(cache.compilations, before + 1, 'lru-b was kept');
  await trace('lru-c');
  assert.equal(cache.compilations, before + 2, 'lru-c had been evicted');
  assert.equal(cache.size, 2);
});

test('a write compiles its revision before it is acknowledged, so the first trace does not wait', async () => {
  const cache = t.app.compiled;
  const { name: _, ...doc } = example('two-nodes') as { name: string };
  const res = await t.app.inject({ method: 'PUT', url: '/v1/topologies/lru-a', payload: doc });
  assert.equal(res.json().revision, 2);
  const compiled = cache.compilations;
  const answer = (await t.app.inject('/v1/topologies/lru-a/trace?from=pod-a1&to=pod-b1')).json();
  assert.equal(answer.topology.revision, 2);
  assert.equal(cache.compilations, compiled, 'the trace found revision 2 compiled');
});

test('a topology deleted and created again while its revision is read is compiled as the new incarnation', async () => {
  const { name: _, ...doc } = example('two-nodes') as { name: string };
  const other = example('flannel-vxlan-two-nodes') as { name: string };
  const store = t.app.store;
  const get = store.get.bind(store);
  const created = await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: { ...doc, name: 'lru-race' } });
  assert.equal(created.statusCode, 201, created.body);
  const old = (await store.head('lru-race')).id;
  // Two other traces push its compiled revision out of the cache (room for 2): the next trace must read it again.
  await trace('lru-b');
  await trace('lru-c');
  let raced = false;
  // Between the cache's read of the head (incarnation 1) and its read of the document, the name is deleted and created
  // again with another cluster: what the cache reads then is incarnation 2's revision 1.
  store.get = async (name, revision) => {
    if (name === 'lru-race' && !raced) {
      raced = true;
      await store.remove('lru-race', undefined);
      const res = await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: { ...other, name: 'lru-race' } });
      assert.equal(res.statusCode, 201, res.body);
    }
    return get(name, revision);
  };
  try {
    const first = await t.app.compiled.get('lru-race', 1);
    const head = await store.head('lru-race');
    assert.notEqual(head.id, old);
    // Whatever the cache holds for the new incarnation is the new cluster (flannel's nodes), not the deleted one.
    const again = await t.app.compiled.get('lru-race', 1);
    assert.equal(again, first);
    assert.ok(first.compiled.fabric.netns.some((ns) => ns.links.some((l) => l.name === 'flannel.1')), 'the new incarnation was compiled');
  } finally {
    store.get = get;
  }
});

test('deleting a topology lets go of its compiled revisions at once', async () => {
  const cache = t.app.compiled;
  assert.equal((await t.app.inject('/v1/topologies/lru-a/trace?from=pod-a1&to=pod-b1')).statusCode, 200);
  const held = cache.size;
  const res = await t.app.inject({ method: 'DELETE', url: '/v1/topologies/lru-a' });
  assert.equal(res.statusCode, 204);
  assert.equal(cache.size, held - 1);
});
