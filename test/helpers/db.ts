// Tests run against a real Postgres: the server named by DATABASE_URL (CI) or an in-memory PGlite (a fresh machine).
import { openDb, type Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';

export const backend = process.env.DATABASE_URL ? 'pg' : 'pglite';

export async function openTestDb(): Promise<Db> {
  const url = process.env.DATABASE_URL;
  const db = await openDb(url ? { databaseUrl: url } : { memory: true });
  await migrate(db);
  await resetDb(db);
  return db;
}

/** Test files run one at a time, so each starts from empty tables. */
export async function resetDb(db: Db): Promise<void> {
  // Identities continue: ids are never reused in production, and the compiled-topology cache relies on that.
  await db.exec('TRUNCATE topologies, topology_revisions, api_tokens, document_uploads CASCADE');
}
