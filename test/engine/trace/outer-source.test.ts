// The outer source address of an encapsulated packet: the tunnel's `local` when it names one, else the address the
// kernel gives any packet its netns sends by the outer route (source.ts), never a link-local address towards a global
// destination and never the destination itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTopology } from '../../../src/engine/topology.js';
import type { OuterHeader, Step } from '../../../src/engine/trace.js';
import { checkTopology } from '../../../src/topology/validate.js';
import type { FabricDoc, LinkDoc, NetnsDoc } from '../../../src/topology/schema.js';

const MAC_B = 'aa:bb:cc:00:00:0b';

/**
 * Two nodes joined by VXLAN over an underlay of `family`, a pod on each: node-a's underlay device `eth0` has the addresses
 * `eth0`, `nodeALinks` come before it, and its VXLAN link has `local` when given.
 */
function vxlan(family: 4 | 6, eth0: string[], nodeALinks: LinkDoc[] = [], local?: string): FabricDoc {
  const v6 = family === 6;
  const under = (host: string) => (v6 ? `2001:db8::${host}` : `192.168.0.${host === 'a' ? 1 : 2}`);
  const inner = (net: string, host: number) => (v6 ? `fd00:${net}::${host}` : `10.0.${net === 'a' ? 1 : 2}.${host}`);
  const plen = v6 ? 64 : 24;
  const pod = (n: string): NetnsDoc => ({
    name: `pod-${n}`,
    kind: 'pod',
    node: `node-${n}`,
    links: [{ name: 'eth0', kind: 'veth', addresses: [`${inner(n, 2)}/${plen}`], peer: { netns: `node-${n}`, link: 'veth0' } }],
    routes: [{ dst: 'default', gateway: inner(n, 1), dev: 'eth0' }],
  });
  const veth0 = (n: string): LinkDoc => ({ name: 'veth0', kind: 'veth', addresses: [`${inner(n, 1)}/${plen}`], peer: { netns: `pod-${n}`, link: 'eth0' } });
  const vtepB = v6 ? 'fd00:ffff::b' : '10.0.255.2';
  const subnet = (n: string) => (v6 ? `fd00:${n}::/64` : `10.0.${n === 'a' ? 1 : 2}.0/24`);
  return {
    segments: [{ name: 'underlay' }],
    netns: [
      {
        name: 'node-a',
        kind: 'node',
        links: [
          ...nodeALinks,
          { name: 'eth0', kind: 'physical', addresses: eth0, segment: 'underlay' },
          { name: 'vxlan0', kind: 'vxlan', vni: 1, port: 4789, ...(local ? { local } : {}) },
          veth0('a'),
        ],
        routes: [
          ...(eth0.length === 0 ? [{ dst: v6 ? '2001:db8::/64' : '192.168.0.0/24', dev: 'eth0', scope: 'link' as const }] : []),
          { dst: subnet('b'), gateway: vtepB, dev: 'vxlan0', flags: ['onlink'] },
        ],
        neigh: [{ dst: vtepB, lladdr: MAC_B, dev: 'vxlan0' }],
        fdb: [{ mac: MAC_B, dev: 'vxlan0', dst: under('b') }],
      },
      {
        name: 'node-b',
        kind: 'node',
        links: [
          { name: 'eth0', kind: 'physical', addresses: [`${under('b')}/${plen}`], segment: 'underlay' },
          // A link's `local` also picks its socket's family: the receiver names one too when the sender does.
          { name: 'vxlan0', kind: 'vxlan', vni: 1, port: 4789, mac: MAC_B, addresses: [`${vtepB}/${v6 ? 128 : 32}`], ...(local ? { local: under('b') } : {}) },
          veth0('b'),
        ],
      },
      pod('a'),
      pod('b'),
    ],
  };
}

function outerOf(doc: FabricDoc): { outer: OuterHeader; routed: string } {
  const c = compileTopology(checkTopology({ fabric: doc }));
  const t = c.trace(c.resolve('pod-a', 'source'), c.resolve('pod-b', 'destination'));
  const path = t.paths[0]!;
  assert.equal(path.disposition, 'DELIVERED');
  const steps = path.hops.filter((h) => h.netns.name === 'node-a').flatMap((h) => h.steps);
  const encap = steps.find((s): s is Extract<Step, { type: 'ENCAPSULATE' }> => s.type === 'ENCAPSULATE')!;
  // The ROUTE step after the encapsulation is the outer packet's.
  const route = steps.slice(steps.indexOf(encap)).find((s): s is Extract<Step, { type: 'ROUTE' }> => s.type === 'ROUTE')!;
  return { outer: encap.outer, routed: `${route.src} → ${route.dst}` };
}

test('IPv6 underlay whose device lists its link-local address first: the outer source is the global address', () => {
  const { outer, routed } = outerOf(vxlan(6, ['fe80::a/64', '2001:db8::a/64']));
  assert.equal(`${outer.src} → ${outer.dst}`, '2001:db8::a → 2001:db8::b');
  assert.equal(routed, '2001:db8::a → 2001:db8::b');
});

test('an underlay device without an address: the source is another address of the netns, not the destination', () => {
  const lo: LinkDoc = { name: 'lo0', kind: 'dummy', addresses: ['192.168.0.1/32'] };
  const { outer } = outerOf(vxlan(4, [], [lo]));
  assert.equal(`${outer.src} → ${outer.dst}`, '192.168.0.1 → 192.168.0.2');
});

test('a tunnel with `local` speaks from it', () => {
  const lo: LinkDoc = { name: 'lo0', kind: 'dummy', addresses: ['2001:db8::1:a/128'] };
  const { outer, routed } = outerOf(vxlan(6, ['2001:db8::a/64'], [lo], '2001:db8::1:a'));
  assert.equal(`${outer.src} → ${outer.dst}`, '2001:db8::1:a → 2001:db8::b');
  assert.equal(routed, '2001:db8::1:a → 2001:db8::b');
});

test('an underlay device of two subnets, the outer route\'s gateway on the second: the source is on the gateway\'s subnet', () => {
  const doc = vxlan(4, ['192.168.9.1/24', '192.168.1.1/24']);
  // node-b moves behind a router on node-a's second subnet (inet_select_addr prefers the gateway's subnet).
  doc.segments!.push({ name: 'far' });
  doc.netns[1]!.links[0] = { name: 'eth0', kind: 'physical', addresses: ['192.168.0.2/24'], segment: 'far' };
  doc.netns[1]!.routes = [{ dst: '192.168.1.0/24', gateway: '192.168.0.254', dev: 'eth0' }];
  doc.netns[0]!.routes!.push({ dst: '192.168.0.0/24', gateway: '192.168.1.254', dev: 'eth0' });
  doc.netns.push({
    name: 'router',
    kind: 'router',
    links: [
      { name: 'eth0', kind: 'physical', addresses: ['192.168.1.254/24'], segment: 'underlay' },
      { name: 'eth1', kind: 'physical', addresses: ['192.168.0.254/24'], segment: 'far' },
    ],
  });
  const { outer } = outerOf(doc);
  assert.equal(`${outer.src} → ${outer.dst}`, '192.168.1.1 → 192.168.0.2');
});
