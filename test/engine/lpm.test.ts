import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Addr, type Family } from '../../src/engine/addr.js';
import { Prefix } from '../../src/engine/prefix.js';
import { Lpm, type LpmEntry } from '../../src/engine/lpm.js';
import { LinearLpm } from '../../src/engine/lpm-reference.js';

const big = (a: Addr) =>
  a.family === 4 ? BigInt(a.w0) : [a.w0, a.w1, a.w2, a.w3].reduce((acc, w) => (acc << 32n) | BigInt(w), 0n);
const fromBig = (family: Family, v: bigint) => {
  const w = (i: number) => Number((v >> BigInt(32 * (3 - i))) & 0xffffffffn);
  return family === 4 ? Addr.v4(Number(v)) : Addr.v6(w(0), w(1), w(2), w(3));
};
/** The first `keep` bits of `base`, the rest from `noise`. */
const mix = (base: Addr, noise: Addr, keep: number) => {
  const n = BigInt(base.bits);
  const m = ((1n << BigInt(keep)) - 1n) << (n - BigInt(keep));
  return fromBig(base.family, (big(base) & m) | (big(noise) & ~m & ((1n << n) - 1n)));
};
/** base with bit i (0 = most significant) flipped. */
const flip = (base: Addr, i: number) => fromBig(base.family, big(base) ^ (1n << BigInt(base.bits - 1 - i)));

const word = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.constantFrom(0, 0xffffffff, 0x80000000, 0x0a000000, 0x0a0101ff, 0xfd000000),
);
const addrOf = (family: Family) =>
  family === 4
    ? word.map((w) => Addr.v4(w))
    : fc.tuple(word, word, word, word).map(([a, b, c, d]) => Addr.v6(a, b, c, d));

/** Prefix lengths biased to 0, the host length, byte boundaries and their neighbours. */
const lengthOf = (family: Family) => {
  const max = family === 4 ? 32 : 128;
  const special = [0, 1, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, ...(family === 6 ? [48, 63, 64, 65, 127, 128] : [])];
  return fc.oneof(fc.constantFrom(...special), fc.integer({ min: 0, max }));
};

/**
 * Tables of 0..2000 entries. Entries grow from a few root addresses and keep a long run of a root's leading bits, so
 * prefixes nest deeply and share trie nodes; duplicates occur too. Values are positions: a wrong winner always shows.
 */
const tableOf = (family: Family) => {
  const max = family === 4 ? 32 : 128;
  const entry = fc.record({
    root: fc.nat(),
    keep: fc.oneof({ arbitrary: fc.constant(max), weight: 1 }, { arbitrary: lengthOf(family), weight: 3 }),
    noise: addrOf(family),
    bits: lengthOf(family),
  });
  // Mostly host routes with a few other prefixes, as a node's table is: laid out as a host table.
  const hostHeavy = fc
    .tuple(fc.array(entry.map((e) => ({ ...e, bits: max })), { maxLength: 300 }), fc.array(entry, { maxLength: 8 }))
    .chain(([hosts, others]) => fc.shuffledSubarray([...hosts, ...others], { minLength: hosts.length + others.length }));
  // Mostly prefixes of one length with a few others, as Calico's blocks are: hashed by that length when their trie
  // would be large, shorter and longer prefixes around them.
  const blockHeavy = fc
    .tuple(lengthOf(family), fc.array(entry, { minLength: 9, maxLength: 300 }), fc.array(entry, { maxLength: 8 }))
    .chain(([bits, blocks, others]) =>
      fc.shuffledSubarray([...blocks.map((e) => ({ ...e, bits })), ...others], { minLength: blocks.length + others.length }),
    );
  const entries = fc.oneof(
    fc.array(entry, { maxLength: 20 }),
    fc.array(entry, { maxLength: 300, size: 'max' }),
    fc.array(entry, { maxLength: 2000, size: 'max' }),
    hostHeavy,
    blockHeavy,
  );
  return fc.tuple(fc.array(addrOf(family), { minLength: 1, maxLength: 6 }), entries).map(([roots, es]) =>
    es.map(
      (e, i): LpmEntry => ({ prefix: Prefix.of(mix(roots[e.root % roots.length], e.noise, e.keep), e.bits), value: i }),
    ),
  );
};

/** Addresses mostly inside some entry's prefix, at its edges, or just outside it; some anywhere. */
const queriesOf = (family: Family) =>
  fc.array(
    fc.record({ kind: fc.integer({ min: 0, max: 5 }), entry: fc.nat(), noise: addrOf(family) }),
    { minLength: 1, maxLength: 100 },
  );
const resolve = (entries: readonly LpmEntry[], q: { kind: number; entry: number; noise: Addr }): Addr => {
  if (entries.length === 0 || q.kind === 0) return q.noise;
  const p = entries[q.entry % entries.length].prefix;
  const inside = mix(p.addr, q.noise, p.bits);
  switch (q.kind) {
    case 1:
      return p.first();
    case 2:
      return p.last();
    case 3:
      return p.bits === 0 ? inside : flip(inside, p.bits - 1);
    default:
      return inside;
  }
};

const show = (es: readonly LpmEntry[]) => es.map((e) => `${e.prefix}=${e.value}`);

for (const family of [4, 6] as const) {
  test(`IPv${family}: the compiled table agrees with the linear reference`, () => {
    fc.assert(
      fc.property(tableOf(family), queriesOf(family), (entries, queries) => {
        const fast = new Lpm(family, entries);
        const slow = new LinearLpm(family, entries);
        assert.equal(fast.size, slow.size);
        for (const q of queries) {
          const a = resolve(entries, q);
          const expected = slow.lookup(a);
          assert.equal(fast.lookup(a), expected, `lookup ${a}`);
          if (family === 4) assert.equal(fast.lookup4(a.w0), expected);
          else assert.equal(fast.lookup6(a.w0, a.w1, a.w2, a.w3), expected);
          assert.deepEqual(show(fast.matches(a)), show(slow.matches(a)), `matches ${a}`);
        }
      }),
      { numRuns: 150 },
    );
  });
}

for (const family of [4, 6] as const) {
  test(`IPv${family}: tables packed into one LpmSet answer as each table alone`, () => {
    fc.assert(
      fc.property(fc.array(tableOf(family), { minLength: 1, maxLength: 6 }), queriesOf(family), (tables, queries) => {
        const lpms = tables.map((entries) => new Lpm(family, entries));
        const set = Lpm.pack(lpms);
        for (const q of queries) {
          for (const [i, entries] of tables.entries()) {
            const a = resolve(entries, q);
            const got = family === 4 ? set.lookup4(i, a.w0) : set.lookup6(i, a.w0, a.w1, a.w2, a.w3);
            assert.equal(got, lpms[i]!.lookup(a), `table ${i}, ${a}`);
          }
        }
      }),
      { numRuns: 60 },
    );
  });
}

/**
 * Each explicit case runs on four tables: the routes alone, small enough to be scanned; the routes plus prefixes in
 * documentation ranges (192.0.2.0/24 and 198.51.100.0/22, 2001:db8::/32) that no case looks up: host routes, enough to
 * make it a host table; as many prefixes of one length (/28, /48), hashed by it as Calico's blocks are; and prefixes of
 * ten lengths, which makes it a trie.
 */
const tables = (family: Family, routes: [string, number][]) => {
  const hosts = Array.from({ length: 9 }, (_, i): [string, number] => [family === 4 ? `192.0.2.${i}` : `2001:db8::${i}`, 100]);
  const blocks = Array.from({ length: 9 }, (_, i): [string, number] => [
    family === 4 ? `192.0.2.${16 * i}/28` : `2001:db8:${i}::/48`,
    100,
  ]);
  const nested = Array.from({ length: 10 }, (_, i): [string, number] => [
    family === 4 ? `198.51.100.0/${22 + i}` : `2001:db8::/${40 + i}`,
    100,
  ]);
  return [routes, [...hosts, ...routes], [...blocks, ...routes], [...nested, ...routes]].map(
    (rs) => new Lpm(family, rs.map(([dst, value]) => ({ prefix: Prefix.parseRouteDst(dst, family), value }))),
  );
};
const check = (family: Family, routes: [string, number][], cases: [string, number][]) => {
  for (const t of tables(family, routes)) {
    for (const [a, value] of cases) assert.equal(t.lookup(Addr.parse(a)), value, a);
  }
};
const checkMatches = (family: Family, routes: [string, number][], a: string, expected: string[]) => {
  for (const t of tables(family, routes)) assert.deepEqual(show(t.matches(Addr.parse(a))), expected);
};

test('an empty table matches nothing', () => {
  const t = new Lpm(4, []);
  for (const a of ['0.0.0.0', '10.1.1.1', '255.255.255.255']) assert.equal(t.lookup(Addr.parse(a)), -1);
  assert.deepEqual(t.matches(Addr.parse('10.1.1.1')), []);
  assert.equal(t.size, 0);
  check(4, [], [['10.1.1.1', -1]]);
  check(6, [], [['fd00::1', -1]]);
});

test('a default route alone matches everything', () => {
  check(4, [['default', 7]], [['0.0.0.0', 7], ['10.1.1.1', 7], ['255.255.255.255', 7]]);
  check(6, [['default', 3]], [['::', 3], ['fd00::1', 3], ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 3]]);
});

test('/24 beats default /0, and matches explains why', () => {
  const routes: [string, number][] = [['default', 0], ['10.1.2.0/24', 1]];
  check(4, routes, [['10.1.2.2', 1], ['10.1.3.2', 0]]);
  checkMatches(4, routes, '10.1.2.2', ['10.1.2.0/24=1', '0.0.0.0/0=0']);
  checkMatches(4, routes, '10.1.3.2', ['0.0.0.0/0=0']);
});

test('a /32 beats the blackhole /26 around it', () => {
  // Calico: a blackhole for the node's own IPAM block, and a /32 per local pod.
  const routes: [string, number][] = [['10.244.1.0/26', 0], ['10.244.1.5', 1], ['default', 2]];
  check(4, routes, [['10.244.1.5', 1], ['10.244.1.6', 0], ['10.244.1.63', 0], ['10.244.1.64', 2]]);
  checkMatches(4, routes, '10.244.1.5', ['10.244.1.5/32=1', '10.244.1.0/26=0', '0.0.0.0/0=2']);
});

test('nested /7, /8, /9: each boundary', () => {
  check(4, [['10.0.0.0/9', 9], ['10.0.0.0/7', 7], ['10.0.0.0/8', 8]], [
    ['9.255.255.255', -1],
    ['10.0.0.0', 9],
    ['10.127.255.255', 9],
    ['10.128.0.0', 8],
    ['10.255.255.255', 8],
    ['11.0.0.0', 7],
    ['11.255.255.255', 7],
    ['12.0.0.0', -1],
  ]);
  check(6, [['fd00::/65', 65], ['fd00::/63', 63], ['fd00::/64', 64]], [
    ['fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', -1],
    ['fd00::', 65],
    ['fd00::7fff:ffff:ffff:ffff', 65],
    ['fd00::8000:0:0:0', 64],
    ['fd00::ffff:ffff:ffff:ffff', 64],
    ['fd00:0:0:1::', 63],
    ['fd00:0:0:1:ffff:ffff:ffff:ffff', 63],
    ['fd00:0:0:2::', -1],
  ]);
});

test('host routes: /32 and /128', () => {
  check(4, [['10.1.1.5', 1], ['10.1.1.0/24', 0]], [['10.1.1.5', 1], ['10.1.1.4', 0], ['10.1.1.6', 0]]);
  check(6, [['fd00::5', 1], ['fd00::/64', 0]], [['fd00::5', 1], ['fd00::4', 0], ['fd00::6', 0], ['fd01::5', -1]]);
});

test('for a prefix given twice, the last value wins', () => {
  const routes: [string, number][] = [['10.0.0.0/8', 1], ['10.0.0.0/8', 2], ['default', 3], ['0.0.0.0/0', 4]];
  check(4, routes, [['10.1.1.1', 2], ['11.1.1.1', 4]]);
  checkMatches(4, routes, '10.1.1.1', ['10.0.0.0/8=2', '0.0.0.0/0=4']);
  assert.deepEqual(tables(4, routes).map((t) => t.size), [2, 11, 11, 12]);
});

test('the other family matches nothing', () => {
  for (const t of tables(4, [['default', 0]])) {
    assert.equal(t.lookup(Addr.parse('::1')), -1);
    assert.deepEqual(t.matches(Addr.parse('::1')), []);
  }
  for (const t of tables(6, [['default', 0]])) assert.equal(t.lookup(Addr.parse('10.0.0.1')), -1);
});

test('entries are validated', () => {
  const p = Prefix.parse('10.0.0.0/8');
  assert.throws(() => new Lpm(6, [{ prefix: p, value: 0 }]), /10\.0\.0\.0\/8 in an IPv6 table/);
  assert.throws(() => new LinearLpm(6, [{ prefix: p, value: 0 }]), /in an IPv6 table/);
  for (const value of [-1, 1.5, 2 ** 31 - 1, NaN]) {
    assert.throws(() => new Lpm(4, [{ prefix: p, value }]), RangeError, String(value));
  }
  check(4, [['10.0.0.0/8', 2 ** 31 - 2]], [['10.0.0.1', 2 ** 31 - 2]]);
});

test('byteLength: a few words per prefix when scanned or hashed, 1 KiB per node when a trie', () => {
  const [small, hosts, blocks, trie] = tables(4, [['10.1.1.5', 0], ['10.1.1.0/24', 1], ['10.2.0.0/16', 2]]);
  assert.equal(small.byteLength, 3 * 3 * 4);
  // A header of 4 ints, the /24 and the /16 in 4 ints each, and 32 slots of 2 ints for the 10 host routes.
  assert.equal(hosts.byteLength, (4 + 2 * 4 + 32 * 2) * 4);
  // Hashed by /28 (a trie would take 4 KiB for them): a header of 4 ints, the /32, /24 and /16 in 4 ints each, and
  // 32 slots of 2 ints for the 9 /28s.
  assert.equal(blocks.byteLength, (4 + 3 * 4 + 32 * 2) * 4);
  // The root; nodes for 198, 198.51 and 198.51.100; nodes for 10, 10.1 and 10.1.1, which the /24 and the /16 share.
  assert.equal(trie.byteLength, 7 * 1024);
  assert.equal(tables(6, [['fd00::/64', 0]])[0].byteLength, 9 * 4);
});

test('a host table holds at most 1,024 host routes; a larger table of them is a trie', () => {
  const hosts = (n: number) =>
    new Lpm(4, [
      { prefix: Prefix.parse('0.0.0.0/0'), value: 0 },
      ...Array.from({ length: n }, (_, i) => ({ prefix: Prefix.of(Addr.v4(0x0a000000 + i), 32), value: i + 1 })),
    ]);
  // A header, the default route's 4 ints, and 2,048 slots of 2 ints.
  assert.equal(hosts(1024).byteLength, (4 + 4 + 2048 * 2) * 4);
  // The root, nodes for 10 and 10.0, and one per /24 the addresses reach (10.0.0-4).
  assert.equal(hosts(1025).byteLength, 8 * 1024);
  for (const n of [1024, 1025]) {
    const t = hosts(n);
    assert.equal(t.lookup(Addr.parse('10.0.0.0')), 1);
    assert.equal(t.lookup(Addr.v4(0x0a000000 + n - 1)), n);
    assert.equal(t.lookup(Addr.v4(0x0a000000 + n)), 0);
  }
});
