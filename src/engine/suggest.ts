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
 * The names nearest to `typed`, nearest first (then by name), at most MAX_SUGGESTIONS: those that contain it (case
 * aside), then those within a quarter of its length in edits (at least one); a pod of the very name typed in another
 * namespace counts as one edit away.
 */
export function suggestNames(typed: string, names: Iterable<string>, limit = MAX_SUGGESTIONS): string[] {
  const needle = typed.toLowerCase();
  const typedBare = bare(needle);
  const max = Math.max(1, Math.floor(typed.length / 4));
  const scored: { name: string; score: number }[] = [];
  for (const name of names) {
    const lower = name.toLowerCase();
    if (lower.includes(needle)) {
      scored.push({ name, score: 0 });
      continue;
    }
    let score = editDistance(needle, lower, max);
    if (lower.includes('/')) {
      const other = bare(lower);
      // A bare name against a pod's name; a pod of exactly this name in another namespace, as near as one typo.
      score = Math.min(score, editDistance(needle, other, max), needle.includes('/') && typedBare === other ? 1 : max + 1);
    }
    if (score <= max) scored.push({ name, score });
  }
  return scored
    .sort((x, y) => x.score - y.score || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))
    .slice(0, limit)
    .map((s) => s.name);
}
