// "Did you mean": the names nearest to one that names nothing. A name is near when it contains what was typed (`pod` for
// every pod), when it is a typo away (edit distance, a swap of two neighbouring letters counting once: `pod-al` for
// `pod-a1`), or when its pod name is right and its namespace not (`default/web` for `staging/web`). Only asked after a
// name was not found, so it may read every name; each comparison gives up once past the distance that could still count.

/** The most suggestions given. */
export const MAX_SUGGESTIONS = 10;

/**
 * The optimal-string-alignment distance of a and b (insertions, deletions, substitutions and swaps of adjacent letters),
 * or max + 1 when it is larger than max.
 */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  // Three rows of the dynamic programme: the one before last (for swaps), the last and the current.
  let before = new Array<number>(b.length + 1).fill(0);
  let last = Array.from({ length: b.length + 1 }, (_, j) => j);
  let row = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    row[0] = i;
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let d = Math.min(last[j]! + 1, row[j - 1]! + 1, last[j - 1]! + cost);
      if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) d = Math.min(d, before[j - 2]! + 1);
      row[j] = d;
      if (d < best) best = d;
    }
    if (best > max) return max + 1;
    [before, last, row] = [last, row, before];
  }
  return Math.min(last[b.length]!, max + 1);
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
