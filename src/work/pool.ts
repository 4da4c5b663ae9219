// The main thread's side of the workers: a queue of jobs, each given to an idle worker (one that holds its revision
// when there is one), with a deadline per job and limits on what may wait. A job past its deadline has its worker
// ended (the only way to stop synchronous work) and a new one started; a worker that dies (out of memory, say) fails
// only the job it ran. Nothing here blocks: the main thread stays free for health checks and small requests.
import { Worker } from 'node:worker_threads';
import { Problem } from '../answer/problem.js';
import { type JobArgs, type JobKind, type JobResult } from './jobs.js';
import { fromWire, keyOf, type CacheReport, type FromWorker, type RevisionKey, type ToWorker, type WorkerData } from './protocol.js';
import { threadSource } from '../threads.js';
import type { Db } from '../store/db.js';

export interface PoolOptions {
  /** Worker threads. */
  workers: number;
  /** Jobs that may wait for a worker; one more is refused with 503. */
  queueLimit: number;
  /** Of the workers, how many may run heavy jobs (batches, matrices, compiles) at once, so traces always find one. */
  heavyWorkers: number;
  /** Seconds a job may run before it is stopped and answered 503. */
  deadlineSeconds: number;
  /** Each worker's heap limit (old generation), in MB. */
  heapMb: number;
  /** Bytes of compiled revisions each worker keeps. */
  cacheBytes: number;
  /**
   * The database each worker reads the documents it compiles from, itself: a 15 MB row read on the main thread held
   * its event loop for tens of milliseconds, and copying it on to the worker for more.
   */
  db: Db;
  /** How many revisions the store keeps, to say why an older one is not found. */
  revisionsKept: number;
  /** Called with what each job reports of the worker's cache (for metrics). */
  onReport?: (worker: number, report: CacheReport) => void;
}

export interface JobOptions {
  /** The job needs the stored documents of its revisions, not only their compilations (a diff compares both). */
  documents?: boolean;
  /**
   * Whether the job may take seconds, so that it waits for one of the HEAVY_WORKERS. Default: every kind but a trace;
   * a small write is light.
   */
  heavy?: boolean;
  /** Buffers of the arguments handed to the worker rather than copied (they are unusable here afterwards). */
  transfer?: ArrayBuffer[];
}

interface Job {
  id: number;
  kind: JobKind;
  keys: RevisionKey[];
  documents: boolean;
  heavy: boolean;
  args: unknown;
  transfer: ArrayBuffer[];
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

interface Slot {
  index: number;
  worker: Worker;
  job?: Job;
  timer?: NodeJS.Timeout;
  held: Set<string>;
}

/** Tells how to ask for less when a kind of job does not finish in time. */
const SMALLER: Record<JobKind, string> = {
  compile: 'the topology is too large to compile in time here: split it or raise JOB_DEADLINE_SECONDS',
  document: 'the topology is too large to read in time here: raise JOB_DEADLINE_SECONDS',
  trace: 'the topology is too large to compile in time here: raise JOB_DEADLINE_SECONDS',
  answer: 'the topology is too large to compile in time here: raise JOB_DEADLINE_SECONDS',
  check: 'the topology is too large to check in time here: split it or raise JOB_DEADLINE_SECONDS',
  import: 'the objects are too many to import in time here: import fewer namespaces or raise JOB_DEADLINE_SECONDS',
  batch: 'send fewer flows per request',
  matrix: 'filter by namespace or node',
  diff: 'compare fewer pods: filter by namespace or node',
  whatIf: 'send fewer flows per request, or a smaller topology',
};

const source = threadSource(import.meta.url, 'worker');

export class WorkPool {
  private readonly slots: (Slot | undefined)[];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  /** Who waits for every job to be done (close). */
  private readonly idle: (() => void)[] = [];

  constructor(private readonly options: PoolOptions) {
    this.slots = new Array(options.workers).fill(undefined);
  }

  /** Jobs waiting for a worker. */
  get queued(): number {
    return this.queue.length;
  }

  /** The revisions the workers hold (as of their last answers), by key. */
  get held(): string[] {
    return this.slots.flatMap((s) => (s === undefined ? [] : [...s.held]));
  }

  /** Jobs being run. */
  get running(): number {
    return this.slots.filter((s) => s?.job !== undefined).length;
  }

  run<K extends JobKind>(kind: K, keys: RevisionKey[], args: JobArgs<K>, options: JobOptions = {}): Promise<JobResult<K>> {
    const documents = options.documents ?? false;
    const heavy = options.heavy ?? !(kind === 'trace' || kind === 'answer' || kind === 'document');
    if (this.closed) return Promise.reject(new Problem(503, 'unavailable', 'the service is stopping', { retryAfterSeconds: 1 }));
    return new Promise((resolve, reject) => {
      const job: Job = { id: this.nextId++, kind, keys, documents, heavy, args, transfer: options.transfer ?? [], resolve: resolve as (v: unknown) => void, reject };
      this.queue.push(job);
      this.pump();
      // Only a job that has to wait counts against the limit: one a worker took at once is never refused.
      if (this.queue.length > this.options.queueLimit && this.queue.at(-1) === job) {
        this.queue.pop();
        const waiting = this.queue.length;
        reject(
          new Problem(503, 'unavailable', `${waiting} requests are waiting for a worker already (the limit is ${this.options.queueLimit}); retry shortly`, {
            retryAfterSeconds: 1,
          }),
        );
      }
    });
  }

  /** Starts every worker now rather than on the first jobs, so that those do not wait for a worker to load. */
  start(): void {
    for (let i = 0; i < this.slots.length; i++) if (this.slots[i] === undefined) this.spawn(i);
  }

  forget(name: string): void {
    for (const slot of this.slots) slot?.worker.postMessage({ type: 'forget', name } satisfies ToWorker);
  }

  /**
   * Refuses new jobs, lets those already asked for finish (requests in flight when the service stops are answered;
   * the server's SHUTDOWN_TIMEOUT_SECONDS bounds the wait), then ends the workers.
   */
  async close(): Promise<void> {
    this.closed = true;
    while (this.queue.length > 0 || this.running > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    await Promise.all(this.slots.map((slot) => slot?.worker.terminate()));
  }

  private heavyRunning(): number {
    return this.slots.filter((s) => s?.job?.heavy === true).length;
  }

  /** Gives waiting jobs to idle workers, in order, except heavy ones past their share of the workers. */
  private pump(): void {
    let heavy = this.heavyRunning();
    for (let i = 0; i < this.queue.length; ) {
      const job = this.queue[i]!;
      const isHeavy = job.heavy;
      const index = this.idleFor(job);
      if (index === undefined) return;
      if (isHeavy && heavy >= this.options.heavyWorkers) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      if (isHeavy) heavy++;
      this.assign(index, job);
    }
  }

  /**
   * An idle worker for a job: the one holding most of its revisions, else one holding other revisions of its topology
   * (where the next revision of a topology is compiled, the diff with the previous one finds both), else the started one
   * holding least, so that different topologies spread over the workers and their jobs can run side by side.
   */
  private idleFor(job: Job): number | undefined {
    const keys = job.keys.map(keyOf);
    const topologies = job.keys.map((k) => `${k.id}:`);
    let best: number | undefined;
    let bestScore = -1;
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[i];
      if (slot?.job !== undefined) continue;
      let score = slot === undefined ? 0 : 2 - slot.held.size / (slot.held.size + 1);
      if (slot !== undefined) {
        for (const key of keys) if (slot.held.has(key)) score += 100;
        for (const held of slot.held) if (topologies.some((t) => held.startsWith(t))) score += 10;
      }
      if (score > bestScore) [best, bestScore] = [i, score];
    }
    return best;
  }

  private spawn(index: number): Slot {
    const { handle, transfer } = this.options.db.share();
    const worker = new Worker(source.code, {
      eval: source.eval,
      workerData: { cacheBytes: this.options.cacheBytes, db: handle, revisionsKept: this.options.revisionsKept } satisfies WorkerData,
      transferList: transfer,
      resourceLimits: { maxOldGenerationSizeMb: this.options.heapMb },
    });
    // An idle worker never keeps the process alive (the server ends through close(), tests and tools just exit); one
    // with a job does, as the request waiting for it would if it were any other I/O.
    worker.unref();
    const slot: Slot = { index, worker, held: new Set() };
    worker.on('message', (message: FromWorker) => this.onMessage(slot, message));
    worker.on('error', (err: Error & { code?: string }) => this.onDeath(slot, err));
    worker.on('exit', () => this.onDeath(slot, undefined));
    this.slots[index] = slot;
    return slot;
  }

  private assign(index: number, job: Job): void {
    const slot = this.slots[index] ?? this.spawn(index);
    slot.job = job;
    slot.worker.ref();
    slot.timer = setTimeout(() => this.expire(slot), this.options.deadlineSeconds * 1000);
    slot.worker.postMessage({ type: 'job', job: job.id, kind: job.kind, keys: job.keys, documents: job.documents, args: job.args } satisfies ToWorker, job.transfer);
  }

  private onMessage(slot: Slot, message: FromWorker): void {
    if (message.type === 'held') {
      slot.held = new Set(message.cache.held);
      this.options.onReport?.(slot.index, message.cache);
      return;
    }
    const job = slot.job;
    if (job === undefined || message.job !== job.id) return;
    slot.held = new Set(message.cache.held);
    this.options.onReport?.(slot.index, message.cache);
    if (message.type === 'done') this.finish(slot, () => job.resolve(message.result));
    else this.finish(slot, () => job.reject(fromWire(message.error)));
  }

  private finish(slot: Slot, settle: () => void): void {
    clearTimeout(slot.timer);
    slot.job = undefined;
    slot.worker.unref();
    settle();
    this.pump();
    if (this.queue.length === 0 && this.running === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  private expire(slot: Slot): void {
    const job = slot.job;
    if (job === undefined) return;
    const seconds = this.options.deadlineSeconds;
    this.discard(slot);
    job.reject(new Problem(503, 'deadline-exceeded', `the ${job.kind} did not finish within the deadline of ${seconds} s: ${SMALLER[job.kind]}`));
    void slot.worker.terminate();
    this.pump();
  }

  private onDeath(slot: Slot, err: (Error & { code?: string }) | undefined): void {
    if (this.slots[slot.index] !== slot) return;
    const job = slot.job;
    this.discard(slot);
    if (job !== undefined) {
      const detail =
        err?.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? `the ${job.kind} needed more than a worker's ${this.options.heapMb} MB of memory: ${SMALLER[job.kind]}`
          : `the worker running the ${job.kind} stopped${err ? ` (${err.message})` : ''}`;
      job.reject(new Problem(503, 'unavailable', detail));
    }
    this.pump();
  }

  /**
   * Forgets a worker (ended or to be ended): its revisions go with it. A new one is started at once, so that the next
   * job does not wait for a worker to load.
   */
  private discard(slot: Slot): void {
    clearTimeout(slot.timer);
    slot.job = undefined;
    this.options.onReport?.(slot.index, { held: [], bytes: 0, hits: 0, compiles: [] });
    if (this.slots[slot.index] !== slot) return;
    this.slots[slot.index] = undefined;
    if (!this.closed) this.spawn(slot.index);
  }
}
