import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { editDistance, suggestNames } from '../../src/engine/suggest.js';

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
