// The newest revision of a topology, read on every trace so that no answer comes from a revision older than a write
// already acknowledged — without a database round trip per request where that can be avoided safely:
//   - embedded (PGlite): this process is the only writer (the data folder is locked), so it knows what is newest; it
//     reads the database only for names it has not seen since it started.
//   - a server shared by replicas: the reads of one event-loop turn go out as one query. Each request waits for a query
//     sent after it arrived, so it still sees every write acknowledged before it.
import type { Db } from './db.js';

export interface Head {
  id: string;
  revision: number;
}

type Waiter = { resolve: (h: Head | undefined) => void; reject: (err: unknown) => void };

export class Heads {
  /**
   * Only names that exist: a miss is not remembered, or a caller asking for many names that do not exist would grow this
   * without bound. A miss costs one small read each time, and answers 404 anyway.
   */
  private readonly known = new Map<string, Head>();
  /** Bumped by every write: a read that a write overtook must not be remembered. */
  private writes = 0;
  private batch: Map<string, Waiter[]> | undefined;

  constructor(private readonly db: Db) {}

  async get(name: string): Promise<Head | undefined> {
    if (this.db.kind !== 'pglite') return this.batched(name);
    const known = this.known.get(name);
    if (known !== undefined) return known;
    const before = this.writes;
    const head = (await this.read([name])).get(name);
    if (head !== undefined && this.writes === before) this.known.set(name, head);
    return head;
  }

  /** How many names are remembered (embedded only). */
  get size(): number {
    return this.known.size;
  }

  /** Called after a write commits, before it is acknowledged: `head` is the new newest revision, undefined once deleted. */
  wrote(name: string, head: Head | undefined): void {
    this.writes++;
    if (this.db.kind !== 'pglite') return;
    if (head === undefined) this.known.delete(name);
    else this.known.set(name, head);
  }

  private batched(name: string): Promise<Head | undefined> {
    return new Promise((resolve, reject) => {
      if (this.batch === undefined) {
        this.batch = new Map();
        setImmediate(() => void this.flush());
      }
      const waiters = this.batch.get(name);
      if (waiters) waiters.push({ resolve, reject });
      else this.batch.set(name, [{ resolve, reject }]);
    });
  }

  private async flush(): Promise<void> {
    const batch = this.batch!;
    this.batch = undefined;
    try {
      const heads = await this.read([...batch.keys()]);
      for (const [name, waiters] of batch) for (const w of waiters) w.resolve(heads.get(name));
    } catch (err) {
      for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
    }
  }

  private async read(names: string[]): Promise<Map<string, Head>> {
    const r = await this.db.query<{ name: string; id: string; revision: string }>(
      'SELECT name, id, revision FROM topologies WHERE name = ANY($1::text[])',
      [names],
    );
    return new Map(r.rows.map((row) => [row.name, { id: row.id, revision: Number(row.revision) }]));
  }
}
