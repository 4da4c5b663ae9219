// The messages between db.ts and the thread that runs PGlite (pglite-thread.ts).
import type { MessagePort } from 'node:worker_threads';

export type ThreadRequest = { id: number } & (
  | { op: 'query'; sql: string; params: unknown[] | undefined; tx: number | undefined }
  | { op: 'exec'; sql: string; tx: number | undefined }
  | { op: 'begin' }
  | { op: 'end'; tx: number; commit: boolean }
  | { op: 'close' }
  /** Another thread's port, on which it asks queries (not in transactions) and gets their replies; not answered itself. */
  | { op: 'attach'; port: MessagePort }
);

/** `id` 0 says the database is open (value 'ready') or could not be opened (error). */
export interface ThreadReply {
  id: number;
  value?: unknown;
  error?: { name: string; message: string; [field: string]: unknown };
}
