// The main thread's side of the workers: a queue of jobs, each given to an idle worker (one that holds its revision
// when there is one), with a deadline per job and limits on what may wait. A job past its deadline has its worker
// ended (the only way to stop synchronous work) and a new one started; a worker that dies (out of memory, say) fails
// only the job it ran. Nothing here blocks: the main thread stays free for health checks and small requests.
import { Worker } from 'node:worker_threads';
import { Problem } from '../answer/problem.js';
import { type JobArgs, type JobKind, type JobResult } from './jobs.js';
import { fromWire, keyOf, type CacheReport, type WorkerData, type FromWorker, type RevisionKey, type ToWorker } from './protocol.js';
import { threadSource } from '../threads.js';
import type { Db } from '../store/db.js';

export interface PoolOptions {
  /** Worker threads. */
  workers: number;
  /** Jobs that may wait for a worker; one more is refused with 503. */
  queueLimit: number;
  /**
   * Of the workers, how many may run heavy jobs (batches, matrices, compiles), so traces always find one: the first
   * ones, which yield the CPU to the main thread; the others run light jobs only, at the main thread's priority.
   */
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
  /** Answered (or failed) already: what the worker says of it later is not waited for. */
  settled?: boolean;
}

interface Slot {
  index: number;
  worker: Worker;
  /** The jobs it runs, in order, all handed over in one message; none when idle. */
  jobs: Job[];
  timer?: NodeJS.Timeout;
  held: Set<string>;
}

/**
 * The most light jobs handed to a worker in one message. Under load, traces wait in the queue while a worker answers
 * others; a message each way costs both threads more than a trace does, so those a worker can answer from what it holds
 * go together, and come back together. Few enough that the first of them waits well under a millisecond for the last.
 */
const BUNDLE = 16;

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
  /** A pump is due at the end of this turn of the event loop. */
  private pumping = false;
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
    let n = 0;
    for (const slot of this.slots) n += slot?.jobs.length ?? 0;
    return n;
  }

  run<K extends JobKind>(kind: K, keys: RevisionKey[], args: JobArgs<K>, options: JobOptions = {}): Promise<JobResult<K>> {
    const documents = options.documents ?? false;
    const heavy = options.heavy ?? !(kind === 'trace' || kind === 'answer' || kind === 'document');
    if (this.closed) return Promise.reject(new Problem(503, 'unavailable', 'the service is stopping', { retryAfterSeconds: 1 }));
    return new Promise((resolve, reject) => {
      const job: Job = { id: this.nextId++, kind, keys, documents, heavy, args, transfer: options.transfer ?? [], resolve: resolve as (v: unknown) => void, reject };
      // Only jobs waiting beyond what the idle workers that may run it take at once count against the limit.
      if (this.queue.length >= this.options.queueLimit + this.idleCount(heavy)) {
        const waiting = this.queue.length;
        reject(
          new Problem(503, 'unavailable', `${waiting} requests are waiting for a worker already (the limit is ${this.options.queueLimit}); retry shortly`, {
            retryAfterSeconds: 1,
          }),
        );
        return;
      }
      this.queue.push(job);
      // The requests read in one turn of the event loop go to the workers together, at its end: a message each way
      // costs both threads more than a trace does (~25 µs against ~5 µs a job in a bundle of 16).
      if (!this.pumping) {
        this.pumping = true;
        setImmediate(() => {
          this.pumping = false;
          this.pump();
        });
      }
    });
  }

  /** Idle workers: of those that may run heavy jobs, or of all. */
  private idleCount(heavy = false): number {
    let idle = 0;
    const last = heavy ? this.options.heavyWorkers : this.slots.length;
    for (let i = 0; i < last; i++) if (this.slots[i] === undefined || this.slots[i]!.jobs.length === 0) idle++;
    return idle;
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

  /**
   * Gives waiting jobs to idle workers, in order; a heavy job waits for one of the heavy workers. A light job takes with
   * it the light jobs after it that its worker can answer from the revisions it holds, their share of the queue.
   */
  private pump(): void {
    let idle = this.idleCount();
    for (let i = 0; i < this.queue.length && idle > 0; ) {
      const job = this.queue[i]!;
      const index = this.idleFor(job);
      if (index === undefined) {
        // A light job finds no idle worker at all, and so will none after it.
        if (!job.heavy) return;
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      const jobs = [job];
      const held = this.slots[index]?.held;
      // Only light jobs on revisions the worker holds: none of them waits for another's compile. Only on a light worker:
      // one that yields the CPU, on a busy machine, would keep the whole bundle waiting for its turn.
      const quick = (j: Job) => !j.heavy && !j.documents && held !== undefined && j.keys.every((k) => held.has(keyOf(k)));
      if (index >= this.options.heavyWorkers && quick(job)) {
        const share = Math.min(BUNDLE, Math.ceil((this.queue.length + 1) / idle));
        for (let j = i; j < this.queue.length && jobs.length < share; ) {
          if (quick(this.queue[j]!)) jobs.push(...this.queue.splice(j, 1));
          else j++;
        }
      }
      idle--;
      this.assign(index, jobs);
    }
  }

  /**
   * An idle worker for a job: the one holding most of its revisions, else one holding other revisions of its topology
   * (where the next revision of a topology is compiled, the diff with the previous one finds both), else the started one
   * holding least, so that different topologies spread over the workers and their jobs can run side by side; among
   * equals, a light job takes a light worker, which runs at the main thread's priority.
   */
  private idleFor(job: Job): number | undefined {
    const keys = job.keys.map(keyOf);
    const topologies = job.keys.map((k) => `${k.id}:`);
    let best: number | undefined;
    let bestScore = -1;
    const light = this.options.heavyWorkers;
    for (let i = 0; i < (job.heavy ? light : this.slots.length); i++) {
      const slot = this.slots[i];
      if (slot !== undefined && slot.jobs.length > 0) continue;
      let score = (slot === undefined ? 0 : 2 - slot.held.size / (slot.held.size + 1)) + (i >= light ? 1 : 0);
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
      workerData: { cacheBytes: this.options.cacheBytes, yields: index < this.options.heavyWorkers, db: handle, revisionsKept: this.options.revisionsKept } satisfies WorkerData,
      transferList: transfer,
      resourceLimits: { maxOldGenerationSizeMb: this.options.heapMb },
    });
    // An idle worker never keeps the process alive (the server ends through close(), tests and tools just exit); one
    // with a job does, as the request waiting for it would if it were any other I/O.
    worker.unref();
    const slot: Slot = { index, worker, jobs: [], held: new Set() };
    worker.on('message', (message: FromWorker) => this.onMessage(slot, message));
    worker.on('error', (err: Error & { code?: string }) => this.onDeath(slot, err));
    worker.on('exit', () => this.onDeath(slot, undefined));
    this.slots[index] = slot;
    return slot;
  }

  private assign(index: number, jobs: Job[]): void {
    const slot = this.slots[index] ?? this.spawn(index);
    slot.jobs = jobs;
    slot.worker.ref();
    slot.timer = setTimeout(() => this.expire(slot), this.options.deadlineSeconds * 1000);
    const message: ToWorker = { type: 'jobs', jobs: jobs.map((j) => ({ job: j.id, kind: j.kind, keys: j.keys, documents: j.documents, args: j.args })) };
    slot.worker.postMessage(message, jobs.length === 1 ? jobs[0]!.transfer : jobs.flatMap((j) => j.transfer));
  }

  private onMessage(slot: Slot, message: FromWorker): void {
    if (message.cache.held !== undefined) slot.held = new Set(message.cache.held);
    this.options.onReport?.(slot.index, message.cache);
    if (message.type === 'held') return;
    const { jobs } = slot;
    if (jobs.length === 0 || message.outcomes[0]?.job !== jobs[0]!.id) return;
    clearTimeout(slot.timer);
    slot.jobs = [];
    slot.worker.unref();
    message.outcomes.forEach((outcome, i) => {
      const job = jobs[i]!;
      if ('error' in outcome) settle(job, () => job.reject(fromWire(outcome.error)));
      else settle(job, () => job.resolve(outcome.result));
    });
    this.pump();
    if (this.queue.length === 0 && this.running === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  private expire(slot: Slot): void {
    const { jobs } = slot;
    if (jobs.length === 0) return;
    const seconds = this.options.deadlineSeconds;
    this.discard(slot);
    for (const job of jobs) {
      settle(job, () => job.reject(new Problem(503, 'deadline-exceeded', `the ${job.kind} did not finish within the deadline of ${seconds} s: ${SMALLER[job.kind]}`)));
    }
    void slot.worker.terminate();
    this.pump();
  }

  private onDeath(slot: Slot, err: (Error & { code?: string }) | undefined): void {
    if (this.slots[slot.index] !== slot) return;
    const { jobs } = slot;
    this.discard(slot);
    for (const job of jobs) {
      const detail =
        err?.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? `the ${job.kind} needed more than a worker's ${this.options.heapMb} MB of memory: ${SMALLER[job.kind]}`
          : `the worker running the ${job.kind} stopped${err ? ` (${err.message})` : ''}`;
      settle(job, () => job.reject(new Problem(503, 'unavailable', detail)));
    }
    this.pump();
  }

  /**
   * Forgets a worker (ended or to be ended): its revisions go with it. A new one is started at once, so that the next
   * job does not wait for a worker to load.
   */
  private discard(slot: Slot): void {
    clearTimeout(slot.timer);
    slot.jobs = [];
    this.options.onReport?.(slot.index, { held: [], bytes: 0, hits: 0, compiles: [] });
    if (this.slots[slot.index] !== slot) return;
    this.slots[slot.index] = undefined;
    if (!this.closed) this.spawn(slot.index);
  }
}

/** Answers a job once: a job the main thread gave up on (its document unreadable) is answered no more. */
function settle(job: Job, answer: () => void): void {
  if (job.settled === true) return;
  job.settled = true;
  answer();
}
