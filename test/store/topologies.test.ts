// The store against a real Postgres (server or PGlite): writes are all-or-nothing.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Db } from '../../src/store/db.js';
import { stageDocument, TopologyStore, type TopologyInput } from '../../src/store/topologies.js';
import { openTestDb, resetDb } from '../helpers/db.js';

let db: Db;
let store: TopologyStore;
before(async () => {
  db = await openTestDb();
  store = new TopologyStore(db, 2);
});
after(() => db.close());
beforeEach(() => resetDb(db));

const input = (name: string, documentJson: TopologyInput['documentJson'] = '{"nodes":[]}'): TopologyInput => ({
  name,
  description: undefined,
  form: 'cluster',
  documentJson,
  summary: { nodes: 0, pods: 0, netns: 0 },
});

const count = async (table: string) => Number((await db.query<{ n: string }>(`SELECT count(*)::int8 AS n FROM ${table}`)).rows[0]!.n);

test('a create that fails after its first statement leaves no topology behind', async () => {
  // The document is inserted after the topology row; broken JSON makes that second statement fail.
  await assert.rejects(store.create(input('prod', '{"nodes": [')));
  assert.equal(await count('topologies'), 0);
  assert.equal(await count('topology_revisions'), 0);
});

test('a replace that fails leaves the previous revision current and intact', async () => {
  await store.create(input('prod', '{"nodes":[1]}'));
  await assert.rejects(store.put(input('prod', 'not json'), undefined, false));
  const current = await store.get('prod');
  assert.equal(current.revision, 1);
  assert.equal(current.documentJson, '{"nodes":[1]}');
  assert.equal(await count('topology_revisions'), 1);
});

// A worker uploads a large document itself (document_uploads), so that the main thread's write never handles its bytes.
const utf8 = (text: string) => new TextEncoder().encode(text);

test('an uploaded document is moved into its revision as it was sent, and its upload is gone', async () => {
  const text = '{"nodes":[{"name":"nœud-ä","labels":{"team":"東京 🚀"}}]}';
  await store.create(input('prod', await stageDocument(db, utf8(text))));
  await store.put(input('prod', await stageDocument(db, utf8('{"nodes":[2]}'))), [1], false);
  assert.equal((await store.get('prod', 1)).documentJson, text);
  assert.equal((await store.get('prod')).documentJson, '{"nodes":[2]}');
  assert.equal(await count('document_uploads'), 0);
});

test('a write refused or failed lets go of its upload, and leaves the topology as it was', async () => {
  await store.create(input('prod', '{"nodes":[1]}'));
  await assert.rejects(store.put(input('prod', await stageDocument(db, utf8('{"nodes":[2]}'))), [7], false), /revision/);
  await assert.rejects(store.create(input('prod', await stageDocument(db, utf8('{"nodes":[3]}')))), /already exists/);
  await assert.rejects(stageDocument(db, utf8('{"nodes": [')), 'bytes that are not JSON are refused when uploaded');
  await store.discard(await stageDocument(db, utf8('{"nodes":[4]}')));
  assert.equal(await count('document_uploads'), 0);
  assert.equal((await store.get('prod')).revision, 1);
  assert.equal(await count('topology_revisions'), 1);
});

test('an upload no write took is removed by a later upload once it is an hour old, not before', async () => {
  const left = await stageDocument(db, utf8('{"nodes":[1]}'));
  const recent = await stageDocument(db, utf8('{"nodes":[2]}'));
  await db.query("UPDATE document_uploads SET created_at = now() - interval '61 minutes' WHERE id = $1", [left.staged]);
  await stageDocument(db, utf8('{"nodes":[3]}'));
  const ids = (await db.query<{ id: string }>('SELECT id FROM document_uploads ORDER BY id')).rows.map((r) => r.id);
  assert.equal(ids.length, 2);
  assert.ok(!ids.includes(left.staged) && ids.includes(recent.staged));
  await assert.rejects(store.create(input('late', left)), /is gone/);
  assert.equal(await count('topologies'), 0);
});

test('a document given as its UTF-8 bytes is stored as its text, and bytes that are not JSON are refused as text is', async () => {
  const text = '{"nodes":[{"name":"nœud-ä","labels":{"team":"東京 🚀"}}]}';
  await store.create(input('prod', new TextEncoder().encode(text)));
  assert.equal((await store.get('prod')).documentJson, text);
  await assert.rejects(store.put(input('prod', new TextEncoder().encode('{"nodes": [')), undefined, false));
  assert.equal((await store.get('prod')).revision, 1);
});

test('revisions beyond the newest N are pruned in the same transaction as the write', async () => {
  await store.create(input('prod', '{"r":1}'));
  await store.put(input('prod', '{"r":2}'), undefined, false);
  await store.put(input('prod', '{"r":3}'), [2], false);
  const rows = await db.query<{ revision: string }>('SELECT revision FROM topology_revisions ORDER BY revision');
  assert.deepEqual(rows.rows.map((r) => Number(r.revision)), [2, 3]);
  assert.equal((await store.get('prod', 2)).documentJson, '{"r":2}');
});

test('int8 columns come back as strings and timestamps as ISO text on this backend', async () => {
  const meta = await store.create(input('prod'));
  assert.equal(typeof meta.id, 'string');
  assert.match(meta.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(await store.head('prod'), { id: meta.id, revision: 1 });
});

test('concurrent creates: with If-None-Match: * one wins and the others fail their precondition; without, all land', async () => {
  const guarded = await Promise.allSettled(Array.from({ length: 8 }, () => store.put(input('race-guarded'), undefined, true)));
  assert.equal(guarded.filter((r) => r.status === 'fulfilled').length, 1);
  for (const r of guarded) {
    if (r.status === 'rejected') assert.equal((r.reason as Error).constructor.name, 'PreconditionFailedError', String(r.reason));
  }
  const open = await Promise.all(Array.from({ length: 8 }, () => store.put(input('race-open'), undefined, false)));
  assert.equal(open.filter((r) => r.created).length, 1);
  assert.deepEqual(open.map((r) => r.meta.revision).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8]);
});
