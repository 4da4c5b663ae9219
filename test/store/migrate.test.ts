import { test } from 'node:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { openDb, type Db } from '../../src/store/db.js';
import { isMigrated, loadMigrations, migrate } from '../../src/store/migrate.js';
import { backend } from '../helpers/db.js';

// A database of its own, so that the migration starts from nothing: a fresh schema on the server, a fresh PGlite otherwise.
async function freshDb(): Promise<{ open: () => Promise<Db>; drop: () => Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const db = await openDb({ memory: true });
    return { open: async () => db, drop: () => db.close() };
  }
  const admin = await openDb({ databaseUrl: url });
  const schema = `migrate_test_${process.pid}`;
  await admin.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  const scoped = new URL(url);
  scoped.searchParams.set('options', `-c search_path=${schema}`);
  const opened: Db[] = [];
  return {
    open: async () => {
      const db = await openDb({ databaseUrl: scoped.toString() });
      opened.push(db);
      return db;
    },
    drop: async () => {
      for (const db of opened) await db.close();
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
}

test('a fresh database is not ready until migrated; migrating twice applies each file once', async () => {
  const fresh = await freshDb();
  try {
    const db = await fresh.open();
    assert.equal(await isMigrated(db), false);
    const names = (await loadMigrations()).map((m) => m.name);
    assert.deepEqual(await migrate(db), names);
    assert.equal(await isMigrated(db), true);
    assert.deepEqual(await migrate(db), []);
    const rows = await db.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY version');
    assert.deepEqual(rows.rows.map((r) => r.name), names);
  } finally {
    await fresh.drop();
  }
});

test('replicas starting together apply the migrations exactly once', { skip: backend !== 'pg' && 'needs a PostgreSQL server' }, async () => {
  const fresh = await freshDb();
  try {
    const replicas = await Promise.all([fresh.open(), fresh.open(), fresh.open()]);
    const applied = await Promise.all(replicas.map((db) => migrate(db)));
    const total = (await loadMigrations()).length;
    assert.equal(applied.reduce((n, a) => n + a.length, 0), total);
    assert.equal(applied.filter((a) => a.length === total).length, 1);
  } finally {
    await fresh.drop();
  }
});

test('a broken migration leaves nothing applied', async () => {
  const fresh = await freshDb();
  try {
    const db = await fresh.open();
    const good = await loadMigrations();
    const broken = [...good, { version: 999, name: '999_broken.sql', sql: 'CREATE TABLE half_done (x int); SELECT nonsense FROM nowhere;' }];
    await assert.rejects(migrate(db, broken));
    assert.equal(await isMigrated(db, good), false);
    const t = await db.query<{ t: string | null }>("SELECT to_regclass('half_done')::text AS t");
    assert.equal(t.rows[0]!.t, null);
  } finally {
    await fresh.drop();
  }
});

test('migrations run in the order of their numbers, not of their file names (10 after 2)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pathtrace-migrations-'));
  const fresh = await freshDb();
  try {
    // 10_ sorts before 2_ as a string; the second file depends on the first.
    await writeFile(join(dir, '2_first.sql'), 'CREATE TABLE order_first (x int PRIMARY KEY);');
    await writeFile(join(dir, '10_second.sql'), 'CREATE TABLE order_second (x int REFERENCES order_first (x));');
    await writeFile(join(dir, '1_zero.sql'), 'SELECT 1;');
    const loaded = await loadMigrations(dir + '/');
    assert.deepEqual(loaded.map((m) => m.version), [1, 2, 10]);
    assert.deepEqual(await migrate(await fresh.open(), loaded), ['1_zero.sql', '2_first.sql', '10_second.sql']);
  } finally {
    await fresh.drop();
    await rm(dir, { recursive: true, force: true });
  }
});
