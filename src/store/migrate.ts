// Numbered plain-SQL files applied in order, each once. All of it runs in one transaction under a transaction-scoped
// advisory lock, so replicas that start together apply each file exactly once and a failed file leaves nothing behind.
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Db, Queryable } from './db.js';

export const migrationsDir = fileURLToPath(new URL('../../migrations/', import.meta.url));

// Any constant works; it only has to be the same in every replica and unlikely to collide with another application's.
const LOCK_KEY = 0x70617468; // "path"

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export async function loadMigrations(dir = migrationsDir): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d+_[\w-]+\.sql$/.test(f));
  const migrations = await Promise.all(
    files.map(async (name) => ({ version: Number.parseInt(name, 10), name, sql: await readFile(dir + name, 'utf8') })),
  );
  // By number, not by name: 10_x comes after 2_x, however the files are padded.
  migrations.sort((a, b) => a.version - b.version);
  const seen = new Set<number>();
  for (const m of migrations) {
    if (seen.has(m.version)) throw new Error(`two migrations share the number ${m.version}`);
    seen.add(m.version);
  }
  return migrations;
}

/** Applies what is missing; returns the names applied now. */
export async function migrate(db: Db, migrations?: Migration[]): Promise<string[]> {
  const all = migrations ?? (await loadMigrations());
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const applied = new Set((await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const done: string[] = [];
    for (const m of all) {
      if (applied.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      done.push(m.name);
    }
    return done;
  });
}

/** True when every known migration has been applied (the readiness check). */
export async function isMigrated(db: Queryable, migrations?: Migration[]): Promise<boolean> {
  const all = migrations ?? (await loadMigrations());
  const exists = await db.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
  if (!exists.rows[0]?.t) return false;
  const r = await db.query<{ n: string }>('SELECT count(*)::int8 AS n FROM schema_migrations WHERE version = ANY($1::int[])', [
    all.map((m) => m.version),
  ]);
  return Number(r.rows[0]?.n) === all.length;
}
