// The MTU along a path: the smallest link MTU the packet leaves by, less the outer headers of the tunnels it is in there,
// and what Linux does with a packet of a given size that does not fit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTopology, type CompiledTopology } from '../../src/engine/topology.js';
import { bottleneck, mtuReport } from '../../src/engine/mtu.js';
import type { Link, Netns } from '../../src/engine/fabric.js';
import type { Hop, Step } from '../../src/engine/trace.js';
import { checkTopology } from '../../src/topology/validate.js';
import { example } from '../helpers/examples.js';
import { narrow } from '../helpers/fabrics.js';

const hopsOf = (c: CompiledTopology, from: string, to: string, family?: 4 | 6) =>
  c.trace(c.resolve(from, 'source'), c.resolve(to, 'destination'), 64, family).paths[0]!.hops;


test('the seed cluster: every link 1500, met first at the source pod; 1500 bytes fit, 1501 do not', () => {
  const c = compileTopology(checkTopology(example('two-nodes')));
  const hops = hopsOf(c, 'pod-a1', 'pod-b1');
  assert.deepEqual(mtuReport(hops, 4), { smallest: 1500, netns: 'default/pod-a1', link: 'eth0' });
  const fits = mtuReport(hops, 4, 1500)!;
  assert.equal(fits.fits, true);
  assert.match(fits.explanation!, /^a 1500-byte packet fits through every link on the way; the smallest MTU is at eth0 of default\/pod-a1 \(MTU 1500\)$/);
  const big = mtuReport(hops, 4, 1501)!;
  assert.equal(big.fits, false);
  assert.equal(big.size, 1501);
  assert.match(big.explanation!, /^a 1501-byte packet does not fit through eth0 of default\/pod-a1 \(MTU 1500\): with DF set .* the sending kernel refuses it \(EMSGSIZE\)/);
});

test('a narrower link on the way is where the packet stops: a router drops it with DF or fragments it', () => {
  const c = compileTopology(checkTopology({ fabric: narrow }));
  const hops = hopsOf(c, 'pod-a', 'pod-b');
  const b = bottleneck(hops)!;
  assert.deepEqual([b.mtu, b.netns.name, b.link.name, b.overhead, b.atSource], [1400, 'node-a', 'eth0', 0, false]);
  assert.equal(
    mtuReport(hops, 4, 1500)!.explanation,
    'a 1500-byte packet does not fit through eth0 of node-a (MTU 1400): with DF set (TCP, ping -M do) the kernel drops it and ' +
      'answers ICMP fragmentation needed; without DF it is fragmented',
  );
  assert.equal(mtuReport(hops, 4, 1400)!.fits, true);
  assert.match(mtuReport(hops, 6, 1500)!.explanation!, /IPv6 routers never fragment, so the kernel drops it and answers ICMPv6 packet too big$/);
  // The way back leaves node-b by its own eth0 (1500), and node-a only forwards to the pod's veth.
  assert.equal(mtuReport(hopsOf(c, 'pod-b', 'pod-a'), 4)!.smallest, 1500);
});

test('a link the packet is dropped before leaving by does not count; a packet that leaves by no link has no MTU', () => {
  const c = compileTopology(checkTopology({ fabric: narrow }));
  // node-b routes 10.0.2.99 onto veth-b, but nobody answers ARP for it there.
  const doc = structuredClone(narrow);
  doc.netns[2]!.links[1]!.mtu = 1300;
  const d = compileTopology(checkTopology({ fabric: doc }));
  const dropped = hopsOf(d, 'pod-a', '10.0.2.99');
  assert.equal(dropped.at(-1)!.out?.name, 'veth-b');
  assert.deepEqual(mtuReport(dropped, 4), { smallest: 1400, netns: 'node-a', link: 'eth0' });
  assert.equal(mtuReport(hopsOf(c, 'pod-a', '10.0.1.2'), 4), undefined);
});

// Tunnel steps as the tracer records them: the device takes the inner packet, the outer one carries `overhead` more bytes.
const link = (name: string, mtu: number) => ({ name, mtu }) as Link;
const netns = (name: string) => ({ name }) as Netns;
const step = (type: string, fields: object = {}) => ({ type, ...fields }) as unknown as Step;

test('inside a tunnel every link leaves the inner packet its MTU less the outer headers; decapsulation gives them back', () => {
  const flannel = link('flannel.1', 1450);
  const podA = netns('pod-a');
  const nodeA = netns('node-a');
  const nodeB = netns('node-b');
  const hops = (underlay: number, podB: number): Hop[] => [
    { netns: podA, in: undefined, out: link('eth0', 1500), steps: [step('ORIGINATE'), step('ROUTE'), step('TRANSMIT')] },
    {
      netns: nodeA,
      in: link('veth-a', 1500),
      out: link('eth0', underlay),
      steps: [step('RECEIVE'), step('ROUTE'), step('ENCAPSULATE', { link: flannel, overhead: 50 }), step('ROUTE'), step('TRANSMIT')],
    },
    { netns: nodeB, in: link('eth0', 1500), out: link('veth-b', podB), steps: [step('RECEIVE'), step('DECAPSULATE'), step('ROUTE'), step('TRANSMIT')] },
    { netns: netns('pod-b'), in: link('eth0', 1500), out: undefined, steps: [step('RECEIVE'), step('DELIVER')] },
  ];
  // The tunnel device first, where the inner packet meets 1450; the underlay's 1500 less 50 is no smaller.
  assert.deepEqual(mtuReport(hops(1500, 1500), 4), { smallest: 1450, netns: 'node-a', link: 'flannel.1' });
  const under = bottleneck(hops(1400, 1500))!;
  assert.deepEqual([under.mtu, under.link.name, under.overhead], [1350, 'eth0', 50]);
  assert.match(mtuReport(hops(1400, 1500), 4, 1400)!.explanation!, /does not fit through eth0 of node-a \(MTU 1400, 1350 inside 50 bytes of outer headers\)/);
  // Past node-b's DECAPSULATE the packet is the inner one again: veth-b's 1420 counts in full.
  assert.deepEqual(mtuReport(hops(1500, 1420), 4), { smallest: 1420, netns: 'node-b', link: 'veth-b' });
});
