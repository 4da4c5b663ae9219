// "Did you mean": the names nearest to one that names nothing. A name is near when it contains what was typed (`pod` for
// every pod), when it is a typo away (edit distance, a swap of two neighbouring letters counting once: `pod-al` for
// `pod-a1`), or when its pod name is right and its namespace not (`default/web` for `staging/web`). Only asked after a
// name was not found, so it may read every name; each comparison gives up once past the distance that could still count.

/** The most suggestions given. */
export const MAX_SUGGESTIONS = 10;

// Three rows of the dynamic programme, reused: the one before last (for swaps), the last and the current.
let rows = [new Int32Array(64), new Int32Array(64), new Int32Array(64)];

/**
 * The optimal-string-alignment distance of a and b (insertions, deletions, substitutions and swaps of adjacent letters),
 * or max + 1 when it is larger than max. Only the band of cells within max of the diagonal is computed: a cell outside
 * it is more than max already.
 */
export function editDistance(a: string, b: string, max: number): number {
  const n = a.length;
  const m = b.length;
  if (Math.abs(n - m) > max) return max + 1;
  if (rows[0]!.length <= m) rows = [new Int32Array(m + 1), new Int32Array(m + 1), new Int32Array(m + 1)];
  let [before, last, row] = rows as [Int32Array, Int32Array, Int32Array];
  const far = max + 1;
  for (let j = 0; j <= m; j++) last[j] = j <= max ? j : far;
  for (let i = 1; i <= n; i++) {
    const from = Math.max(1, i - max);
    const to = Math.min(m, i + max);
    row[0] = i <= max ? i : far;
    if (from > 1) row[from - 1] = far;
    let best = row[0]!;
    const ai = a.charCodeAt(i - 1);
    for (let j = from; j <= to; j++) {
      const bj = b.charCodeAt(j - 1);
      let d = Math.min(last[j]! + 1, row[j - 1]! + 1, last[j - 1]! + (ai === bj ? 0 : 1));
      if (i > 1 && j > 1 && ai === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === bj) d = Math.min(d, before[j - 2]! + 1);
      row[j] = d > far ? far : d;
      if (d < best) best = d;
    }
    if (to < m) row[to + 1] = far;
    if (best > max) return far;
    [before, last, row] = [last, row, before];
  }
  return Math.min(last[m]!, far);
}

const bare = (name: string) => name.slice(name.indexOf('/') + 1);

/**
 * The longest a search for suggestions may take. It runs on a trace's error path, in the worker that answers traces:
 * with 150,000 pods reading every name takes hundreds of milliseconds on a busy host, and a typo is not worth more than
 * this. Past it, the names read so far are the ones suggested.
 */
export const SUGGEST_BUDGET_MS = 50;
/** Names read between two looks at the clock. */
const CLOCK_EVERY = 1024;

// The typed name's letter counts (code units folded to 7 bits: folding only lowers the bound), less those of the name
// being compared while countsBound runs; restored after each name.
const unmatched = new Int32Array(128);

/**
 * A lower bound of the edit distance of `typed` and b.slice(from) from their letter counts: an insertion or a deletion
 * changes the counts by one, a substitution by two, a swap not at all, so half the L1 difference of the counts is at most
 * the distance. It costs a pass over the name, where the distance costs a band of the table, and stops as soon as the
 * bound passes max.
 */
function countsBound(typedLength: number, b: string, from: number, max: number): number {
  let l1 = typedLength;
  let i = from;
  for (; i < b.length; i++) {
    const c = b.charCodeAt(i) & 127;
    l1 += unmatched[c]! > 0 ? -1 : 1;
    unmatched[c]!--;
    // Each letter still to come lowers the difference by one at most.
    if (l1 - (b.length - i - 1) > 2 * max) {
      i++;
      break;
    }
  }
  for (let k = from; k < i; k++) unmatched[b.charCodeAt(k) & 127]!++;
  return i < b.length ? max + 1 : Math.ceil(l1 / 2);
}

export interface SuggestOptions {
  /** At most this many names (default MAX_SUGGESTIONS). */
  limit?: number;
  /** Stop reading names after this many milliseconds (default SUGGEST_BUDGET_MS). */
  budgetMs?: number;
}

/**
 * The names nearest to `typed`, nearest first (then by name), at most `limit`: those that contain it (case aside), then
 * those within a quarter of its length in edits (at least one); a pod of the very name typed in another namespace
 * counts as one edit away. Only the best `limit` are kept while reading, so a short `typed` that every name contains
 * costs no sort of them all; and the search stops at its time budget.
 */
export function suggestNames(typed: string, names: Iterable<string>, options: SuggestOptions | number = {}): string[] {
  const { limit = MAX_SUGGESTIONS, budgetMs = SUGGEST_BUDGET_MS } = typeof options === 'number' ? { limit: options } : options;
  if (limit <= 0) return [];
  const needle = typed.toLowerCase();
  const typedBare = bare(needle);
  const qualified = needle.includes('/');
  let max = Math.max(1, Math.floor(typed.length / 4));
  unmatched.fill(0);
  for (let i = 0; i < needle.length; i++) unmatched[needle.charCodeAt(i) & 127]!++;
  // The best so far, sorted; once full, a name must beat the last one, and `max` shrinks to its score.
  const best: { name: string; score: number }[] = [];
  const better = (x: { name: string; score: number }, y: { name: string; score: number }) => x.score < y.score || (x.score === y.score && x.name < y.name);
  const keep = (name: string, score: number) => {
    const entry = { name, score };
    if (best.length === limit && !better(entry, best[limit - 1]!)) return;
    let k = best.length;
    while (k > 0 && better(entry, best[k - 1]!)) k--;
    best.splice(k, 0, entry);
    if (best.length > limit) best.pop();
    if (best.length === limit) max = Math.min(max, best[limit - 1]!.score);
  };
  const deadline = performance.now() + budgetMs;
  let read = 0;
  for (const name of names) {
    if (++read % CLOCK_EVERY === 0 && performance.now() > deadline) break;
    const lower = name.toLowerCase();
    if (lower.includes(needle)) {
      keep(name, 0);
      continue;
    }
    if (max === 0) continue;
    const slash = lower.indexOf('/');
    let score = max + 1;
    if (Math.abs(lower.length - needle.length) <= max && countsBound(needle.length, lower, 0, max) <= max) score = editDistance(needle, lower, max);
    if (slash >= 0) {
      const other = lower.slice(slash + 1);
      // A pod of exactly this name in another namespace, as near as one typo; else a bare name against a pod's name.
      if (qualified && typedBare === other) score = Math.min(score, 1);
      else if (score > 1 && Math.abs(other.length - needle.length) <= max && countsBound(needle.length, lower, slash + 1, max) <= max) score = Math.min(score, editDistance(needle, other, max));
    }
    if (score <= max) keep(name, score);
  }
  return best.map((s) => s.name);
}
