import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Db } from '../../src/store/db.js';
import { Heads } from '../../src/store/heads.js';
import { TopologyStore } from '../../src/store/topologies.js';
import { openTestDb } from '../helpers/db.js';

let db: Db;
before(async () => {
  db = await openTestDb();
});
after(() => db.close());

/** The same database, counting the queries sent to it. */
function counting(inner: Db): Db & { queries: number } {
  const c = { ...inner, queries: 0 } as Db & { queries: number };
  c.query = (sql, params) => {
    c.queries++;
    return inner.query(sql, params);
  };
  return c;
}

const input = (name: string) => ({ name, description: undefined, form: 'cluster' as const, documentJson: '{}', summary: { nodes: 0, pods: 0, netns: 0 } });

test('the newest revision is always current after a write, on either backend', async () => {
  const store = new TopologyStore(db, 5);
  const created = await store.create(input('heads-a'));
  assert.deepEqual(await store.head('heads-a'), { id: created.id, revision: 1 });
  await store.put(input('heads-a'), undefined, false);
  assert.equal((await store.head('heads-a')).revision, 2);
  await store.remove('heads-a', undefined);
  await assert.rejects(store.head('heads-a'), /there is no topology named heads-a/);
});

test('embedded: a name once read is answered from memory; on a server, concurrent reads share one query', async () => {
  await new TopologyStore(db, 5).create(input('heads-b'));
  const c = counting(db);
  const heads = new Heads(c);
  const answers = await Promise.all(Array.from({ length: 20 }, () => heads.get('heads-b')));
  assert.ok(answers.every((h) => h?.revision === 1));
  if (db.kind === 'pglite') {
    const before = c.queries;
    await heads.get('heads-b');
    assert.equal(c.queries, before, 'no query for a name already known');
  } else {
    assert.equal(c.queries, 1, '20 reads in one turn of the event loop, one query');
    await heads.get('heads-b');
    assert.equal(c.queries, 2, 'a later read asks the database again');
  }
});

test('embedded: a read that a write overtakes is not remembered', async () => {
  const c = counting(db);
  const heads = new Heads(c);
  const reading = heads.get('heads-c'); // absent when read
  heads.wrote('heads-c', { id: '999', revision: 1 });
  assert.equal(await reading, undefined);
  if (db.kind === 'pglite') assert.deepEqual(await heads.get('heads-c'), { id: '999', revision: 1 });
});

test('names that do not exist are not remembered: 5,000 unknown names leave nothing behind', async () => {
  const heads = new Heads(db);
  await new TopologyStore(db, 5).create(input('heads-d'));
  for (let i = 0; i < 5000; i += 500) {
    await Promise.all(Array.from({ length: 500 }, (_, k) => heads.get(`heads-unknown-${i + k}`)));
  }
  assert.equal(await heads.get('heads-unknown-1'), undefined);
  assert.equal((await heads.get('heads-d'))?.revision, 1);
  assert.equal(heads.size, db.kind === 'pglite' ? 1 : 0);
  heads.wrote('heads-d', undefined);
  assert.equal(heads.size, 0, 'a deleted name is forgotten');
});
