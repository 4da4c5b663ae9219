// A topology body larger than a megabyte is not read by the main thread: a worker scans, parses and validates it, and
// the answers are the ones a small body gets (the same problem documents, the same stored document).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, type TestApp } from '../../helpers/app.js';
import { resetDb } from '../../helpers/db.js';
import { generateCluster } from '../../../bench/cluster.js';

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
