// The FIB as the tracer reads it: a netns's own table over one shared by many, route groups by prefix in the kernel's
// order of preference (metric), and next hops of ECMP routes in Fibs' flat layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Addr } from '../../src/engine/addr.js';
import { Prefix } from '../../src/engine/prefix.js';
import { Route, type NextHop, type RouteType } from '../../src/engine/route.js';
import { BLACKHOLE, Fib, Fibs, RouteTable, UNICAST } from '../../src/engine/fib.js';

const a = (s: string) => Addr.parse(s);
const nh = (gateway: string | undefined, dev: number, weight = 1): NextHop => ({ gateway: gateway === undefined ? undefined : a(gateway), dev, onlink: false, weight });
const route = (dst: string, nexthops: NextHop[], metric = 0, type: RouteType = 'unicast') =>
  new Route(Prefix.parse(dst), type, metric, nexthops, 'global', undefined, undefined);
/** Owner entries as Owners would number them: here, the last octet of the gateway, so a test can tell them apart. */
const ownerOf = (g: Addr) => g.w0 & 0xff;

function fibsOf(...fibs: Fib[]) {
  const f = new Fibs(fibs, ownerOf);
  const look = (fib: Fib, dst: string) => {
    const d = a(dst);
    return f.lookup(f.table(fib.own), f.table(fib.shared), d.family, d.w0, d.w1, d.w2, d.w3);
  };
  /** What a lookup selects, as `ip route` would print the preferred route's first next hop. */
  const show = (fib: Fib, dst: string) => {
    const g = look(fib, dst);
    if (g < 0) return 'no route';
    const r = f.route(g);
    const first = f.nexthop(g, 0);
    return `${r.prefix} via ${f.gateway(first) ?? '-'} dev ${f.dev(first)} metric ${r.metric}`;
  };
  return { f, look, show };
}

test("a netns's own route shadows the shared one for the same prefix; a longer prefix wins from either table", () => {
  // Every node shares "each pod CIDR via its node"; node-a's own table holds its connected pod CIDR and a /25 of its own.
  const shared = new RouteTable(4, [route('10.1.1.0/24', [nh('192.168.0.11', 0)]), route('10.1.2.0/24', [nh('192.168.0.12', 0)]), route('10.1.0.0/16', [nh('192.168.0.1', 0)])]);
  const own = new RouteTable(4, [route('10.1.1.0/24', [nh(undefined, 1)]), route('10.1.2.128/25', [nh('192.168.0.99', 0)]), route('10.0.0.0/8', [nh('192.168.0.2', 0)])]);
  const nodeA = new Fib(own, shared);
  const nodeB = new Fib(new RouteTable(4, []), shared);
  const { f, show } = fibsOf(nodeA, nodeB);
  assert.equal(show(nodeA, '10.1.1.7'), '10.1.1.0/24 via - dev 1 metric 0');
  assert.equal(show(nodeB, '10.1.1.7'), '10.1.1.0/24 via 192.168.0.11 dev 0 metric 0');
  assert.equal(show(nodeA, '10.1.2.200'), '10.1.2.128/25 via 192.168.0.99 dev 0 metric 0');
  assert.equal(show(nodeA, '10.1.2.7'), '10.1.2.0/24 via 192.168.0.12 dev 0 metric 0');
  // The shared /16 beats the own /8.
  assert.equal(show(nodeA, '10.1.9.1'), '10.1.0.0/16 via 192.168.0.1 dev 0 metric 0');
  assert.equal(show(nodeA, '10.2.0.1'), '10.0.0.0/8 via 192.168.0.2 dev 0 metric 0');
  assert.equal(show(nodeA, '172.16.0.1'), 'no route');
  // The candidates an explanation lists: longest first, and the shadowed shared /24 is not among them.
  const d = a('10.1.1.7');
  assert.deepEqual(
    f.candidates(f.table(nodeA.own), f.table(nodeA.shared), d).map((r) => `${r.prefix} ${r.nexthops[0]!.gateway ?? 'dev ' + r.nexthops[0]!.dev}`),
    ['10.1.1.0/24 dev 1', '10.1.0.0/16 192.168.0.1', '10.0.0.0/8 192.168.0.2'],
  );
});

test('ECMP groups of 3 and 4 next hops keep every next hop, in order, between single-hop groups and across tables', () => {
  const t1 = new RouteTable(4, [
    route('10.1.0.0/16', [nh('192.168.0.11', 0)]),
    route('10.2.0.0/16', [nh('192.168.0.21', 1, 1), nh('192.168.0.22', 2, 2), nh('192.168.0.23', 3, 3)]),
    route('10.3.0.0/16', [nh('192.168.0.31', 4)]),
  ]);
  const t2 = new RouteTable(4, [
    route('10.4.0.0/16', [nh('192.168.0.41', 5), nh('192.168.0.42', 6), nh('192.168.0.43', 7), nh('192.168.0.44', 8)]),
    route('10.5.0.0/16', [nh(undefined, 9), nh('192.168.0.52', 10)]),
  ]);
  const fib1 = new Fib(t1);
  const fib2 = new Fib(t2);
  const { f, look } = fibsOf(fib1, fib2);
  const hops = (fib: Fib, dst: string) => {
    const g = look(fib, dst);
    return Array.from({ length: f.width(g) }, (_, k) => {
      const n = f.nexthop(g, k);
      return [f.dev(n), f.gateway(n)?.toString() ?? null, f.hasGateway(n), f.gatewayOwner(n)];
    });
  };
  assert.deepEqual(hops(fib1, '10.1.0.1'), [[0, '192.168.0.11', true, 11]]);
  assert.deepEqual(hops(fib1, '10.2.0.1'), [
    [1, '192.168.0.21', true, 21],
    [2, '192.168.0.22', true, 22],
    [3, '192.168.0.23', true, 23],
  ]);
  assert.deepEqual(hops(fib1, '10.3.0.1'), [[4, '192.168.0.31', true, 31]]);
  assert.deepEqual(hops(fib2, '10.4.0.1'), [
    [5, '192.168.0.41', true, 41],
    [6, '192.168.0.42', true, 42],
    [7, '192.168.0.43', true, 43],
    [8, '192.168.0.44', true, 44],
  ]);
  assert.deepEqual(hops(fib2, '10.5.0.1'), [
    [9, null, false, -1],
    [10, '192.168.0.52', true, 52],
  ]);
  // The weights stay on the Route, for the multipath hash.
  assert.deepEqual(f.route(look(fib1, '10.2.0.1')).nexthops.map((n) => n.weight), [1, 2, 3]);
});

test('routes to one prefix: the lowest metric is selected, the others follow it in metric order, equal metrics as added', () => {
  const table = new RouteTable(4, [
    route('10.9.0.0/24', [nh('192.168.0.1', 0)], 100),
    route('10.9.0.0/24', [nh('192.168.0.2', 0)], 10),
    route('10.9.0.0/24', [nh('192.168.0.3', 0)], 50),
    route('10.9.0.0/24', [nh('192.168.0.4', 0)], 10),
    route('10.9.0.0/24', [], 5, 'blackhole'),
    route('10.8.0.0/24', [nh('192.168.0.5', 0), nh('192.168.0.6', 0)], 20),
    route('10.8.0.0/24', [nh('192.168.0.7', 0)], 30),
  ]);
  const fib = new Fib(table);
  const { f, look } = fibsOf(fib);
  const g = look(fib, '10.9.0.1');
  assert.equal(f.type(g), BLACKHOLE);
  assert.equal(f.width(g), 0);
  const d = a('10.9.0.1');
  assert.deepEqual(
    f.candidates(f.table(fib.own), -1, d).map((r) => [r.type, r.metric, r.nexthops[0]?.gateway?.toString()]),
    [
      ['blackhole', 5, undefined],
      ['unicast', 10, '192.168.0.2'],
      ['unicast', 10, '192.168.0.4'],
      ['unicast', 50, '192.168.0.3'],
      ['unicast', 100, '192.168.0.1'],
    ],
  );
  // The ECMP route of lower metric is the group's: both its next hops, not the metric-30 route's.
  const e = look(fib, '10.8.0.1');
  assert.equal(f.type(e), UNICAST);
  assert.equal(f.route(e).metric, 20);
  assert.deepEqual([0, 1].map((k) => f.gateway(f.nexthop(e, k))!.toString()), ['192.168.0.5', '192.168.0.6']);
});

test('IPv6 tables are looked up alike', () => {
  const fib = new Fib(new RouteTable(6, [route('fd01::/16', [nh('fd00::11', 0), nh('fd00::12', 1), nh('fd00::13', 2)]), route('fd01:0:0:1::/64', [nh(undefined, 3)])]), new RouteTable(6, [route('::/0', [nh('fd00::1', 0)])]));
  const { f, look } = fibsOf(fib);
  const wide = look(fib, 'fd01::5');
  assert.equal(f.width(wide), 3);
  assert.equal(f.gateway(f.nexthop(wide, 2))!.toString(), 'fd00::13');
  assert.equal(f.route(look(fib, 'fd01:0:0:1::5')).prefix.toString(), 'fd01:0:0:1::/64');
  assert.equal(f.route(look(fib, '2001:db8::1')).prefix.toString(), '::/0');
});
