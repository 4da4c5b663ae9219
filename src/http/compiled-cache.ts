// Compiled topologies, kept in memory keyed by incarnation and revision, so a trace does no compilation and one small
// read: the newest revision's number, taken from the database on every request, which keeps replicas that share one
// database from answering from a stale revision. An LRU bounds the memory; concurrent misses share one compilation.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { compileTopology, type CompiledTopology } from '../engine/topology.js';
import type { TopologySpec } from '../topology/schema.js';
import { ConflictError } from '../store/errors.js';

export interface CompiledRevision {
  name: string;
  revision: number;
  compiled: CompiledTopology;
}

export class CompiledCache {
  private readonly entries = new Map<string, Promise<CompiledRevision>>();
  /** The topology name of each entry, so that a deleted topology's revisions can be let go at once. */
  private readonly names = new Map<string, string>();
  /** How many compilations were started (misses); with `size`, lets tests and benchmarks observe the LRU. */
  compilations = 0;

  constructor(
    private readonly app: FastifyInstance,
    private readonly capacity: number,
  ) {}

  /** How many compiled revisions are held (at most the capacity). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Compiles a revision just written, before the write is acknowledged: the first trace after a write of a large
   * cluster then answers in milliseconds instead of waiting for the compilation. A revision that cannot be compiled (a
   * data path not traceable yet) is left for the trace to report.
   */
  async warm(name: string, revision: number): Promise<void> {
    await this.get(name, revision).catch(() => undefined);
  }

  async get(name: string, revision: number | undefined): Promise<CompiledRevision> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.lookup(name, revision);
      } catch (err) {
        if (!(err instanceof Incarnation)) throw err;
        if (attempt === 3) throw new ConflictError(`${name} was deleted and created again while it was being read; retry`);
      }
    }
  }

  private async lookup(name: string, revision: number | undefined): Promise<CompiledRevision> {
    const head = await this.app.store.head(name);
    const wanted = revision ?? head.revision;
    const key = `${head.id}:${wanted}`;
    let entry = this.entries.get(key);
    this.app.metrics.cacheLookups.inc({ result: entry === undefined ? 'miss' : 'hit' });
    if (entry === undefined) {
      this.compilations++;
      entry = this.compile(head.id, name, wanted);
      this.entries.set(key, entry);
      this.names.set(key, name);
      entry.catch(() => this.drop(key));
      while (this.entries.size > this.capacity) this.drop(this.entries.keys().next().value!);
    } else {
      // Most recently used goes last, so eviction takes the least recently used first.
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  /** Lets go of every compiled revision of a topology that was deleted (this replica's; others' age out by LRU). */
  forget(name: string): void {
    for (const [key, of] of this.names) if (of === name) this.drop(key);
  }

  private drop(key: string): void {
    this.entries.delete(key);
    this.names.delete(key);
  }

  private async compile(id: string, name: string, revision: number): Promise<CompiledRevision> {
    const stored = await this.app.store.get(name, revision);
    // The name was deleted and created again since its head was read: what was read belongs to another incarnation and
    // must not be cached under this one's key. The caller asks again and finds the new head.
    if (stored.id !== id) throw new Incarnation();
    const doc: unknown = JSON.parse(stored.documentJson);
    const spec = (stored.form === 'cluster' ? { form: 'cluster', cluster: doc } : { form: 'fabric', fabric: doc }) as TopologySpec;
    const started = performance.now();
    const compiled = compileTopology(spec);
    this.app.metrics.compileSeconds.observe((performance.now() - started) / 1000);
    this.app.metrics.compiledNetns.observe(compiled.fabric.netns.length);
    return { name, revision, compiled };
  }
}

class Incarnation extends Error {}

declare module 'fastify' {
  interface FastifyInstance {
    compiled: CompiledCache;
  }
}

export default fp(
  async (app: FastifyInstance, options: { capacity: number }) => {
    app.decorate('compiled', new CompiledCache(app, options.capacity));
  },
  { name: 'compiled-cache', dependencies: ['metrics'] },
);
