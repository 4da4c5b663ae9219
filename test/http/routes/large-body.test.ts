// A topology body or kubectl List larger than a megabyte is not read by the main thread: a worker scans, parses and validates it, and
// the answers are the ones a small body gets (the same problem documents, the same stored document).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, type TestApp } from '../../helpers/app.js';
import { resetDb } from '../../helpers/db.js';
import { generateCluster } from '../../../bench/cluster.js';
import { generateLargeList } from '../../fixtures/kubernetes/generate.js';

let t: TestApp;
/** 200 nodes × 30 pods: about 600 KB of JSON per 6,000 pods; with a long description past the 1 MB line. */
const cluster = generateCluster(200, 30);
/** Whitespace after the document: past the 1 MB line without touching what is validated. */
const pad = (doc: unknown) => `${JSON.stringify(doc)}${' '.repeat(1_100_000)}`;

before(async () => {
  t = await openTestApp();
  await resetDb(t.db);
});
after(() => t.close());

const send = (method: 'POST' | 'PUT', url: string, text: string) =>
  t.app.inject({ method, url, headers: { 'content-type': 'application/json' }, payload: text });

test('a large valid body is stored and traced like a small one', async () => {
  const big = pad({ name: 'large-a', description: 'd', cluster });
  const res = await send('POST', '/v1/topologies', big);
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(res.json().summary.pods, 6000);
  const put = await send('PUT', '/v1/topologies/large-a', big);
  assert.equal(put.statusCode, 200, put.body);
  assert.equal(put.json().revision, 2);
  const trace = await t.app.inject('/v1/topologies/large-a/trace?from=pod-0-0&to=pod-199-29');
  assert.equal(trace.json().disposition, 'DELIVERED');
});

test('a large body crosses to the worker as UTF-8 bytes and is decoded as a small one is', async () => {
  const description = 'Zürich → 東京 ✓ \u{1F680}';
  const res = await send('PUT', '/v1/topologies/large-utf8', pad({ description, cluster }));
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(res.json().description, description);
  assert.equal((await t.app.inject('/v1/topologies/large-utf8')).json().description, description);
  // Invalid UTF-8 becomes U+FFFD, as Buffer#toString makes it of a small body.
  const text = Buffer.concat([Buffer.from(`{"description":"a`), Buffer.from([0xff]), Buffer.from(`b",${pad({ cluster }).slice(1)}`)]);
  const invalid = await t.app.inject({ method: 'PUT', url: '/v1/topologies/large-utf8', headers: { 'content-type': 'application/json' }, payload: text });
  assert.equal(invalid.statusCode, 200, invalid.body);
  assert.equal(invalid.json().description, 'a\uFFFDb');
});

test('a large body that does not match the schema gets the same 400, with pointers', async () => {
  const bad = { name: 'large-b', cluster: { ...cluster, nodes: [{ ...cluster.nodes[0]!, bogus: 1 }, ...cluster.nodes.slice(1)] } };
  const small = { name: 'large-b', cluster: { nodes: [{ ...cluster.nodes[0]!, bogus: 1 }] } };
  const [large, little] = [await send('POST', '/v1/topologies', pad(bad)), await send('POST', '/v1/topologies', JSON.stringify(small))];
  assert.equal(large.statusCode, 400, large.body);
  assert.equal(large.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(large.json().type, 'urn:pathtrace:problem:invalid-request');
  assert.deepEqual(large.json().errors, [{ pointer: '/cluster/nodes/0/bogus', detail: 'is not a known property' }]);
  assert.deepEqual(little.json().errors, large.json().errors);
  assert.equal(large.json().detail, little.json().detail);
});

test('a large body with a NUL, nesting too deep, or not JSON at all is refused as a small one is', async () => {
  const nul = pad({ name: 'large-c', description: 'a\u0000b', cluster });
  const res = await send('POST', '/v1/topologies', nul);
  assert.equal(res.statusCode, 400, res.body);
  assert.match(res.json().detail, /NUL/);
  const broken = await send('PUT', '/v1/topologies/large-c', `${pad({ cluster })}}`);
  assert.equal(broken.statusCode, 400, broken.body);
  assert.equal(broken.json().detail, 'the request body is not valid JSON');
  const named = await send('PUT', '/v1/topologies/large-c', pad({ name: 'other', cluster }));
  assert.equal(named.statusCode, 400, named.body);
  assert.match(named.json().detail, /the body names other but the path names large-c/);
  assert.equal((await t.app.inject('/v1/topologies/large-c')).statusCode, 404, 'nothing was stored');
});

test('a large kubectl List is imported by a worker with the answers a small one gets', async () => {
  const list = generateLargeList({ nodes: 10, podsPerNode: 20 }) as { items: { kind: string; metadata: Record<string, unknown> }[] };
  const text = pad(list);
  assert.ok(text.length > 1_000_000);
  const res = await send('PUT', '/v1/topologies/large-import/import/kubernetes', text);
  assert.equal(res.statusCode, 201, res.body);
  const small = await send('PUT', '/v1/topologies/small-import/import/kubernetes', JSON.stringify(list));
  assert.ok(JSON.stringify(list).length < 1_000_000);
  assert.equal(small.statusCode, 201, small.body);
  assert.deepEqual(res.json().counts, small.json().counts);
  assert.deepEqual(res.json().cni, small.json().cni);
  assert.ok(res.json().counts.pods > 100);
  // A node whose name is a number: the same 400 with the same pointer, large or small.
  const node = list.items.findIndex((i) => i.kind === 'Node');
  const broken = structuredClone(list);
  broken.items[node]!.metadata.name = 7;
  const [large, little] = [
    await send('PUT', '/v1/topologies/large-import/import/kubernetes', pad(broken)),
    await send('PUT', '/v1/topologies/large-import/import/kubernetes', JSON.stringify({ ...broken, items: [broken.items[node]] })),
  ];
  assert.equal(large.statusCode, 400, large.body);
  assert.deepEqual(large.json().errors, [{ pointer: `/items/${node}/metadata/name`, detail: 'must be string' }]);
  assert.deepEqual(little.json().errors, [{ pointer: '/items/0/metadata/name', detail: 'must be string' }]);
  assert.equal((await t.app.inject('/v1/topologies/large-import')).json().revision, 1, 'nothing was stored');
});

test('a large what-if body is read by a worker: an inline topology is traced, a base is read for it, bad input is refused alike', async () => {
  const flows = [{ from: 'pod-0-0', to: 'pod-199-29' }];
  const inline = await send('POST', '/v1/traces', pad({ topology: { cluster }, flows }));
  assert.equal(inline.statusCode, 200, inline.body);
  assert.equal(inline.json().traces[0].trace.disposition, 'DELIVERED');
  await send('PUT', '/v1/topologies/large-base', JSON.stringify({ cluster }));
  const patched = await send('POST', '/v1/traces', pad({ base: 'large-base', patch: { description: 'what if' }, flows, bidirectional: true }));
  assert.equal(patched.statusCode, 200, patched.body);
  assert.deepEqual(patched.json().base, { name: 'large-base', revision: 1 });
  assert.equal(patched.json().traces[0].return.disposition, 'DELIVERED', 'bidirectional is read from the large body');
  const both = await send('POST', '/v1/traces', pad({ base: 'large-base', topology: { cluster }, flows }));
  assert.equal(both.statusCode, 400, both.body);
  assert.deepEqual(both.json().errors, [{ pointer: '/base', detail: 'exactly one of topology or base' }]);
  const missing = await send('POST', '/v1/traces', pad({ base: 'no-such-base', flows }));
  assert.equal(missing.statusCode, 404, missing.body);
  const unknown = await send('POST', '/v1/traces', pad({ topology: { cluster }, flows, bogus: 1 }));
  assert.equal(unknown.statusCode, 400, unknown.body);
  assert.deepEqual(unknown.json().errors, [{ pointer: '/bogus', detail: 'is not a known property' }]);
});
