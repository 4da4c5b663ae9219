// ECMP branches of tunnelled traffic: the kernel hashes a packet's header, so the same packet takes the same next hop on
// every visit of a netns, and another packet (another tunnel's outer packet, with other addresses) decides afresh, over
// its own route's next hops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Path, Step } from '../../../src/engine/trace.js';
import { compile, twoTunnels } from './fabrics.js';

/** The gateway each TRANSMIT of the router sent to, in order. */
const routerGateways = (p: Path) =>
  p.hops
    .filter((h) => h.netns.name === 'router')
    .flatMap((h) => h.steps)
    .filter((s): s is Extract<Step, { type: 'TRANSMIT' }> => s.type === 'TRANSMIT')
    .map((s) => s.neighbor.toString());

test('two outer packets crossing one router at the same depth branch independently: 3 × 2 paths, each delivered', () => {
  const c = compile(twoTunnels());
  const t = c.trace(c.resolve('pod-a', 'source'), c.resolve('pod-c', 'destination'));
  assert.ok(t.paths.every((p) => p.disposition === 'DELIVERED'));
  assert.deepEqual(t.paths.map((p) => `${p.choices.join('.')} ${routerGateways(p).join(' ')}`).sort(), [
    '0.0 192.168.2.2 192.168.3.2',
    '0.1 192.168.2.2 192.168.3.3',
    '1.0 192.168.2.3 192.168.3.2',
    '1.1 192.168.2.3 192.168.3.3',
    '2.0 192.168.2.4 192.168.3.2',
    '2.1 192.168.2.4 192.168.3.3',
  ]);
  // Every path decapsulates at node-b and node-c and delivers to pod-c.
  for (const p of t.paths) {
    const steps = p.hops.flatMap((h) => h.steps.map((s) => `${h.netns.name} ${s.type}`));
    assert.deepEqual(
      steps.filter((s) => /ENCAPSULATE|DECAPSULATE|DELIVER$/.test(s)),
      ['node-a ENCAPSULATE', 'node-b DECAPSULATE', 'node-b ENCAPSULATE', 'node-c DECAPSULATE', 'pod-c DELIVER'],
    );
  }
});

test('nested ECMP: a 3-way inner route over two tunnels, each tunnel\'s outer packet branching at the router', () => {
  const doc = twoTunnels();
  // node-a spreads pod-c's traffic over the direct tunnel to node-c, the one through node-b, and a third to node-c's
  // other address; each outer packet then branches at the router by its own route.
  doc.netns[0]!.routes = [
    { dst: 'default', gateway: '192.168.1.1', dev: 'eth0' },
    {
      dst: '10.0.3.0/24',
      nexthops: ['192.168.3.2', '192.168.2.2', '192.168.3.3'].map((gateway) => ({ gateway, dev: 'tunl0', flags: ['onlink' as const] })),
    },
  ];
  doc.netns[3]!.routes!.push({ dst: '192.168.3.3/32', gateway: '192.168.3.3', dev: 'eth2' });
  const c = compile(doc);
  const t = c.trace(c.resolve('pod-a', 'source'), c.resolve('pod-c', 'destination'));
  const seen = t.paths.map((p) => `${p.choices.join('.')} ${routerGateways(p).join(' ')}`).sort();
  assert.deepEqual(seen, [
    // Straight to node-c: one outer packet, the router's 2-way route.
    '0.0 192.168.3.2',
    '0.1 192.168.3.3',
    // Through node-b: the first outer packet takes one of 3 next hops, the second one of 2.
    '1.0.0 192.168.2.2 192.168.3.2',
    '1.0.1 192.168.2.2 192.168.3.3',
    '1.1.0 192.168.2.3 192.168.3.2',
    '1.1.1 192.168.2.3 192.168.3.3',
    '1.2.0 192.168.2.4 192.168.3.2',
    '1.2.1 192.168.2.4 192.168.3.3',
    // To node-c's other address: a single-path /32 at the router, no branch.
    '2 192.168.3.3',
  ]);
  assert.ok(t.paths.every((p) => p.disposition === 'DELIVERED'));
});
