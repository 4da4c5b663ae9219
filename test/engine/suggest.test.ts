// @serial: suggestions are judged against their time budget (test/run.sh runs this file alone).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { editDistance, MAX_SUGGESTIONS, SUGGEST_BUDGET_MS, suggestNames } from '../../src/engine/suggest.js';

/** The optimal-string-alignment distance, the whole table filled in: what editDistance bounds and cuts short. */
function reference(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

test('editDistance is the optimal-string-alignment distance, capped at max + 1', () => {
  assert.equal(editDistance('pod-al', 'pod-a1', 3), 1);
  assert.equal(editDistance('dfeault', 'default', 3), 1);
  assert.equal(editDistance('kitten', 'sitting', 5), 3);
  assert.equal(editDistance('kitten', 'sitting', 2), 3);
  const word = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '-', '/'), maxLength: 9 });
  fc.assert(
    fc.property(word, word, fc.integer({ min: 0, max: 6 }), (a, b, max) => {
      assert.equal(editDistance(a, b, max), Math.min(reference(a, b), max + 1));
    }),
    { numRuns: 2000 },
  );
});

test('suggestNames: names that contain the typed one first, then the nearest by edits, then by name; far ones never', () => {
  const names = ['default/web-1', 'default/web-2', 'staging/web-1', 'prod/api', 'node-a', 'node-b'];
  assert.deepEqual(suggestNames('web', names), ['default/web-1', 'default/web-2', 'staging/web-1']);
  assert.deepEqual(suggestNames('wbe-1', names), ['default/web-1', 'staging/web-1']);
  // The same name in another namespace; not its neighbours there.
  assert.deepEqual(suggestNames('qa/web-2', names), ['default/web-2']);
  assert.deepEqual(suggestNames('qa/web-1', names), ['default/web-1', 'staging/web-1']);
  assert.deepEqual(suggestNames('NODE-C', names), ['node-a', 'node-b']);
  assert.deepEqual(suggestNames('database', names), []);
  assert.equal(suggestNames('pod', Array.from({ length: 50 }, (_, i) => `ns/pod-${i}`)).length, 10);
});

/** suggestNames as it was first written (read every name, score it, sort them all): what the bounded search must equal. */
function referenceSuggest(typed: string, names: string[], limit: number): string[] {
  const needle = typed.toLowerCase();
  const max = Math.max(1, Math.floor(typed.length / 4));
  const bareOf = (n: string) => n.slice(n.indexOf('/') + 1);
  const scored: { name: string; score: number }[] = [];
  for (const name of names) {
    const lower = name.toLowerCase();
    if (lower.includes(needle)) {
      scored.push({ name, score: 0 });
      continue;
    }
    let score = editDistance(needle, lower, max);
    if (lower.includes('/')) {
      score = Math.min(score, editDistance(needle, bareOf(lower), max), needle.includes('/') && bareOf(needle) === bareOf(lower) ? 1 : max + 1);
    }
    if (score <= max) scored.push({ name, score });
  }
  return scored
    .sort((x, y) => x.score - y.score || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))
    .slice(0, limit)
    .map((s) => s.name);
}

test('suggestNames keeps only the best while reading, and skips names by letter counts, without changing the answer', () => {
  const word = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd', '-', '/', 'é'), minLength: 1, maxLength: 12 });
  fc.assert(
    fc.property(word, fc.array(word, { maxLength: 40 }), fc.integer({ min: 1, max: 12 }), (typed, names, limit) => {
      assert.deepEqual(suggestNames(typed, names, { limit, budgetMs: Infinity }), referenceSuggest(typed, names, limit));
    }),
    { numRuns: 3000 },
  );
});

// The names of a 150,000-pod topology (300 namespaces), as CompiledTopology hands them to suggestNames.
const manyPods = Array.from({ length: 150_000 }, (_, i) => `ns-${i % 300}/web-${((i * 2654435761) % 4294967296).toString(36)}-${i % 97}`);

test('against 150,000 pods an unknown name is answered within the time budget, with at most MAX_SUGGESTIONS names', () => {
  for (const typed of ['ns-3/web-zzzzzzz-1', 'ns-17/web-abcdef-3', 'web', 'w', 'default/pod-a1', 'x'.repeat(300)]) {
    const started = performance.now();
    const near = suggestNames(typed, manyPods);
    const took = performance.now() - started;
    assert.ok(near.length <= MAX_SUGGESTIONS, `${typed}: ${near.length} suggestions`);
    // The clock is read every 1,024 names: the budget plus one such slice (a few ms), with room for a busy host.
    assert.ok(took < SUGGEST_BUDGET_MS + 150, `${typed}: ${took.toFixed(0)} ms`);
  }
  // A name every pod contains: the first ten by name among those read, not a sort of 150,000.
  assert.equal(suggestNames('web', manyPods).length, MAX_SUGGESTIONS);
});

test('past its budget the search suggests from the names it read', () => {
  const names = [...Array.from({ length: 5000 }, (_, i) => `filler-${i}`), 'default/pod-a1'];
  assert.deepEqual(suggestNames('default/pod-al', names, { budgetMs: Infinity }), ['default/pod-a1']);
  // With no time at all, the clock's first look (after 1,024 names) ends the search before the last name.
  assert.deepEqual(suggestNames('default/pod-al', names, { budgetMs: 0 }), []);
  assert.deepEqual(suggestNames('pod', ['default/pod-a1', ...names], { budgetMs: 0 }), ['default/pod-a1']);
});
