import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../src/store/db.js';
import { isMigrated, loadMigrations } from '../../src/store/migrate.js';
import { currentManifest, seedFromTemplate, templateMatches, usableTemplate, type TemplateManifest } from '../../src/store/template.js';

/** A stand-in template folder (a few files, PG_VERSION among them) that says `manifest`. */
function fakeTemplate(root: string, manifest: TemplateManifest): string {
  const dir = join(root, 'template');
  mkdirSync(join(dir, 'base', '1'), { recursive: true });
  writeFileSync(join(dir, 'PG_VERSION'), '17\n');
  writeFileSync(join(dir, 'base', '1', '1259'), 'catalog');
  writeFileSync(join(dir, 'template.json'), JSON.stringify(manifest));
  return dir;
}

test('a template is used only for exactly the migrations and the PGlite it was made from', async () => {
  const now = await currentManifest();
  assert.ok(now.migrations.length >= 2);
  assert.equal(templateMatches(structuredClone(now), now), true);
  const changed = structuredClone(now);
  changed.migrations[0]!.sha256 = '0'.repeat(64);
  assert.equal(templateMatches(changed, now), false, 'a migration edited since the template was made');
  const older = { ...now, migrations: now.migrations.slice(0, -1) };
  assert.equal(templateMatches(older, now), false, 'a migration added since');
  assert.equal(templateMatches({ ...now, pglite: '0.0.1' }, now), false, 'another PGlite');
  // The hash is of the SQL as the service would run it.
  const migrations = await loadMigrations();
  const edited = await currentManifest(migrations.map((m, i) => (i === 0 ? { ...m, sql: `${m.sql}\n-- edited` } : m)));
  assert.equal(templateMatches(now, edited), false);
});

test('an empty data folder is seeded from a current template; a stale one or an initialised folder is left alone', async () => {
  const root = mkdtempSync(join(tmpdir(), 'pathtrace-template-'));
  try {
    const now = await currentManifest();
    const good = fakeTemplate(join(root, 'good'), now);
    const stale = fakeTemplate(join(root, 'stale'), { ...now, migrations: now.migrations.slice(0, -1) });

    const fresh = join(root, 'fresh');
    mkdirSync(join(fresh, '.pathtrace.lock'), { recursive: true }); // the lock is taken before the copy
    assert.equal(await seedFromTemplate(fresh, stale), false);
    assert.equal(existsSync(join(fresh, 'PG_VERSION')), false, 'nothing copied from a stale template');
    assert.equal(await seedFromTemplate(fresh, good), true);
    assert.equal(readFileSync(join(fresh, 'base', '1', '1259'), 'utf8'), 'catalog');
    assert.equal(existsSync(join(fresh, 'PG_VERSION')), true);
    assert.equal(existsSync(join(fresh, 'template.json')), false, 'the manifest is not part of the database');
    assert.equal(existsSync(join(fresh, '.pathtrace.lock')), true);

    // A folder that is a database already is never overwritten.
    writeFileSync(join(fresh, 'base', '1', '1259'), 'user data');
    assert.equal(await seedFromTemplate(fresh, good), false);
    assert.equal(readFileSync(join(fresh, 'base', '1', '1259'), 'utf8'), 'user data');

    assert.equal(await usableTemplate(join(root, 'missing')), undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('npm run build leaves a current template, and a new data folder opens from it already migrated', async () => {
  assert.ok(await usableTemplate(), 'dist/pglite-template is missing or stale: run npm run build');
  const dataDir = mkdtempSync(join(tmpdir(), 'pathtrace-template-db-'));
  try {
    const db = await openDb({ dataDir });
    try {
      assert.equal(await isMigrated(db), true, 'migrated before migrate() ran: the folder is a copy of the template');
      const tables = await db.query<{ t: string }>("SELECT to_regclass('topologies')::text AS t");
      assert.equal(tables.rows[0]!.t, 'topologies');
    } finally {
      await db.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
