// One thin adapter over the two Postgres backends: a server through a `pg` pool, or PGlite (Postgres compiled to
// WebAssembly) embedded in the process, in a thread of its own (pglite-thread.ts). Both return int8 as a string and take JSON as text parameters, so the SQL and the
// code above it are identical on both. A JSON parameter may also be its text's UTF-8 bytes (a Uint8Array), which this
// thread never decodes: pg sends them as they are, in binary format (json's binary form is its text); the PGlite thread
// decodes them. Encoding 15 MB of text here held the event loop for hundreds of milliseconds on a busy machine. A transaction's handle is passed explicitly: nothing finds "the current transaction"
// by magic, so a query outside it cannot slip in by accident. Other threads (the workers, which read the documents
// they compile) get a handle of their own (share, openShared): a row of 15 MB then never crosses the main thread.
import pg from 'pg';
import { MessageChannel, Worker, type MessagePort, type Transferable } from 'node:worker_threads';
import { threadSource } from '../threads.js';
import type { ThreadReply, ThreadRequest } from './pglite-protocol.js';
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
  /**
   * A handle another thread opens with openShared, to query the same database outside any transaction: a connection
   * string for a server, a port to the embedded database's thread. Post it with `transfer`.
   */
  share(): { handle: SharedDb; transfer: Transferable[] };
  close(): Promise<void>;
}

export type SharedDb = { kind: 'pg'; connectionString: string } | { kind: 'pglite'; port: MessagePort };

/**
 * The database as another thread sees it, from a handle of share(). For a server, a connection of its own, opened when
 * first used and closed when idle: a worker that needs no document holds none.
 */
export function openShared(handle: SharedDb): Queryable & { close(): Promise<void> } {
  if (handle.kind === 'pg') {
    const pool = pgPool(handle.connectionString, { max: 1, idleTimeoutMillis: 10_000 });
    return { ...wrapPg(pool), close: () => pool.end() };
  }
  const thread = new PgliteThread(handle.port);
  return {
    query: async <T>(sql: string, params?: unknown[]) => (await thread.ask({ op: 'query', sql, params, tx: undefined })) as Rows<T>,
    exec: async (sql: string) => void (await thread.ask({ op: 'exec', sql, tx: undefined })),
    close: async () => handle.port.close(),
  };
}

export type DbConfig = { databaseUrl: string } | { dataDir: string } | { memory: true };

export async function openDb(config: DbConfig, options: { onDataDirLost?: (err: Error) => void } = {}): Promise<Db> {
  if ('databaseUrl' in config) return openPg(config.databaseUrl);
  if ('dataDir' in config) return openPglite(config.dataDir, options.onDataDirLost);
  return openPglite(undefined);
}

const INT8 = 20;

function pgPool(connectionString: string, options: pg.PoolConfig): pg.Pool {
  // int8 is already a string in pg by default; said explicitly because the rest of the code relies on it.
  const types = { getTypeParser: (oid: number, format?: string) => (oid === INT8 ? (v: string) => v : pg.types.getTypeParser(oid, format as 'text')) };
  const pool = new pg.Pool({ connectionString, types, ...options });
  // An idle client that loses its connection emits 'error' on the pool; unhandled, it would end the process.
  pool.on('error', () => {});
  return pool;
}

/** pg sends a Buffer parameter as it is (any other object as JSON): a Uint8Array is viewed as one, not copied. */
const bytesAsBuffer = (p: unknown) => (p instanceof Uint8Array && !Buffer.isBuffer(p) ? Buffer.from(p.buffer, p.byteOffset, p.byteLength) : p);

const wrapPg = (c: pg.Pool | pg.PoolClient): Queryable => ({
  async query<T>(sql: string, params?: unknown[]) {
    const r = await c.query(sql, params?.map(bytesAsBuffer));
    return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
  },
  async exec(sql: string) {
    // Without parameters pg uses the simple protocol, which accepts several statements.
    await c.query(sql);
  },
});

function openPg(connectionString: string): Db {
  const pool = pgPool(connectionString, { max: Number(process.env.PG_POOL_MAX ?? 10) });
  return {
    kind: 'pg',
    ...wrapPg(pool),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(wrapPg(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    share: () => ({ handle: { kind: 'pg', connectionString }, transfer: [] }),
    close: () => pool.end(),
  };
}

/** Another process has taken the embedded data folder over: this one may not touch it any more. */
export class DataDirLostError extends Error {}

async function openPglite(dataDir: string | undefined, onLost?: (err: Error) => void): Promise<Db> {
  // PGlite does not lock its folder: two processes on one folder would both write and silently lose data.
  const lock: DataDirLock | undefined = dataDir ? await lockDataDir(dataDir, { onLost }) : undefined;
  let thread: PgliteThread;
  try {
    thread = await PgliteThread.open(dataDir);
  } catch (err) {
    await lock?.release();
    throw err;
  }
  const held = () => {
    if (lock?.lost) throw new DataDirLostError(`another process has taken the data folder ${dataDir} over`);
  };
  const wrap = (tx: number | undefined): Queryable => ({
    async query<T>(sql: string, params?: unknown[]) {
      held();
      return (await thread.ask({ op: 'query', sql, params, tx })) as Rows<T>;
    },
    async exec(sql: string) {
      held();
      await thread.ask({ op: 'exec', sql, tx });
    },
  });
  return {
    kind: 'pglite',
    ...wrap(undefined),
    // PGlite runs one statement at a time; its transaction() holds the database for the whole callback, which is exactly
    // the isolation a single embedded connection can give.
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      held();
      const tx = (await thread.ask({ op: 'begin' })) as number;
      let result: T;
      try {
        result = await fn(wrap(tx));
      } catch (err) {
        await thread.ask({ op: 'end', tx, commit: false }).catch(() => {});
        throw err;
      }
      await thread.ask({ op: 'end', tx, commit: true });
      return result;
    },
    share() {
      const { port1, port2 } = new MessageChannel();
      thread.attach(port2);
      return { handle: { kind: 'pglite', port: port1 }, transfer: [port1] };
    },
    async close() {
      try {
        await thread.close();
      } finally {
        await lock?.release();
      }
    },
  };
}

type Request = ThreadRequest extends infer R ? (R extends ThreadRequest ? Omit<R, 'id'> : never) : never;

/**
 * The thread PGlite runs in (pglite-thread.ts), asked by messages: by the thread that started it, or through a port
 * another thread was given (share).
 */
class PgliteThread {
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  private nextId = 1;
  private ended: Error | undefined;

  /** `to`: the thread itself, for the thread that started it; a port to it, for the others. */
  constructor(private readonly to: Worker | MessagePort) {
    to.on('message', (reply: ThreadReply) => {
      const waiting = this.pending.get(reply.id);
      if (waiting === undefined) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) to.unref();
      if (reply.error === undefined) waiting.resolve(reply.value);
      else waiting.reject(Object.assign(new Error(reply.error.message), reply.error));
    });
    const end = (err: Error) => {
      this.ended ??= err;
      for (const waiting of this.pending.values()) waiting.reject(this.ended);
      this.pending.clear();
    };
    if (to instanceof Worker) {
      to.on('error', end);
      to.on('exit', (code) => end(new Error(`the embedded database's thread ended (exit code ${code})`)));
    } else to.on('close', () => end(new Error("the embedded database's thread ended")));
  }

  static open(dataDir: string | undefined): Promise<PgliteThread> {
    const source = threadSource(import.meta.url, 'pglite-thread');
    const thread = new PgliteThread(new Worker(source.code, { eval: source.eval, workerData: { dataDir } }));
    // The thread says it is ready with the reply numbered 0.
    return new Promise((resolve, reject) => thread.pending.set(0, { resolve: () => resolve(thread), reject }));
  }

  ask(request: Request): Promise<unknown> {
    if (this.ended) return Promise.reject(this.ended);
    const id = this.nextId++;
    // Only a thread with a statement under way keeps the process alive, as an open socket would.
    if (this.pending.size === 0) this.to.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.to.postMessage({ ...request, id } satisfies ThreadRequest);
    });
  }

  /** Lets another thread ask through `port` (queries outside transactions). */
  attach(port: MessagePort): void {
    (this.to as Worker).postMessage({ op: 'attach', port, id: 0 } satisfies ThreadRequest, [port]);
  }

  async close(): Promise<void> {
    if (this.ended === undefined) await this.ask({ op: 'close' });
    await (this.to as Worker).terminate();
  }
}
