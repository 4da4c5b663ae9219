// The messages between db.ts and the thread that runs PGlite (pglite-thread.ts).

export type ThreadRequest = { id: number } & (
  | { op: 'query'; sql: string; params: unknown[] | undefined; tx: number | undefined }
  | { op: 'exec'; sql: string; tx: number | undefined }
  | { op: 'begin' }
  | { op: 'end'; tx: number; commit: boolean }
  | { op: 'close' }
);

/** `id` 0 says the database is open (value 'ready') or could not be opened (error). */
export interface ThreadReply {
  id: number;
  value?: unknown;
  error?: { name: string; message: string; [field: string]: unknown };
}
