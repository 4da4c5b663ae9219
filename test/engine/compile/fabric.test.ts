// How a fabric document's routes become the kernel's: cases the kernel conformance suite found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTopology } from '../../../src/engine/topology.js';
import { Addr } from '../../../src/engine/addr.js';
import { materialise } from '../../../src/engine/materialise.js';
import { checkTopology } from '../../../src/topology/validate.js';
import type { FabricDoc, NetnsDoc, RouteDoc } from '../../../src/topology/schema.js';

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

// ---- connected routes the kernel no longer holds ----

/**
 * Node a owns the pod CIDR 10.1.1.0/24 (and fd01::/64) on its bridge, with a pod behind it; node b routes the CIDR via a.
 * `change` edits a's document: its routes, its bridge addresses.
 */
function podOnA(change: (a: NetnsDoc) => void = () => {}): FabricDoc {
  const a: NetnsDoc = {
    name: 'a',
    kind: 'node',
    links: [
      { name: 'eth0', kind: 'physical', addresses: ['192.168.0.11/24', 'fd00::11/64'], segment: 'lan' },
      { name: 'cbr0', kind: 'bridge', addresses: ['10.1.1.1/24', 'fd01::1/64'] },
      { name: 'veth0', kind: 'veth', master: 'cbr0', peer: { netns: 'p', link: 'eth0' } },
    ],
  };
  change(a);
  return {
    netns: [
      a,
      {
        name: 'b',
        kind: 'node',
        links: [{ name: 'eth0', kind: 'physical', addresses: ['192.168.0.12/24', 'fd00::12/64'], segment: 'lan' }],
        routes: [
          { dst: '10.1.1.0/24', gateway: '192.168.0.11', dev: 'eth0' },
          { dst: 'fd01::/64', gateway: 'fd00::11', dev: 'eth0' },
        ],
      },
      {
        name: 'p',
        kind: 'pod',
        node: 'a',
        links: [{ name: 'eth0', kind: 'veth', addresses: ['10.1.1.10/24', 'fd01::10/64'], peer: { netns: 'a', link: 'veth0' } }],
        routes: [
          { dst: 'default', gateway: '10.1.1.1', dev: 'eth0' },
          { dst: 'default', gateway: 'fd01::1', dev: 'eth0' },
        ],
      },
    ],
  };
}

const compile = (fabric: FabricDoc) => compileTopology(checkTopology({ fabric }));

/** The disposition, and the route each hop took as `ip route` prints it. */
function walk(c: ReturnType<typeof compile>, from: string, to: string): string {
  const t = c.trace(c.resolve(from, 'source'), c.resolve(to, 'destination'));
  const p = t.paths[0]!;
  const routes = p.hops.flatMap((h) =>
    h.steps.flatMap((s) => {
      if (s.type !== 'ROUTE' || !s.route) return [];
      const nh = s.route.nexthops[s.nexthop];
      if (nh === undefined) return [`${h.netns.name}: ${s.route.type} ${s.route.prefix}`];
      return [`${h.netns.name}: ${s.route.prefix}${nh.gateway ? ` via ${nh.gateway}` : ''} dev ${h.netns.links[nh.dev]!.name}`];
    }),
  );
  return `${routes.slice(0, 3).join(', ')} ⇒ ${p.disposition}`;
}

test('the connected route holds until something replaces it', () => {
  const c = compile(podOnA());
  assert.equal(walk(c, 'b', '10.1.1.10'), 'b: 10.1.1.0/24 via 192.168.0.11 dev eth0, a: 10.1.1.0/24 dev cbr0 ⇒ DELIVERED');
  assert.equal(walk(c, 'b', 'fd01::10'), 'b: fd01::/64 via fd00::11 dev eth0, a: fd01::/64 dev cbr0 ⇒ DELIVERED');
});

test('ip route replace <own pod CIDR> via <other node>: the kernel loops the packet between the nodes', () => {
  const c = compile(podOnA((a) => (a.routes = [{ dst: '10.1.1.0/24', gateway: '192.168.0.12', dev: 'eth0' }])));
  assert.equal(
    walk(c, 'b', '10.1.1.10'),
    'b: 10.1.1.0/24 via 192.168.0.11 dev eth0, a: 10.1.1.0/24 via 192.168.0.12 dev eth0, b: 10.1.1.0/24 via 192.168.0.11 dev eth0 ⇒ LOOP',
  );
  // The replaced route is gone from the table, not shadowed: it is no candidate either.
  const a = c.fabric.byName.get('a')!;
  assert.deepEqual(c.fabric.candidates(a.id, Addr.parse('10.1.1.10')).map((r) => r.protocol ?? 'static'), ['static']);
});

test('IPv6: a listed route replaces the connected route only at its metric, 256', () => {
  const at = (metric?: number) =>
    compile(podOnA((a) => (a.routes = [{ dst: 'fd01::/64', gateway: 'fd00::12', dev: 'eth0', ...(metric ? { metric } : {}) }])));
  assert.match(walk(at(256), 'b', 'fd01::10'), /a: fd01::\/64 via fd00::12 dev eth0, b: .* ⇒ LOOP/);
  // `ip -6 route replace` without a metric adds at 1024, and the connected route (256) still wins.
  assert.match(walk(at(), 'b', 'fd01::10'), /a: fd01::\/64 dev cbr0 ⇒ DELIVERED/);
});

test('a noprefixroute address (or ip route del of its prefix): the kernel has no route to the subnet', () => {
  const c = compile(
    podOnA((a) => (a.links[1]!.addresses = [{ address: '10.1.1.1/24', noprefixroute: true }, { address: 'fd01::1/64', noprefixroute: true }])),
  );
  assert.equal(walk(c, 'b', '10.1.1.10'), 'b: 10.1.1.0/24 via 192.168.0.11 dev eth0 ⇒ NO_ROUTE');
  assert.equal(walk(c, 'b', 'fd01::10'), 'b: fd01::/64 via fd00::11 dev eth0 ⇒ NO_ROUTE');
  // The address is still a's own.
  assert.match(walk(c, 'b', '10.1.1.1'), /⇒ DELIVERED/);
  // Written back, the flag survives.
  assert.deepEqual(materialise(c.fabric).netns[0]!.links[1]!.addresses, [
    { address: '10.1.1.1/24', noprefixroute: true },
    { address: 'fd01::1/64', noprefixroute: true },
  ]);
});

// ---- the family of "default" ----

function oneFamily(addresses: string[], routes: RouteDoc[]): FabricDoc {
  return { netns: [{ name: 'h', kind: 'host', links: [{ name: 'eth0', kind: 'physical', addresses, segment: 'lan' }], routes }] };
}

test('"default" without a gateway in an IPv6-only netns is ::/0', () => {
  const c = compile(oneFamily(['fd00::5/64'], [{ dst: 'default', type: 'unreachable' }]));
  assert.equal(walk(c, 'h', '2001:db8::1'), 'h: unreachable ::/0 ⇒ UNREACHABLE');
});

test('"default dev eth0" in an IPv6-only netns is ::/0, and its family can be given', () => {
  assert.match(walk(compile(oneFamily(['fd00::5/64'], [{ dst: 'default', dev: 'eth0' }])), 'h', '2001:db8::1'), /h: ::\/0 dev eth0/);
  const dual = compile(oneFamily(['192.168.0.5/24', 'fd00::5/64'], [{ dst: 'default', type: 'unreachable', family: 6 }]));
  assert.match(walk(dual, 'h', '2001:db8::1'), /UNREACHABLE/);
  assert.match(walk(dual, 'h', '8.8.8.8'), /NO_ROUTE/);
  // Written back, "default" keeps its family, and the document is valid and the same again.
  const doc = materialise(dual.fabric);
  assert.deepEqual(doc.netns[0]!.routes, [{ type: 'unreachable', dst: 'default', metric: 1024, family: 6 }]);
  assert.deepEqual(materialise(compile(doc).fabric), doc);
});

// ---- IPv6 routes of one destination and metric: what `ip -6 route append` makes of them ----

function appended(routes: RouteDoc[]): { c: ReturnType<typeof compile>; held: string[] } {
  const doc = podOnA();
  doc.netns[1]!.links.push({ name: 'eth1', kind: 'physical', addresses: ['192.168.1.12/24', 'fd02::12/64'], segment: 'lan2' });
  doc.netns[1]!.routes = routes;
  const c = compile(doc);
  const b = c.fabric.byName.get('b')!;
  const held = [...b.fib4.own.groups, ...b.fib6.own.groups]
    .flat()
    .filter((r) => r.protocol !== 'kernel')
    .map((r) => JSON.stringify(r.toJSON((dev) => b.links[dev]!.name)));
  return { c, held };
}

test('IPv6: two routes through gateways are ECMP siblings, as `ip -6 route append` makes them', () => {
  const { c, held } = appended([
    { dst: 'fd09::/64', gateway: 'fd00::11', dev: 'eth0' },
    { dst: 'fd09::/64', gateway: 'fd02::11', dev: 'eth1' },
  ]);
  assert.deepEqual(held, [
    '{"dst":"fd09::/64","metric":1024,"nexthops":[{"gateway":"fd00::11","dev":"eth0","weight":1},{"gateway":"fd02::11","dev":"eth1","weight":1}]}',
  ]);
  const t = c.trace(c.resolve('b', 'source'), c.resolve('fd09::1', 'destination'));
  assert.equal(t.paths.length, 2);
});

test('IPv6: the same next hop again is refused (File exists); a route without a gateway stays behind the first', () => {
  const { c, held } = appended([
    { dst: 'fd09::/64', gateway: 'fd00::11', dev: 'eth0' },
    { dst: 'fd09::/64', gateway: 'fd00::11', dev: 'eth0' },
    { dst: 'fd09::/64', dev: 'eth1' },
    { dst: 'fd0a::/64', type: 'unreachable' },
    { dst: 'fd0a::/64', type: 'blackhole' },
  ]);
  assert.deepEqual(held, [
    '{"dst":"fd09::/64","gateway":"fd00::11","dev":"eth0","metric":1024}',
    '{"dst":"fd09::/64","dev":"eth1","scope":"link","metric":1024}',
    '{"type":"unreachable","dst":"fd0a::/64","metric":1024}',
  ]);
  const notes = c.fabric.byName.get('b')!.ignored.join('\n');
  assert.match(notes, /fd09::\/64 via fd00::11 dev eth0: the kernel already holds this next hop .* \(File exists\)/);
  assert.match(notes, /blackhole fd0a::\/64: .*\(File exists\)/);
  assert.match(walk(c, 'b', 'fd09::1'), /b: fd09::\/64 via fd00::11 dev eth0/);
});

test('IPv4 keeps `ip route append`: a second route of one destination and metric stays behind the first, which wins', () => {
  const { c, held } = appended([
    { dst: '10.9.0.0/16', gateway: '192.168.0.11', dev: 'eth0' },
    { dst: '10.9.0.0/16', gateway: '192.168.1.11', dev: 'eth1' },
  ]);
  assert.equal(held.length, 2);
  assert.match(walk(c, 'b', '10.9.0.1'), /b: 10\.9\.0\.0\/16 via 192\.168\.0\.11 dev eth0/);
});
