import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { openTestApp, type TestApp } from '../../helpers/app.js';
import { resetDb } from '../../helpers/db.js';
import { example } from '../../helpers/examples.js';

let t: TestApp;
before(async () => {
  t = await openTestApp({ revisionsKept: 3 });
});
after(() => t.close());
beforeEach(() => resetDb(t.db));

const cluster = () => example('two-nodes').cluster!;
const post = (body: unknown) => t.app.inject({ method: 'POST', url: '/v1/topologies', payload: body as object });
const put = (name: string, body: unknown, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'PUT', url: `/v1/topologies/${name}`, payload: body as object, headers });
const get = (url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers });

describe('create and read', () => {
  test('POST stores the document; GET returns it with its revision and ETag (over real HTTP)', async () => {
    const body = { name: 'prod', description: 'the production cluster', cluster: cluster() };
    const created = await request(t.app.server).post('/v1/topologies').send(body).expect(201);
    assert.equal(created.headers.location, '/v1/topologies/prod');
    assert.equal(created.headers.etag, '"1"');
    assert.equal(created.body.name, 'prod');
    assert.equal(created.body.revision, 1);
    assert.equal(created.body.form, 'cluster');
    assert.deepEqual(created.body.summary, { nodes: 2, pods: 4, netns: 5 });
    assert.equal(created.body.createdAt, created.body.updatedAt);

    const read = await request(t.app.server).get('/v1/topologies/prod').expect(200).expect('content-type', /application\/json/);
    assert.equal(read.headers.etag, '"1"');
    assert.deepEqual(read.body.cluster, body.cluster);
    assert.equal(read.body.description, 'the production cluster');
    assert.equal(read.body.revision, 1);
    assert.equal(read.body.documentJson, undefined);
  });

  test('a fabric document is stored and summarised by netns kind', async () => {
    const fabric = {
      netns: [
        { name: 'pod', kind: 'pod', links: [{ name: 'eth0', kind: 'veth', addresses: ['10.0.0.2/24'], peer: { netns: 'node', link: 'veth0' } }] },
        {
          name: 'node',
          kind: 'node',
          links: [{ name: 'veth0', kind: 'veth', addresses: ['10.0.0.1/24'], peer: { netns: 'pod', link: 'eth0' } }],
          routes: [{ dst: 'default', type: 'blackhole' }],
        },
      ],
    };
    const res = await post({ name: 'lab', fabric });
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual(res.json().summary, { nodes: 1, pods: 1, netns: 2 });
    assert.deepEqual((await get('/v1/topologies/lab')).json().fabric, fabric);
  });

  test('POST of an existing name is 409 and leaves the stored topology alone', async () => {
    assert.equal((await post({ name: 'prod', cluster: cluster() })).statusCode, 201);
    const other = cluster();
    other.nodes.pop();
    other.pods = [];
    const res = await post({ name: 'prod', cluster: other });
    assert.equal(res.statusCode, 409);
    assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(res.json().type, 'urn:pathtrace:problem:conflict');
    const stored = (await get('/v1/topologies/prod')).json();
    assert.equal(stored.revision, 1);
    assert.equal(stored.cluster.nodes.length, 2);
  });

  test('GET of an unknown name is a 404 problem', async () => {
    const res = await get('/v1/topologies/nope');
    assert.equal(res.statusCode, 404);
    assert.deepEqual(
      { type: res.json().type, status: res.json().status, detail: res.json().detail },
      { type: 'urn:pathtrace:problem:not-found', status: 404, detail: 'there is no topology named nope' },
    );
  });

  test('If-None-Match with the current revision is 304 without a body', async () => {
    await post({ name: 'prod', cluster: cluster() });
    const res = await get('/v1/topologies/prod', { 'if-none-match': '"1"' });
    assert.equal(res.statusCode, 304);
    assert.equal(res.body, '');
    assert.equal((await get('/v1/topologies/prod', { 'if-none-match': '"7"' })).statusCode, 200);
  });
});

describe('replace', () => {
  test('PUT creates (201) then replaces (200) with a new revision', async () => {
    const first = await put('prod', { cluster: cluster() });
    assert.equal(first.statusCode, 201);
    assert.equal(first.headers.location, '/v1/topologies/prod');
    const changed = cluster();
    changed.pods!.pop();
    const second = await put('prod', { description: 'one pod less', cluster: changed });
    assert.equal(second.statusCode, 200);
    assert.equal(second.headers.etag, '"2"');
    assert.equal(second.json().revision, 2);
    assert.equal(second.json().createdAt, first.json().createdAt);
    const read = (await get('/v1/topologies/prod')).json();
    assert.equal(read.revision, 2);
    assert.equal(read.cluster.pods.length, 3);
    assert.equal(read.description, 'one pod less');
  });

  test('If-Match with a stale revision is 412, names the current revision, and changes nothing', async () => {
    await put('prod', { cluster: cluster() });
    await put('prod', { cluster: cluster() });
    const changed = cluster();
    changed.pods = [];
    const res = await put('prod', { cluster: changed }, { 'if-match': '"1"' });
    assert.equal(res.statusCode, 412);
    assert.equal(res.json().type, 'urn:pathtrace:problem:precondition-failed');
    assert.equal(res.json().currentRevision, 2);
    assert.equal((await get('/v1/topologies/prod')).json().cluster.pods.length, 4);

    const ok = await put('prod', { cluster: changed }, { 'if-match': '"2"' });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().revision, 3);
  });

  test('If-Match on an absent topology is 412; If-None-Match: * refuses to replace', async () => {
    assert.equal((await put('prod', { cluster: cluster() }, { 'if-match': '"1"' })).statusCode, 412);
    assert.equal((await put('prod', { cluster: cluster() }, { 'if-match': '*' })).statusCode, 412);
    assert.equal((await get('/v1/topologies/prod')).statusCode, 404);
    assert.equal((await put('prod', { cluster: cluster() }, { 'if-none-match': '*' })).statusCode, 201);
    assert.equal((await put('prod', { cluster: cluster() }, { 'if-none-match': '*' })).statusCode, 412);
    assert.equal((await get('/v1/topologies/prod')).json().revision, 1);
  });

  test('a weak or malformed If-Match never matches', async () => {
    await put('prod', { cluster: cluster() });
    assert.equal((await put('prod', { cluster: cluster() }, { 'if-match': 'W/"1"' })).statusCode, 412);
    const bad = await put('prod', { cluster: cluster() }, { 'if-match': '1' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().detail, /entity tags/);
    assert.equal((await get('/v1/topologies/prod')).json().revision, 1);
  });

  test('a name in the PUT body must agree with the path', async () => {
    const res = await put('prod', { name: 'other', cluster: cluster() });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json().errors, [{ pointer: '/name', detail: 'must be prod, the name in the path, or be left out' }]);
    assert.equal((await get('/v1/topologies/prod')).statusCode, 404);
  });

  test('no write leaves its uploaded document behind, stored or refused (with a server, the worker uploads it)', async () => {
    const uploads = async () => Number((await t.db.query<{ n: string }>('SELECT count(*)::int8 AS n FROM document_uploads')).rows[0]!.n);
    assert.equal((await post({ name: 'prod', cluster: cluster() })).statusCode, 201);
    assert.equal((await post({ name: 'prod', cluster: cluster() })).statusCode, 409);
    assert.equal((await put('prod', { cluster: cluster() }, { 'if-match': '"7"' })).statusCode, 412);
    assert.equal((await put('prod', { cluster: cluster() }, { 'if-none-match': '*' })).statusCode, 412);
    assert.equal((await put('prod', { name: 'other', cluster: cluster() })).statusCode, 400);
    assert.equal((await put('prod', { cluster: cluster() }, { 'if-none-match': '"1"' })).statusCode, 400);
    assert.equal((await put('prod', { cluster: cluster() }, { 'if-match': '"1"' })).statusCode, 200);
    assert.equal(await uploads(), 0);
    assert.equal((await get('/v1/topologies/prod')).json().revision, 2);
  });

  test('concurrent writes with the same If-Match: exactly one wins, the others get 412', async () => {
    await put('prod', { cluster: cluster() });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => {
        const c = cluster();
        c.pods = c.pods!.slice(0, i % 4);
        return put('prod', { description: `writer ${i}`, cluster: c }, { 'if-match': '"1"' });
      }),
    );
    const codes = results.map((r) => r.statusCode).sort();
    assert.deepEqual(codes, [200, 412, 412, 412, 412, 412]);
    const winner = results.find((r) => r.statusCode === 200)!.json();
    const stored = (await get('/v1/topologies/prod')).json();
    assert.equal(stored.revision, 2);
    assert.equal(stored.description, winner.description);
  });

  test('concurrent creates of one name: one 201, the rest 409', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => post({ name: 'race', cluster: cluster() })));
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [201, 409, 409, 409, 409]);
  });
});

describe('revisions', () => {
  test('every change is an immutable revision; the newest N are kept', async () => {
    for (let i = 1; i <= 5; i++) {
      const c = cluster();
      c.pods = c.pods!.slice(0, i - 1);
      assert.ok([200, 201].includes((await put('prod', { description: `rev ${i}`, cluster: c })).statusCode));
    }
    const list = (await get('/v1/topologies/prod/revisions')).json();
    assert.deepEqual(
      list.items.map((r: { revision: number; description: string; summary: { pods: number } }) => [r.revision, r.description, r.summary.pods]),
      [
        [5, 'rev 5', 4],
        [4, 'rev 4', 3],
        [3, 'rev 3', 2],
      ],
    );
    const third = await get('/v1/topologies/prod/revisions/3');
    assert.equal(third.statusCode, 200);
    assert.equal(third.headers.etag, '"3"');
    assert.equal(third.json().cluster.pods.length, 2);
    const pruned = await get('/v1/topologies/prod/revisions/1');
    assert.equal(pruned.statusCode, 404);
    assert.match(pruned.json().detail, /no longer kept/);
    const future = await get('/v1/topologies/prod/revisions/9');
    assert.equal(future.statusCode, 404);
    assert.match(future.json().detail, /newest is 5/);
  });

  test('revisions page with a cursor', async () => {
    for (let i = 0; i < 3; i++) await put('prod', { cluster: cluster() });
    const first = (await get('/v1/topologies/prod/revisions?limit=2')).json();
    assert.deepEqual(first.items.map((r: { revision: number }) => r.revision), [3, 2]);
    assert.equal(typeof first.nextCursor, 'string');
    const second = (await get(`/v1/topologies/prod/revisions?limit=2&cursor=${first.nextCursor}`)).json();
    assert.deepEqual(second.items.map((r: { revision: number }) => r.revision), [1]);
    assert.equal(second.nextCursor, null);
  });
});

describe('list', () => {
  test('keyset pagination visits every topology once, in name order', async () => {
    const names = ['delta', 'alpha', 'echo', 'charlie', 'bravo'];
    for (const name of names) await post({ name, description: `the ${name} cluster`, cluster: cluster() });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await get(`/v1/topologies?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(res.statusCode, 200);
      const page = res.json();
      assert.ok(page.items.length <= 2);
      for (const item of page.items) {
        assert.deepEqual(Object.keys(item).sort(), ['description', 'form', 'name', 'revision', 'summary', 'updatedAt']);
        assert.equal(item.description, `the ${item.name} cluster`);
        assert.deepEqual(item.summary, { nodes: 2, pods: 4, netns: 5 });
        seen.push(item.name);
      }
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    assert.deepEqual(seen, [...names].sort());
    assert.equal(pages, 3);
  });

  test('limit above 200, a non-number limit and a forged cursor are 400 problems', async () => {
    const big = await get('/v1/topologies?limit=201');
    assert.equal(big.statusCode, 400);
    assert.deepEqual(big.json().errors, [{ parameter: 'limit', detail: 'must be <= 200' }]);
    assert.equal((await get('/v1/topologies?limit=ten')).statusCode, 400);
    const forged = await get('/v1/topologies?cursor=not-a-cursor');
    assert.equal(forged.statusCode, 400);
    assert.equal(forged.json().errors[0].parameter, 'cursor');
  });
});

describe('delete', () => {
  test('DELETE honours If-Match, then the topology and its revisions are gone', async () => {
    await put('prod', { cluster: cluster() });
    await put('prod', { cluster: cluster() });
    const stale = await t.app.inject({ method: 'DELETE', url: '/v1/topologies/prod', headers: { 'if-match': '"1"' } });
    assert.equal(stale.statusCode, 412);
    assert.equal((await get('/v1/topologies/prod')).statusCode, 200);
    const gone = await t.app.inject({ method: 'DELETE', url: '/v1/topologies/prod', headers: { 'if-match': '"2"' } });
    assert.equal(gone.statusCode, 204);
    assert.equal(gone.body, '');
    assert.equal((await get('/v1/topologies/prod')).statusCode, 404);
    assert.equal((await get('/v1/topologies/prod/revisions')).statusCode, 404);
    assert.equal((await t.app.inject({ method: 'DELETE', url: '/v1/topologies/prod' })).statusCode, 404);
  });

  test('a topology created again after a delete starts over at revision 1 with a fresh history', async () => {
    await put('prod', { cluster: cluster() });
    await put('prod', { cluster: cluster() });
    await t.app.inject({ method: 'DELETE', url: '/v1/topologies/prod' });
    const again = await post({ name: 'prod', cluster: cluster() });
    assert.equal(again.json().revision, 1);
    const revisions = (await get('/v1/topologies/prod/revisions')).json();
    assert.deepEqual(revisions.items.map((r: { revision: number }) => r.revision), [1]);
  });
});
