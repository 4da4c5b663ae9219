// The routes' way to compiled topologies: a job for the worker threads, on revisions named by topology name (and
// revision, default the newest). The newest revision's number is read from the database on every request, which keeps
// replicas that share one database from answering from a stale revision; a name deleted and created again while a job
// waited is looked up again.
import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { Readable } from 'node:stream';
import type { WorkConfig } from '../config.js';
import { ConflictError } from '../store/errors.js';
import type { Chunked, Encoded, JobArgs, JobKind, JobResult } from '../work/jobs.js';
import { WorkPool, type JobOptions } from '../work/pool.js';
import { StaleRevision, type RevisionKey } from '../work/protocol.js';

/** Topologies up to this many netns compile in milliseconds: their writes do not wait for a heavy worker. */
const LIGHT_NETNS = 2000;

export interface RevisionRef {
  name: string;
  /** Default: the newest. */
  revision?: number;
}

export class Work {
  readonly pool: WorkPool;
  /** Compilations the workers made (misses): with the pool's held keys, lets tests and benchmarks watch the caches. */
  compilations = 0;

  constructor(
    private readonly app: FastifyInstance,
    config: WorkConfig,
  ) {
    const bytes = new Map<number, number>();
    this.pool = new WorkPool({
      ...config,
      cacheBytes: config.cacheMb * 2 ** 20,
      db: app.db,
      revisionsKept: app.store.revisionsKept,
      onReport: (worker, report) => {
        if (report.bytes !== undefined) {
          bytes.set(worker, report.bytes);
          let total = 0;
          for (const b of bytes.values()) total += b;
          app.metrics.cacheBytes.set(total);
        }
        this.compilations += report.compiles.length;
        if (report.hits > 0) app.metrics.cacheLookups.inc({ result: 'hit' }, report.hits);
        if (report.compiles.length > 0) app.metrics.cacheLookups.inc({ result: 'miss' }, report.compiles.length);
        for (const c of report.compiles) {
          app.metrics.compileSeconds.observe(c.seconds);
          app.metrics.compiledNetns.observe(c.netns);
        }
      },
    });
  }

  /** Runs a job on the revisions named, and gives the answer (or throws its problem). */
  async run<K extends JobKind>(kind: K, refs: RevisionRef[], args: JobArgs<K>, options: JobOptions = {}): Promise<JobResult<K>> {
    for (let attempt = 1; ; attempt++) {
      const keys = await Promise.all(refs.map((ref) => this.resolve(ref)));
      try {
        return await this.pool.run(kind, keys, args, options);
      } catch (err) {
        if (!(err instanceof StaleRevision)) throw err;
        if (attempt === 3) throw new ConflictError(`${refs[0]!.name} was deleted and created again while it was being read; retry`);
      }
    }
  }

  /**
   * Compiles a revision just written, before the write is acknowledged: the first trace after a write of a large
   * cluster then answers in milliseconds instead of waiting for the compilation. A revision that cannot be compiled (a
   * data path not traceable yet) is left for the trace to report.
   */
  async warm(name: string, revision: number, netns: number): Promise<void> {
    await this.run('compile', [{ name, revision }], undefined as never, { heavy: netns > LIGHT_NETNS }).catch(() => undefined);
  }

  /** Lets go of every compiled revision of a topology that was deleted. */
  forget(name: string): void {
    this.pool.forget(name);
  }

  private async resolve(ref: RevisionRef): Promise<RevisionKey> {
    const head = await this.app.store.head(ref.name);
    return { id: head.id, name: ref.name, revision: ref.revision ?? head.revision };
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    work: Work;
  }
}

export default fp(
  async (app: FastifyInstance, config: WorkConfig) => {
    const work = new Work(app, config);
    app.decorate('work', work);
    // Fastify runs onClose while the requests already received are still being answered, and one of them may yet need
    // a job (after its database read, say): the pool closes when they are done, so that each is answered whole. New
    // requests are refused by Fastify itself meanwhile (503).
    let inFlight = 0;
    let drained: (() => void) | undefined;
    app.addHook('onRequest', (request, reply, done) => {
      inFlight++;
      reply.raw.once('close', () => {
        if (--inFlight === 0) drained?.();
      });
      done();
    });
    app.addHook('onClose', async () => {
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
      await work.pool.close();
    });
  },
  { name: 'work', dependencies: ['metrics'] },
);

/** Writes an answer a worker serialised, as it is (the route's response schema documents it). */
export function sendEncoded(reply: FastifyReply, answer: Encoded | Chunked): FastifyReply {
  const { body } = answer;
  reply.type(answer.contentType);
  if (typeof body === 'string') return reply.send(body);
  if (!Array.isArray(body)) return reply.send(bufferOf(body));
  // Chunks are streamed in turn with the length known up front, rather than joined into one buffer first.
  return reply.header('content-length', answer.bytes).send(Readable.from(body.map(bufferOf), { objectMode: false }));
}

const bufferOf = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
