// One thin adapter over the two Postgres backends: a server through a `pg` pool, or PGlite (Postgres compiled to
// WebAssembly) embedded in the process. Both return int8 as a string and take JSON as text parameters, so the SQL and the
// code above it are identical on both. A transaction's handle is passed explicitly: nothing finds "the current transaction"
// by magic, so a query outside it cannot slip in by accident.
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { lockDataDir, type DataDirLock } from './datadir-lock.js';

export interface Rows<T> {
  rows: T[];
  rowCount: number;
}

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Rows<T>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'pg' | 'pglite';
  /** Runs fn in one transaction: committed when fn resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export type DbConfig = { databaseUrl: string } | { dataDir: string } | { memory: true };

export async function openDb(config: DbConfig, options: { onDataDirLost?: (err: Error) => void } = {}): Promise<Db> {
  if ('databaseUrl' in config) return openPg(config.databaseUrl);
  if ('dataDir' in config) return openPglite(config.dataDir, options.onDataDirLost);
  return openPglite(undefined);
}

const INT8 = 20;

function openPg(connectionString: string): Db {
  // int8 is already a string in pg by default; said explicitly because the rest of the code relies on it.
  const types = { getTypeParser: (oid: number, format?: string) => (oid === INT8 ? (v: string) => v : pg.types.getTypeParser(oid, format as 'text')) };
  const pool = new pg.Pool({ connectionString, types, max: Number(process.env.PG_POOL_MAX ?? 10) });
  // An idle client that loses its connection emits 'error' on the pool; unhandled, it would end the process.
  pool.on('error', () => {});
  const wrap = (c: pg.Pool | pg.PoolClient): Queryable => ({
    async query<T>(sql: string, params?: unknown[]) {
      const r = await c.query(sql, params as unknown[]);
      return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
    },
    async exec(sql: string) {
      // Without parameters pg uses the simple protocol, which accepts several statements.
      await c.query(sql);
    },
  });
  return {
    kind: 'pg',
    ...wrap(pool),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

/** Another process has taken the embedded data folder over: this one may not touch it any more. */
export class DataDirLostError extends Error {}

async function openPglite(dataDir: string | undefined, onLost?: (err: Error) => void): Promise<Db> {
  // PGlite does not lock its folder: two processes on one folder would both write and silently lose data.
  const lock: DataDirLock | undefined = dataDir ? await lockDataDir(dataDir, { onLost }) : undefined;
  let db: PGlite;
  try {
    db = await PGlite.create(dataDir ?? 'memory://', { parsers: { [INT8]: (v: string) => v } });
  } catch (err) {
    await lock?.release();
    throw err;
  }
  const held = () => {
    if (lock?.lost) throw new DataDirLostError(`another process has taken the data folder ${dataDir} over`);
  };
  const wrap = (c: Pick<PGlite, 'query' | 'exec'>): Queryable => ({
    async query<T>(sql: string, params?: unknown[]) {
      held();
      const r = await c.query<T>(sql, params);
      // PGlite counts only written rows in affectedRows; pg's rowCount also counts the rows a SELECT returns.
      return { rows: r.rows, rowCount: r.rows.length > 0 ? r.rows.length : (r.affectedRows ?? 0) };
    },
    async exec(sql: string) {
      held();
      await c.exec(sql);
    },
  });
  return {
    kind: 'pglite',
    ...wrap(db),
    // PGlite runs one statement at a time; its transaction() holds the database for the whole callback, which is exactly
    // the isolation a single embedded connection can give.
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    async close() {
      try {
        await db.close();
      } finally {
        await lock?.release();
      }
    },
  };
}
