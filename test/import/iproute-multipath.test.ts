// The multipath sysctls of iproute2 dumps (the README's dump script collects them): read into the fabric's netns, and
// what the fabric cannot hold (a custom policy, two policies for the families) warned about.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { importIproute } from '../../src/import/iproute.js';
import { compileTopology } from '../../src/engine/topology.js';
import type { DumpsDoc } from '../../src/topology/schema.js';

const dumps = (): DumpsDoc => JSON.parse(readFileSync(new URL('../fixtures/iproute/two-nodes.json', import.meta.url), 'utf8')).dumps;

test("a node's fib_multipath_hash_seed and policy become its netns's; the engine's netns carries them", () => {
  const d = dumps();
  const nodeA = d.netns.find((n) => n.name === 'node-a')!;
  nodeA.sysctl = { ...nodeA.sysctl, 'net.ipv4.fib_multipath_hash_policy': '1', 'net.ipv6.fib_multipath_hash_policy': '1', 'net.ipv4.fib_multipath_hash_seed': '3735928559' };
  const nodeB = d.netns.find((n) => n.name === 'node-b')!;
  // Seed 0 is the kernel's "none given" (a key drawn at boot).
  nodeB.sysctl = { ...nodeB.sysctl, 'net.ipv4.fib_multipath_hash_policy': '0', 'net.ipv4.fib_multipath_hash_seed': '0' };
  const { fabric, warnings } = importIproute(d);
  const a = fabric.netns.find((n) => n.name === 'node-a')!;
  const b = fabric.netns.find((n) => n.name === 'node-b')!;
  assert.deepEqual([a.multipathHashPolicy, a.multipathHashSeed], [1, 3735928559]);
  assert.deepEqual([b.multipathHashPolicy, b.multipathHashSeed], [undefined, undefined]);
  assert.deepEqual(Object.keys(a).slice(0, 6), ['name', 'kind', 'forwarding', 'multipathHashPolicy', 'multipathHashSeed', 'links']);
  assert.equal(warnings.filter((w) => w.code === 'sysctl-not-modelled').length, 0);
  const compiled = compileTopology({ form: 'fabric', fabric });
  const ns = compiled.fabric.byName.get('node-a')!;
  assert.deepEqual([ns.multipathHashPolicy, ns.multipathHashSeed], [1, 3735928559]);
});

test('a custom hash policy, or one per family that differ, is warned about', () => {
  const d = dumps();
  const nodeA = d.netns.find((n) => n.name === 'node-a')!;
  nodeA.sysctl = { ...nodeA.sysctl, 'net.ipv4.fib_multipath_hash_policy': '3' };
  const nodeB = d.netns.find((n) => n.name === 'node-b')!;
  nodeB.sysctl = { ...nodeB.sysctl, 'net.ipv4.fib_multipath_hash_policy': '1', 'net.ipv6.fib_multipath_hash_policy': '0' };
  const { fabric, warnings } = importIproute(d);
  assert.equal(fabric.netns.find((n) => n.name === 'node-a')!.multipathHashPolicy, undefined);
  assert.equal(fabric.netns.find((n) => n.name === 'node-b')!.multipathHashPolicy, 1);
  const multipath = warnings.filter((w) => w.code === 'sysctl-not-modelled' && JSON.stringify(w).includes('multipath'));
  assert.equal(multipath.length, 1);
  assert.match(JSON.stringify(multipath[0]), /policy 3 \(IPv4\)/);
  assert.match(JSON.stringify(multipath[0]), /policy 1 \(IPv4\) and 0 \(IPv6\)/);
});
