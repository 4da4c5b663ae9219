import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTopology, type Endpoint } from '../../src/engine/topology.js';
import { outcome, reachability } from '../../src/engine/reachability.js';
import { generate } from '../kernel/generate.js';
import { example } from '../helpers/examples.js';

function bruteForce(c: ReturnType<typeof compileTopology>, pods: Endpoint[]) {
  return pods.flatMap((from, i) => pods.map((to, j) => (i === j ? undefined : outcome(c.trace(from, to)))));
}

test('the matrix equals tracing every pair, on random topologies with faults', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const { fabric, faults } = generate(seed);
    for (const c of [compileTopology({ form: 'fabric', fabric })]) {
      const pods = c.pods();
      const m = reachability(c, pods);
      assert.deepEqual(m.cells, bruteForce(c, pods), `seed ${seed} (${faults.join('; ')})`);
    }
  }
});

test('pods of one node that the kernel cannot tell apart share their traces', () => {
  const doc = example('two-nodes');
  for (let i = 0; i < 40; i++) doc.cluster!.pods!.push({ namespace: 'load', name: `a-${i}`, nodeName: 'node-a', podIPs: [`10.1.1.${20 + i}`] });
  for (let i = 0; i < 40; i++) doc.cluster!.pods!.push({ namespace: 'load', name: `b-${i}`, nodeName: 'node-b', podIPs: [`10.1.2.${20 + i}`] });
  const c = compileTopology({ form: 'cluster', cluster: doc.cluster! });
  const pods = c.pods();
  const m = reachability(c, pods);
  const n = pods.length;
  assert.deepEqual(m.cells, bruteForce(c, pods));
  assert.ok(m.traced < (n * (n - 1)) / 2, `${m.traced} traces for ${n * (n - 1)} pairs`);
  // The hostNetwork pod lives in node-a's netns: every pod reaches it, and it reaches every pod.
  const proxy = pods.findIndex((p) => p.name === 'kube-system/kube-proxy-a');
  for (let j = 0; j < n; j++) if (j !== proxy) assert.equal(m.cells[proxy * n + j], 'DELIVERED');
});
