// A worker's compiled revisions are bounded by bytes: the least recently used go first, a deleted topology's go at once,
// and one larger than the whole budget is held alone rather than refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Revisions } from '../../src/work/revisions.js';
import type { CompiledTopology } from '../../src/engine/topology.js';

const entry = (bytes: number) => ({ compiled: {} as CompiledTopology, document: { form: 'fabric' as const, documentJson: '{}' }, bytes });

test('holds revisions up to the budget in bytes, letting the least recently used go first', () => {
  const r = new Revisions(100);
  r.put('a:1', 'a', entry(40));
  r.put('b:1', 'b', entry(40));
  assert.ok(r.get('a:1'), 'a is held and is now the most recently used');
  r.put('c:1', 'c', entry(40));
  assert.deepEqual(r.keys(), ['a:1', 'c:1']);
  assert.equal(r.bytes, 80);
  assert.equal(r.get('b:1'), undefined);
});

test('one revision larger than the budget is held alone', () => {
  const r = new Revisions(100);
  r.put('a:1', 'a', entry(40));
  r.put('big:1', 'big', entry(500));
  assert.deepEqual(r.keys(), ['big:1']);
  r.put('a:1', 'a', entry(40));
  assert.deepEqual(r.keys(), ['a:1']);
  assert.equal(r.bytes, 40);
});

test('forgetting a topology lets go of all its revisions and their bytes', () => {
  const r = new Revisions(1000);
  r.put('x:1', 'a', entry(10));
  r.put('x:2', 'a', entry(20));
  r.put('y:1', 'b', entry(30));
  r.forget('a');
  assert.deepEqual(r.keys(), ['y:1']);
  assert.equal(r.bytes, 30);
});

test('putting a key again replaces it without counting it twice', () => {
  const r = new Revisions(1000);
  r.put('x:1', 'a', entry(10));
  r.put('x:1', 'a', entry(25));
  assert.equal(r.bytes, 25);
  assert.deepEqual(r.keys(), ['x:1']);
});
