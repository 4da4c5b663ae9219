// Stored documents are read by the worker threads, never by the main thread: a 150,000-pod document is 15 MB of text,
// and the main thread's driver copying and decoding it held the event loop for tens of milliseconds per read (more under
// load), longer than a health check may wait. Watched here at the adapter the main thread queries through: while a
// revision is read back (GET), traced cold, compared with another (diff) and changed by a what-if, none of the rows it
// receives carries a document, and every answer is still the stored one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, type TestApp } from '../helpers/app.js';
import { resetDb } from '../helpers/db.js';
import { example } from '../helpers/examples.js';

let t: TestApp;
/** The columns of every row the main thread's queries returned while watched. */
const columns = new Set<string>();
let watching = false;

before(async () => {
  t = await openTestApp();
  await resetDb(t.db);
  const query = t.db.query.bind(t.db);
  t.db.query = async (sql, params) => {
    const result = await query(sql, params);
    if (watching) for (const row of result.rows) for (const column of Object.keys(row as object)) columns.add(column);
    return result as never;
  };
});
after(() => t.close());

test('a revision read, traced cold, diffed and changed by a what-if: its document never reaches the main thread', async () => {
  const { name: _, ...doc } = example('two-nodes') as { name: string; cluster: { pods: { name: string }[] } };
  const first = { ...doc, description: 'first' };
  const second = { ...doc, description: 'second', cluster: { ...doc.cluster, pods: doc.cluster.pods.slice(0, -1) } };
  for (const body of [first, second]) {
    const res = await t.app.inject({ method: 'PUT', url: '/v1/topologies/docs', payload: body });
    assert.ok(res.statusCode === 201 || res.statusCode === 200, res.body);
  }
  // The workers let go of what the writes compiled: every read below goes to the database.
  t.app.work.forget('docs');
  watching = true;
  try {
    const newest = await t.app.inject('/v1/topologies/docs');
    assert.equal(newest.statusCode, 200, newest.body);
    assert.equal(newest.headers.etag, '"2"');
    assert.deepEqual(newest.json().cluster, second.cluster);
    assert.equal(newest.json().description, 'second');
    const older = await t.app.inject('/v1/topologies/docs/revisions/1');
    assert.deepEqual(older.json().cluster, first.cluster);

    const trace = await t.app.inject('/v1/topologies/docs/trace?from=pod-a1&to=pod-b1&revision=1');
    assert.equal(trace.statusCode, 200, trace.body);
    assert.equal(trace.json().disposition, 'DELIVERED');

    const diff = await t.app.inject('/v1/topologies/docs/diff?from=1&to=2');
    assert.equal(diff.statusCode, 200, diff.body);
    assert.ok(diff.json().changes.pods.removed.length === 1, diff.body);

    const whatIf = await t.app.inject({ method: 'POST', url: '/v1/traces', payload: { base: 'docs', revision: 1, patch: { description: 'x' }, flows: [{ from: 'pod-a1', to: 'pod-b1' }], compare: {} } });
    assert.equal(whatIf.statusCode, 200, whatIf.body);
    assert.deepEqual(whatIf.json().base, { name: 'docs', revision: 1 });
    assert.equal(whatIf.json().traces[0].trace.disposition, 'DELIVERED');

    // A revision that is not kept is still answered 404 with the reason, though the worker is the one that finds out.
    const missing = await t.app.inject('/v1/topologies/docs/trace?from=pod-a1&to=pod-b1&revision=7');
    assert.equal(missing.statusCode, 404, missing.body);
    assert.match(missing.json().detail, /docs has no revision 7; its newest is 2/);
  } finally {
    watching = false;
  }
  assert.ok(columns.size > 0, 'the main thread did query');
  assert.ok(!columns.has('document'), `the main thread received a document: columns ${[...columns].join(', ')}`);
});
