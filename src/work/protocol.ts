// The messages between the main thread and the workers that hold compiled topologies. The main thread parses, routes
// and writes; a worker compiles and traces, so that a long request never holds up health checks or other requests.
// Everything crossing is plain data (structured clone): keys, arguments, answers and problems.
import { Problem } from '../answer/problem.js';
import { DataError } from '../topology/data-error.js';
import { NotFoundError } from '../store/errors.js';
import type { SharedDb } from '../store/db.js';

/** One stored revision of one incarnation of a topology: a name deleted and created again is another id. */
export interface RevisionKey {
  id: string;
  name: string;
  revision: number;
}

export const keyOf = (k: RevisionKey): string => `${k.id}:${k.revision}`;

/** A stored document as the store holds it. */
export interface StoredDocument {
  form: 'cluster' | 'fabric';
  documentJson: string;
}

/** What a worker is started with. */
export interface WorkerData {
  /** Bytes of compiled revisions it keeps. */
  cacheBytes: number;
  /** It may run heavy jobs, and so yields the CPU to the main thread (and to the light workers). */
  yields: boolean;
  /** Where it reads the documents of the revisions it does not hold. */
  db: SharedDb;
  revisionsKept: number;
}

export interface JobMessage {
  job: number;
  kind: string;
  keys: RevisionKey[];
  documents: boolean;
  args: unknown;
}

export type ToWorker =
  /** Jobs to run in order (several light ones at once under load), answered together by one `answered`. */
  | { type: 'jobs'; jobs: JobMessage[] }
  | { type: 'forget'; name: string };

export interface CacheReport {
  /**
   * Keys held after the job, and the bytes they take, when they changed since the worker's last report (most answers
   * carry neither: the main thread sends a topology's jobs where it is compiled already).
   */
  held?: string[];
  bytes?: number;
  /** Revisions the job found compiled. */
  hits: number;
  /** Revisions the job compiled (misses). */
  compiles: { seconds: number; netns: number }[];
}

export type FromWorker =
  /** What a worker holds after it let go of a deleted topology's revisions. */
  | { type: 'held'; cache: CacheReport }
  /** The outcome of each job of a `jobs` message, in its order. */
  | { type: 'answered'; outcomes: ({ job: number; result: unknown } | { job: number; error: WireError })[]; cache: CacheReport };

export type WireError =
  | { kind: 'problem'; status: number; slug: string; detail: string; extensions: Record<string, unknown> }
  | { kind: 'stale' }
  /** A revision the worker read for itself and did not find (not kept, or not written yet). */
  | { kind: 'not-found'; message: string }
  | { kind: 'crash'; message: string; stack?: string };

/** The key's incarnation was deleted (and maybe created again) while the job waited: the caller resolves it again. */
export class StaleRevision extends Error {}

export function toWire(err: unknown): WireError {
  if (err instanceof Problem) return { kind: 'problem', status: err.status, slug: err.slug, detail: err.message, extensions: err.extensions };
  if (err instanceof DataError) return { kind: 'problem', status: err.status, slug: err.slug, detail: err.message, extensions: { errors: err.errors } };
  if (err instanceof NotFoundError) return { kind: 'not-found', message: err.message };
  if (err instanceof StaleRevision) return { kind: 'stale' };
  const e = err instanceof Error ? err : new Error(String(err));
  return { kind: 'crash', message: e.message, stack: e.stack };
}

export function fromWire(w: WireError): Error {
  if (w.kind === 'problem') return new Problem(w.status, w.slug, w.detail, w.extensions);
  if (w.kind === 'stale') return new StaleRevision();
  if (w.kind === 'not-found') return new NotFoundError(w.message);
  const err = new Error(`in a worker: ${w.message}`);
  if (w.stack) err.stack = w.stack;
  return err;
}
