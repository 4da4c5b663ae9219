// A longest-prefix-match table that is obviously correct and nothing else: every lookup scans every entry. The compiled
// table in lpm.ts is tested against it, and the benchmark measures how much faster the compiled one is.

import { Addr, type Family } from './addr.js';
import type { LpmEntry } from './lpm.js';

export class LinearLpm {
  private readonly entries: readonly LpmEntry[];

  constructor(
    readonly family: Family,
    entries: readonly LpmEntry[],
  ) {
    for (const e of entries) {
      if (e.prefix.family !== family) throw new RangeError(`${e.prefix} in an IPv${family} table`);
    }
    this.entries = entries.slice();
  }

  get size(): number {
    return new Set(this.entries.map((e) => e.prefix.toString())).size;
  }

  lookup4(a: number): number {
    return this.lookup(Addr.v4(a));
  }

  lookup6(w0: number, w1: number, w2: number, w3: number): number {
    return this.lookup(Addr.v6(w0, w1, w2, w3));
  }

  lookup(a: Addr): number {
    let value = -1;
    let bits = -1;
    for (const e of this.entries) {
      // ">=" so that, of several entries for one prefix, the last one wins.
      if (e.prefix.contains(a) && e.prefix.bits >= bits) {
        value = e.value;
        bits = e.prefix.bits;
      }
    }
    return value;
  }

  /** Matching entries, longest first; of several entries for one prefix only the last counts. */
  matches(a: Addr): LpmEntry[] {
    const byLength = new Map<number, LpmEntry>();
    for (const e of this.entries) if (e.prefix.contains(a)) byLength.set(e.prefix.bits, e);
    return [...byLength.values()].sort((x, y) => y.prefix.bits - x.prefix.bits);
  }
}
