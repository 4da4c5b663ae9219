// How a fabric document's routes become the kernel's: cases the kernel conformance suite found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTopology } from '../../../src/engine/topology.js';
import type { FabricDoc } from '../../../src/topology/schema.js';

const twoHosts = (gateway: string): FabricDoc => ({
  netns: [
    {
      name: 'a',
      kind: 'node',
      links: [{ name: 'eth0', kind: 'physical', addresses: ['192.168.0.14/24', 'fd00::14/64'], segment: 'lan' }],
      routes: [{ dst: gateway.includes(':') ? 'fd10::/64' : '10.1.1.0/24', gateway, dev: 'eth0' }],
    },
    { name: 'b', kind: 'node', links: [{ name: 'eth0', kind: 'physical', addresses: ['10.1.1.10/16', 'fd10::10/64'], segment: 'lan' }] },
  ],
});

test('an IPv4 gateway that is a local address: the kernel keeps the route and sends straight to the destination', () => {
  const c = compileTopology({ form: 'fabric', fabric: twoHosts('192.168.0.14') });
  const t = c.trace(c.resolve('a', 'source'), c.resolve('10.1.1.10', 'destination'));
  const route = t.paths[0]!.hops[0]!.steps.find((s) => s.type === 'ROUTE');
  assert.ok(route?.type === 'ROUTE' && route.route);
  assert.equal(route.route.nexthops[0]!.gateway, undefined);
  assert.match(c.fabric.byName.get('a')!.ignored.join('\n'), /192\.168\.0\.14 is an address of this netns/);
  // b owns 10.1.1.10 on the same segment, so ARP for the destination itself is answered.
  assert.equal(t.paths[0]!.disposition, 'DELIVERED');
});

test('an IPv6 gateway that is a local address: the kernel refuses the route', () => {
  const c = compileTopology({ form: 'fabric', fabric: twoHosts('fd00::14') });
  const t = c.trace(c.resolve('fd00::14', 'source'), c.resolve('fd10::10', 'destination'));
  assert.equal(t.paths[0]!.disposition, 'NO_ROUTE');
  assert.match(c.fabric.byName.get('a')!.ignored.join('\n'), /fd00::14 is a local address, which IPv6 refuses/);
});
