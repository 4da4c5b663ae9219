import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from '../../../src/app.js';
import { openDb } from '../../../src/store/db.js';
import { migrate } from '../../../src/store/migrate.js';
import { openTestApp } from '../../helpers/app.js';

test('healthz and readyz answer 200 on a migrated database', async () => {
  const t = await openTestApp();
  try {
    assert.deepEqual((await t.app.inject('/healthz')).json(), { status: 'ok' });
    assert.deepEqual((await t.app.inject('/readyz')).json(), { status: 'ready' });
  } finally {
    await t.close();
  }
});

test('readyz is 503 before migration and after the database goes away, while healthz stays 200', async () => {
  const db = await openDb({ memory: true });
  const app = await buildApp({ db });
  try {
    let res = await app.inject('/readyz');
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().detail, 'the database schema is not migrated yet');
    await migrate(db);
    assert.equal((await app.inject('/readyz')).statusCode, 200);
    await db.close();
    res = await app.inject('/readyz');
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(res.json().detail, 'the database does not answer');
    assert.equal((await app.inject('/healthz')).statusCode, 200);
  } finally {
    await app.close();
  }
});
