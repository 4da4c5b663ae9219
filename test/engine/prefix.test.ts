import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Addr, AddrError } from '../../src/engine/addr.js';
import { Prefix } from '../../src/engine/prefix.js';

// The naive model: addresses as BigInts, prefixes as (value >> host bits).
const big = (a: Addr) =>
  a.family === 4 ? BigInt(a.w0) : [a.w0, a.w1, a.w2, a.w3].reduce((acc, w) => (acc << 32n) | BigInt(w), 0n);
const naiveContains = (p: Prefix, a: Addr) => {
  if (p.family !== a.family) return false;
  const host = BigInt(p.addr.bits - p.bits);
  return big(p.addr) >> host === big(a) >> host;
};

const word = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 0x0a000000, 0x80000000, 0xffffffff));
const addr4 = word.map((w) => Addr.v4(w));
const addr6 = fc.tuple(word, word, word, word).map(([a, b, c, d]) => Addr.v6(a, b, c, d));
const prefixOf = (addr: fc.Arbitrary<Addr>, max: number) =>
  fc.tuple(addr, fc.oneof(fc.integer({ min: 0, max }), fc.constantFrom(0, max))).map(([a, bits]) => Prefix.of(a, bits));
const prefix = fc.oneof(prefixOf(addr4, 32), prefixOf(addr6, 128));
/** An address that shares a random number of leading bits with p, so that containment goes both ways often. */
const near = (p: Prefix) =>
  fc.tuple(p.family === 4 ? addr4 : addr6, fc.integer({ min: 0, max: p.addr.bits })).map(([noise, keep]) => {
    const n = p.addr.bits;
    const m = ((1n << BigInt(keep)) - 1n) << BigInt(n - keep);
    const v = (big(p.addr) & m) | (big(noise) & ~m & ((1n << BigInt(n)) - 1n));
    const w = (i: number) => Number((v >> BigInt(32 * (3 - i))) & 0xffffffffn);
    return p.family === 4 ? Addr.v4(Number(v)) : Addr.v6(w(0), w(1), w(2), w(3));
  });

test('parses prefixes and host addresses', () => {
  const cases: [string, string, number][] = [
    ['10.1.1.0/24', '10.1.1.0/24', 24],
    ['0.0.0.0/0', '0.0.0.0/0', 0],
    ['10.1.1.5/32', '10.1.1.5/32', 32],
    ['10.1.1.5', '10.1.1.5/32', 32],
    ['10.0.0.0/7', '10.0.0.0/7', 7],
    ['fd00::/64', 'fd00::/64', 64],
    ['FD00:0::/8', 'fd00::/8', 8],
    ['::/0', '::/0', 0],
    ['fd00::1', 'fd00::1/128', 128],
    ['fd00::1/128', 'fd00::1/128', 128],
    ['::ffff:10.0.0.0/104', '::ffff:10.0.0.0/104', 104],
  ];
  for (const [input, text, bits] of cases) {
    const p = Prefix.parse(input);
    assert.equal(p.toString(), text, input);
    assert.equal(p.bits, bits, input);
    assert.ok(Prefix.parse(p.toString()).equals(p));
  }
});

test('rejects malformed prefixes', () => {
  const cases: [string, RegExp][] = [
    ['', /invalid IP address ""/],
    ['10.1.1.0/', /invalid prefix "10.1.1.0\/": "" is not a prefix length/],
    ['10.1.1.0/33', /invalid prefix "10.1.1.0\/33": the length of an IPv4 prefix is 0..32/],
    ['fd00::/129', /the length of an IPv6 prefix is 0..128/],
    ['10.1.1.0/024', /"024" is not a prefix length/],
    ['10.1.1.0/+24', /not a prefix length/],
    ['10.1.1.0/ 24', /not a prefix length/],
    ['10.1.1.0/24/', /not a prefix length/],
    ['10.1.1.0/2x', /not a prefix length/],
    ['10.1.1.0/1000', /not a prefix length/],
    ['/24', /invalid IP address ""/],
    ['10.1.1/24', /invalid IP address "10.1.1"/],
    ['default', /invalid IP address "default"/],
    ['fe80::%eth0/64', /zones/],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => Prefix.parse(input), (e: unknown) => e instanceof AddrError && message.test(e.message), input);
  }
});

test('host bits set is an error that names the prefix meant', () => {
  assert.throws(() => Prefix.parse('10.1.1.5/24'), {
    name: 'AddrError',
    message: '10.1.1.5/24 has host bits set (the prefix is 10.1.1.0/24; 10.1.1.5/24 is an interface address)',
  });
  assert.throws(() => Prefix.parse('fd00::1/64'), {
    message: 'fd00::1/64 has host bits set (the prefix is fd00::/64; fd00::1/64 is an interface address)',
  });
  assert.throws(() => Prefix.parse('11.0.0.0/7'), /the prefix is 10\.0\.0\.0\/7/);
});

test('Prefix.of masks host bits and checks the length', () => {
  assert.equal(Prefix.of(Addr.parse('10.1.1.5'), 24).toString(), '10.1.1.0/24');
  assert.equal(Prefix.of(Addr.parse('fd00::fff:1'), 100).toString(), 'fd00::/100');
  assert.equal(Prefix.of(Addr.parse('255.255.255.255'), 0).toString(), '0.0.0.0/0');
  assert.throws(() => Prefix.of(Addr.parse('10.0.0.0'), 33), /prefix length 33 for 10\.0\.0\.0/);
  assert.throws(() => Prefix.of(Addr.parse('10.0.0.0'), -1), AddrError);
  assert.throws(() => Prefix.of(Addr.parse('10.0.0.0'), 1.5), AddrError);
});

test('route destinations in the ip -j route form', () => {
  assert.throws(() => Prefix.parseRouteDst('default'), /"default" does not say its family/);
  assert.equal(Prefix.parseRouteDst('default', 4).toString(), '0.0.0.0/0');
  assert.equal(Prefix.parseRouteDst('default', 6).toString(), '::/0');
  assert.equal(Prefix.parseRouteDst('10.1.2.0/24').toString(), '10.1.2.0/24');
  assert.equal(Prefix.parseRouteDst('10.1.2.7').toString(), '10.1.2.7/32');
  assert.equal(Prefix.parseRouteDst('fd00::7', 6).toString(), 'fd00::7/128');
  assert.throws(() => Prefix.parseRouteDst('fd00::/64', 4), /route destination "fd00::\/64" is not an IPv4 prefix/);
  assert.throws(() => Prefix.parseRouteDst('10.1.2.5/24'), /has host bits set/);

  const dst: [string, string][] = [
    ['0.0.0.0/0', 'default'],
    ['::/0', 'default'],
    ['10.1.2.7/32', '10.1.2.7'],
    ['fd00::7/128', 'fd00::7'],
    ['10.1.2.0/24', '10.1.2.0/24'],
    ['fd00::/64', 'fd00::/64'],
  ];
  for (const [text, routeDst] of dst) {
    const p = Prefix.parse(text);
    assert.equal(p.toRouteDst(), routeDst);
    assert.equal(p.toString(), text, 'toString never says "default"');
    assert.ok(Prefix.parseRouteDst(routeDst, p.family).equals(p));
  }
  assert.equal(JSON.stringify(Prefix.parse('10.0.0.0/8')), '"10.0.0.0/8"');
});

test('contains, containsPrefix and overlaps agree with the naive model', () => {
  fc.assert(
    fc.property(
      prefix.chain((p) => fc.tuple(fc.constant(p), near(p), prefix)),
      ([p, a, q]) => {
        assert.equal(p.contains(a), naiveContains(p, a));
        assert.ok(p.contains(p.first()) && p.contains(p.last()));
        const nested = (outer: Prefix, inner: Prefix) => inner.bits >= outer.bits && naiveContains(outer, inner.addr);
        assert.equal(p.containsPrefix(q), nested(p, q));
        assert.equal(p.overlaps(q), nested(p, q) || nested(q, p));
        assert.equal(q.overlaps(p), p.overlaps(q));
        const r = Prefix.of(a, Math.max(p.bits, Math.min(a.bits, p.bits + 3)));
        assert.equal(p.containsPrefix(r), naiveContains(p, a));
        assert.equal(p.overlaps(r), naiveContains(p, a));
      },
    ),
    { numRuns: 3000 },
  );
  const p = Prefix.parse('10.0.0.0/8');
  assert.equal(p.contains(Addr.parse('::ffff:10.0.0.1')), false, 'IPv4-mapped IPv6 is another family');
  assert.equal(p.overlaps(Prefix.parse('::/0')), false);
  assert.equal(Prefix.parse('::/0').containsPrefix(p), false);
});

test('first, last and size', () => {
  fc.assert(
    fc.property(prefix, (p) => {
      const host = BigInt(p.addr.bits - p.bits);
      assert.equal(big(p.first()), big(p.addr));
      assert.equal(big(p.last()), big(p.addr) + (1n << host) - 1n);
      assert.equal(p.size, Number(1n << host));
      assert.equal(p.first().family, p.family);
      assert.equal(p.last().family, p.family);
    }),
  );
  const p = Prefix.parse('10.1.1.0/24');
  assert.equal(p.last().toString(), '10.1.1.255');
  assert.equal(p.size, 256);
  assert.equal(Prefix.parse('fd00::/64').last().toString(), 'fd00::ffff:ffff:ffff:ffff');
  assert.equal(Prefix.parse('::/0').size, 2 ** 128);
});

test('smallestContaining finds the smallest common prefix', () => {
  const cases: [string[], string][] = [
    [['192.168.0.11', '192.168.0.12'], '192.168.0.8/29'],
    [['192.168.0.11', '192.168.0.21'], '192.168.0.0/27'],
    [['192.168.0.11'], '192.168.0.11/32'],
    [['10.0.0.1', '10.0.0.1'], '10.0.0.1/32'],
    [['10.0.0.0', '10.0.0.255', '10.0.0.17'], '10.0.0.0/24'],
    [['0.0.0.0', '128.0.0.0'], '0.0.0.0/0'],
    [['fd00::1', 'fd00::2'], 'fd00::/126'],
    [['2001:db8::1', '2001:db8:1::1'], '2001:db8::/47'],
  ];
  for (const [addrs, expected] of cases) {
    assert.equal(Prefix.smallestContaining(addrs.map((s) => Addr.parse(s))).toString(), expected);
  }
  assert.throws(() => Prefix.smallestContaining([]), /empty set/);
  assert.throws(() => Prefix.smallestContaining([Addr.parse('10.0.0.1'), Addr.parse('::1')]), /not of the same family/);

  const sameFamily = fc.oneof(
    fc.array(addr4, { minLength: 1, maxLength: 8 }),
    fc.array(addr6, { minLength: 1, maxLength: 8 }),
  );
  fc.assert(
    fc.property(sameFamily, (addrs) => {
      const p = Prefix.smallestContaining(addrs);
      for (const a of addrs) assert.ok(naiveContains(p, a));
      if (p.bits < p.addr.bits) {
        // One bit longer, and some address falls outside.
        const q = Prefix.of(addrs[0], p.bits + 1);
        assert.ok(addrs.some((a) => !naiveContains(q, a)));
      }
    }),
  );
});
