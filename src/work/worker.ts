// A worker thread: holds compiled revisions (bounded by bytes) and runs jobs on them. It reads the document of a
// revision it does not hold from the database itself (its own connection, or a port to the embedded database's thread),
// so that documents of tens of MB never pass through the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { JOBS, type JobKind, type Loaded } from './jobs.js';
import { compileStored, Revisions } from './revisions.js';
import { keyOf, StaleRevision, toWire, type CacheReport, type FromWorker, type RevisionKey, type JobMessage, type StoredDocument, type ToWorker, type WorkerData } from './protocol.js';
import { openShared } from '../store/db.js';
import { yieldToMainThread } from '../threads.js';
import { readDocument, stageDocument } from '../store/topologies.js';

const data = workerData as WorkerData;
if (data.yields) yieldToMainThread(10);

const port = parentPort!;
const revisions = new Revisions(data.cacheBytes);
const db = openShared(data.db);
let compiles: CacheReport['compiles'] = [];
let hits = 0;

const post = (message: FromWorker) => port.postMessage(message);
type Outcome = Extract<FromWorker, { type: 'answered' }>['outcomes'][number];

async function fetchDocument(key: RevisionKey): Promise<StoredDocument> {
  const document = await readDocument(db, key, data.revisionsKept);
  if (document === undefined) throw new StaleRevision();
  return document;
}

/**
 * A revision for a job: its document (held with its compilation, or fetched), its compilation when the job first asks
 * for it, so that a job can refuse what is too large from the document alone.
 */
async function load(key: RevisionKey, documents: boolean): Promise<Loaded> {
  const held = revisions.get(keyOf(key));
  let compiled = held?.compiled;
  if (held !== undefined) hits++;
  const document = held?.document ?? (await fetchDocument(key));
  return {
    key,
    ...(documents ? { document } : {}),
    get compiled() {
      if (compiled === undefined) {
        const compilation = compileStored(document);
        compiles.push({ seconds: compilation.seconds, netns: compilation.compiled.fabric.netns.length });
        revisions.put(keyOf(key), key.name, compilation);
        compiled = compilation.compiled;
      }
      return compiled;
    },
  };
}

/** The version of the held keys last reported. */
let reported = -1;

function report(): CacheReport {
  const r: CacheReport = { hits, compiles };
  if (revisions.version !== reported) {
    r.held = revisions.keys();
    r.bytes = revisions.bytes;
    reported = revisions.version;
  }
  compiles = [];
  hits = 0;
  return r;
}

/** Runs one job on its revisions. */
function runOn({ job, kind, args }: JobMessage, loaded: Loaded[]): Outcome {
  try {
    return { job, result: (JOBS[kind as JobKind] as (r: Loaded[], a: unknown) => unknown)(loaded, args) };
  } catch (err) {
    return { job, error: toWire(err) };
  }
}

/**
 * A document to store (the answer of a check or an import) is written to the server from here: the pg client copies a
 * parameter into its message on the calling thread, tens of milliseconds for 15 MB. The embedded database's thread
 * takes the bytes handed over, which costs the main thread nothing, so they go to it as they are.
 */
const stagesDocuments = data.db.kind === 'pg';

/** The answer of an outcome that asks to store a document, with the document's bytes. */
function storing(outcome: Outcome): { documentJson: Uint8Array } | undefined {
  const result = 'result' in outcome ? (outcome.result as { documentJson?: unknown } | null) : null;
  return result !== null && typeof result === 'object' && result.documentJson instanceof Uint8Array ? (result as { documentJson: Uint8Array }) : undefined;
}

async function staged(job: number, result: { documentJson: Uint8Array }): Promise<Outcome> {
  try {
    return { job, result: { ...result, documentJson: await stageDocument(db, result.documentJson) } };
  } catch (err) {
    return { job, error: toWire(err) };
  }
}

/** The bytes in an answer (an answer written out, a document to store): handed over, not copied. */
function transferOf(outcome: Outcome, transfer: ArrayBuffer[]): void {
  if (!('result' in outcome) || outcome.result === null || typeof outcome.result !== 'object') return;
  for (const v of Object.values(outcome.result)) {
    if (v instanceof Uint8Array) transfer.push(v.buffer as ArrayBuffer);
    else if (Array.isArray(v)) for (const c of v) if (c instanceof Uint8Array && !transfer.includes(c.buffer as ArrayBuffer)) transfer.push(c.buffer as ArrayBuffer);
  }
}

/** The revisions of a job when all are held (a bundle of traces' case): no promise per job. */
function heldFor(message: JobMessage): Loaded[] | undefined {
  if (message.documents) return undefined;
  const loaded: Loaded[] = [];
  for (const key of message.keys) {
    const compiled = revisions.get(keyOf(key))?.compiled;
    if (compiled === undefined) return undefined;
    hits++;
    loaded.push({ key, compiled });
  }
  return loaded;
}

async function run(message: JobMessage): Promise<Outcome> {
  const loaded: Loaded[] = [];
  try {
    for (const key of message.keys) loaded.push(await load(key, message.documents));
  } catch (err) {
    return { job: message.job, error: toWire(err) };
  }
  return runOn(message, loaded);
}

/** Runs the jobs of a message in order and answers them in one message. */
async function runAll(jobs: JobMessage[]): Promise<void> {
  const outcomes: Outcome[] = [];
  for (const job of jobs) {
    const held = heldFor(job);
    const outcome = held !== undefined ? runOn(job, held) : await run(job);
    const result = stagesDocuments ? storing(outcome) : undefined;
    outcomes.push(result === undefined ? outcome : await staged(outcome.job, result));
  }
  const transfer: ArrayBuffer[] = [];
  for (const outcome of outcomes) transferOf(outcome, transfer);
  port.postMessage({ type: 'answered', outcomes, cache: report() } satisfies FromWorker, transfer);
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'jobs':
      void runAll(message.jobs);
      break;
    case 'forget':
      revisions.forget(message.name);
      post({ type: 'held', cache: report() });
      break;
  }
});
