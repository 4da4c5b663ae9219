// A walk's state belongs to its trace: a trace started while another is mid-way (a callback, a generator, a re-entrant
// answer) must leave it intact, and both must answer as they do alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Trace } from '../../../src/engine/trace.js';
import { compile, twoTunnels } from './fabrics.js';

/** Everything a path says, as one comparable string per path. */
const summary = (t: Trace) =>
  t.paths.map(
    (p) => `${p.disposition} [${p.choices}] ${p.hops.map((h) => `${h.netns.name}:${h.steps.map((s) => s.type).join(',')}`).join(' ')}`,
  );

test('traces started inside another trace\'s walks leave it intact, and answer as they do alone', () => {
  const c = compile(twoTunnels());
  const [podA, podB] = ['pod-a', 'pod-b'].map((n) => c.resolve(n, 'source'));
  const outer = () => c.trace(podA!, c.resolve('pod-c', 'destination'));
  const inner = () => c.trace(podB!, c.resolve('pod-c', 'destination'));
  const outerAlone = summary(outer());
  const innerAlone = summary(inner());
  assert.equal(outerAlone.length, 6);
  assert.equal(innerAlone.length, 2);

  // Every third route lookup of the outer trace, in every one of its six walks, starts the other trace.
  const fabric = c.fabric;
  const route = fabric.route;
  let lookups = 0;
  let nested = false;
  const inside: Trace[] = [];
  fabric.route = function (...args) {
    if (!nested && ++lookups % 3 === 0) {
      nested = true;
      inside.push(inner());
      nested = false;
    }
    return route.apply(this, args);
  };
  try {
    assert.deepEqual(summary(outer()), outerAlone);
  } finally {
    fabric.route = route;
  }
  assert.ok(inside.length >= 6, `only ${inside.length} traces started inside`);
  for (const t of inside) assert.deepEqual(summary(t), innerAlone);
});
