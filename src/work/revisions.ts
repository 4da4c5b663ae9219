// A worker's compiled revisions, bounded by bytes rather than by count: one 150,000-pod revision takes hundreds of MB and
// a 3-pod one a few KB, so a count bound either wastes memory or runs out of it.
import { compileTopology, type CompiledTopology } from '../engine/topology.js';
import type { TopologySpec } from '../topology/schema.js';
import type { StoredDocument } from './protocol.js';

export interface Revision {
  compiled: CompiledTopology;
  /** Kept with its compilation (a few percent of its size) so that a diff reads nothing from the database. */
  document: StoredDocument;
  bytes: number;
}

export interface Compilation extends Revision {
  seconds: number;
}

/**
 * What a compiled revision and its document take in the heap, from the document's length: a compiled 5,000-node cluster
 * takes 26-32 times its JSON on every data path (BENCHMARKS.md, compile RSS). The heap's own growth during a compile
 * would count the compiler's garbage too (several times as much), and evict what still fits.
 */
const BYTES_PER_DOCUMENT_CHAR = 34;

/** Compiles a stored document, measuring what it costs in time and heap. */
export function compileStored(document: StoredDocument): Compilation {
  const started = performance.now();
  const doc: unknown = JSON.parse(document.documentJson);
  const spec = (document.form === 'cluster' ? { form: 'cluster', cluster: doc } : { form: 'fabric', fabric: doc }) as TopologySpec;
  const compiled = compileTopology(spec);
  const seconds = (performance.now() - started) / 1000;
  const bytes = Math.max(BYTES_PER_DOCUMENT_CHAR * document.documentJson.length, 64 * 1024);
  return { compiled, document, bytes, seconds };
}

export class Revisions {
  /** In use order: the least recently used first. */
  private readonly entries = new Map<string, Revision & { name: string }>();
  private held = 0;
  /** Changes with every revision held or let go: a report of the held keys is sent only when it moved. */
  version = 0;

  constructor(readonly budget: number) {}

  get bytes(): number {
    return this.held;
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  get(key: string): Revision | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  /**
   * Holds a revision, letting go of the least recently used ones until all fit. One larger than the whole budget is
   * still held alone: the job that compiled it is using it anyway, and the next one evicts it.
   */
  put(key: string, name: string, revision: Revision): void {
    this.drop(key);
    while (this.entries.size > 0 && this.held + revision.bytes > this.budget) this.drop(this.entries.keys().next().value!);
    this.entries.set(key, { ...revision, name });
    this.held += revision.bytes;
    this.version++;
  }

  /** Lets go of every revision of a topology that was deleted. */
  forget(name: string): void {
    for (const [key, entry] of this.entries) if (entry.name === name) this.drop(key);
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.held -= entry.bytes;
    this.version++;
  }
}
