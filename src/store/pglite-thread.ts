// The embedded database in a thread of its own. PGlite is Postgres compiled to WebAssembly: a statement runs
// synchronously wherever PGlite lives, and writing or reading a 15 MB document (jsonb in and out) takes hundreds of
// milliseconds of it. On the main thread that would stall every request for as long; here only this thread waits, and
// the main thread sends statements and receives rows as messages (db.ts). Transactions keep PGlite's own semantics: the
// callback of PGlite's transaction() stays open until the main thread ends it, and statements outside it wait.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { ThreadReply, ThreadRequest } from './pglite-protocol.js';
import { seedFromTemplate } from './template.js';
import { yieldToMainThread } from '../threads.js';

yieldToMainThread(5);

const INT8 = 20;
const utf8 = new TextDecoder();
const port = parentPort!;
const { dataDir } = workerData as { dataDir: string | undefined };
// PGlite's WebAssembly (9 MB) compiles on V8's background threads while this thread copies the template, rather than
// after it. The main thread has taken the folder's lock before starting this thread.
const wasm = readFile(createRequire(import.meta.url).resolve('@electric-sql/pglite/pglite.wasm')).then((bytes) => WebAssembly.compile(bytes));
wasm.catch(() => {}); // awaited below; a failure while the template is copied must not count as unhandled
// A new folder starts as a copy of the build's template (already migrated) instead of PGlite's initdb.
if (dataDir !== undefined) await seedFromTemplate(dataDir);
const db = await PGlite.create(dataDir ?? 'memory://', {
  pgliteWasmModule: await wasm,
  // int8 stays a string, as pg gives it.
  parsers: { [INT8]: (v: string) => v },
});

interface Open {
  tx: Transaction;
  end: (commit: boolean) => void;
}
const transactions = new Map<number, Open>();
let nextTx = 1;
/** Thrown inside a transaction's callback to make PGlite roll it back. */
const ROLLBACK = Symbol('rollback');

function failure(err: unknown): ThreadReply['error'] {
  // A DatabaseError's fields (code, detail, constraint...) are own properties that a structured clone of an Error drops.
  const e = err instanceof Error ? err : new Error(String(err));
  return { ...(e as unknown as Record<string, unknown>), name: e.name, message: e.message };
}

async function run(request: ThreadRequest): Promise<unknown> {
  switch (request.op) {
    case 'query': {
      const on = request.tx === undefined ? db : transactions.get(request.tx)!.tx;
      // UTF-8 bytes stand for their text (db.ts), decoded here rather than on the main thread.
      const params = request.params?.map((p) => (p instanceof Uint8Array ? utf8.decode(p) : p));
      const r = await on.query(request.sql, params);
      // PGlite counts only written rows in affectedRows; pg's rowCount also counts the rows a SELECT returns.
      return { rows: r.rows, rowCount: r.rows.length > 0 ? r.rows.length : (r.affectedRows ?? 0) };
    }
    case 'exec':
      await (request.tx === undefined ? db : transactions.get(request.tx)!.tx).exec(request.sql);
      return undefined;
    case 'begin':
      return new Promise<number>((began, failed) => {
        const id = nextTx++;
        let ended: Promise<void> | undefined;
        db.transaction(
          (tx) =>
            (ended = new Promise<void>((commit, rollback) => {
              transactions.set(id, { tx, end: (yes) => (yes ? commit() : rollback(ROLLBACK)) });
              began(id);
            })),
        ).then(
          () => settle(id, undefined),
          (err: unknown) => (ended === undefined ? failed(err) : settle(id, err === ROLLBACK ? undefined : err)),
        );
      });
    case 'end': {
      const open = transactions.get(request.tx)!;
      const done = new Promise<unknown>((resolve) => settling.set(request.tx, resolve));
      open.end(request.commit);
      const err = await done;
      if (err !== undefined) throw err;
      return undefined;
    }
    case 'close':
      await db.close();
      return undefined;
    case 'attach':
      // A worker's reads, on a port that closes with the worker.
      listen(request.port);
      return undefined;
  }
}

/** What a transaction's end waits for: PGlite's COMMIT (or ROLLBACK) done, and its error if it failed. */
const settling = new Map<number, (err: unknown) => void>();
function settle(id: number, err: unknown): void {
  transactions.delete(id);
  settling.get(id)?.(err);
  settling.delete(id);
}

function listen(on: MessagePort): void {
  on.on('message', (request: ThreadRequest) => {
    const reply = (message: ThreadReply) => on.postMessage(message);
    run(request).then(
      (value) => request.op !== 'attach' && reply({ id: request.id, value }),
      (err: unknown) => reply({ id: request.id, error: failure(err) }),
    );
  });
}
listen(port);
port.postMessage({ id: 0, value: 'ready' } satisfies ThreadReply);
