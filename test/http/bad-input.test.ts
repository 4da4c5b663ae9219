// Inputs that used to reach a 500 (found by hand and by test/http/fuzz.test.ts): each is now a problem document that
// says what was wrong, and nothing is stored.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { openTestApp, seedTwoNodes, type TestApp } from '../helpers/app.js';
import { example } from '../helpers/examples.js';

let t: TestApp;
before(async () => {
  t = await openTestApp();
  await seedTwoNodes(t);
});
after(() => t.close());

const send = (method: 'POST' | 'PUT' | 'GET', url: string, payload?: string) =>
  t.app.inject({ method, url, payload, headers: payload === undefined ? {} : { 'content-type': 'application/json' } });
const cursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

function problem(res: Awaited<ReturnType<typeof send>>, status: number, detail: RegExp, pointer?: string) {
  assert.equal(res.statusCode, status, res.body);
  assert.match(res.headers['content-type'] as string, /^application\/problem\+json/);
  const body = res.json();
  assert.match(body.detail, detail);
  if (pointer !== undefined) assert.ok(body.errors.some((e: { pointer?: string }) => e.pointer === pointer), JSON.stringify(body.errors));
}

test('a NUL character in any string is refused (PostgreSQL cannot store it), and nothing is stored', async () => {
  const doc = { ...(example('two-nodes') as object), name: 'nul-desc', description: 'a\u0000b' };
  problem(await send('POST', '/v1/topologies', JSON.stringify(doc)), 400, /NUL character/);
  assert.equal((await send('GET', '/v1/topologies/nul-desc')).statusCode, 404);
});

test('a body nested deeper than any document is refused before anything recurses into it', async () => {
  const deep = '{"name":"deep","dumps":{"netns":[{"name":"a","kind":"node","link":[],"addr":[],"route":[{"dst":"default","x":' + '['.repeat(5000) + ']'.repeat(5000) + '}]}]}}';
  problem(await send('POST', '/v1/topologies', deep), 400, /nests deeper than 64 levels/);
  const patch = JSON.stringify({ base: 'two-nodes', patch: JSON.parse('{"a":'.repeat(60) + '1' + '}'.repeat(60)), flows: [{ from: 'pod-a1', to: 'pod-b1' }] });
  problem(await send('POST', '/v1/traces', patch), 400, /patch is nested deeper than 32 levels/, '/patch');
});

test('what-if: the patched base is checked like a body sent whole', async () => {
  const whatIf = (patch: unknown) => send('POST', '/v1/traces', JSON.stringify({ base: 'two-nodes', patch, flows: [{ from: 'pod-a1', to: 'pod-b1' }] }));
  problem(await whatIf({ cluster: { nodes: 'x' } }), 400, /after the patch is not valid/, '/patch/cluster/nodes');
  problem(await whatIf({ cluster: { typo: 1 } }), 400, /after the patch/, '/patch/cluster/typo');
  const ok = await whatIf({ description: 'what if' });
  assert.equal(ok.statusCode, 200, ok.body);
});

test('crafted cursors are refused: a revision past 2^53, not a number, a name with NUL', async () => {
  for (const c of [cursor('9223372036854775808'), cursor('NaN'), cursor('1e21'), cursor('0')]) {
    problem(await send('GET', `/v1/topologies/two-nodes/revisions?cursor=${c}`), 400, /cursor is not one this service handed out/);
  }
  problem(await send('GET', `/v1/topologies?cursor=${cursor('\u0000x')}`), 400, /cursor is not one/);
});

test('kubectl List: object kinds named like Object.prototype members are counted as kinds', async () => {
  const list = JSON.parse(readFileSync(new URL('../fixtures/kubernetes/flannel-host-gw.json', import.meta.url), 'utf8'));
  list.items.push({ kind: 'constructor', metadata: { name: 'x' } }, { kind: '__proto__', metadata: { name: 'y' } }, { kind: 'toString' });
  const res = await send('PUT', '/v1/topologies/proto-kinds/import/kubernetes?cni=flannel', JSON.stringify(list));
  assert.equal(res.statusCode, 201, res.body);
  const ignored = res.json().counts.ignored;
  assert.equal(ignored.constructor, 1);
  assert.equal(ignored.toString, 1);
  assert.equal(Object.getOwnPropertyDescriptor(ignored, '__proto__')?.value, 1);
});

test('revision numbers past 2^53 (int8 and beyond) are refused as parameters, not sent to the database', async () => {
  for (const url of [
    '/v1/topologies/two-nodes/revisions/9223372036854775808',
    '/v1/topologies/two-nodes/revisions/1e21',
    '/v1/topologies/two-nodes/trace?from=pod-a1&to=pod-b1&revision=9223372036854775808',
    '/v1/topologies/two-nodes/trace?from=pod-a1&to=pod-b1&revision=1e21',
    '/v1/topologies/two-nodes/diff?from=1&to=9223372036854775808',
    '/v1/topologies/two-nodes/reachability?revision=9007199254740992',
  ]) {
    const res = await send('GET', url);
    assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
    assert.equal(res.json().type, 'urn:pathtrace:problem:invalid-request');
  }
  const batch = await send('POST', '/v1/topologies/two-nodes/traces', '{"revision": 9223372036854775808, "flows": [{"from": "pod-a1", "to": "pod-b1"}]}');
  problem(batch, 400, /revision/);
});
