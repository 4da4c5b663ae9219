import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Addr, AddrError } from '../../src/engine/addr.js';

// BigInt is the naive model the tests check word arithmetic against; the engine itself never uses it.
const big = (a: Addr) =>
  a.family === 4 ? BigInt(a.w0) : [a.w0, a.w1, a.w2, a.w3].reduce((acc, w) => (acc << 32n) | BigInt(w), 0n);

const word = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.constantFrom(0, 1, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff),
);
const addr4 = word.map((w) => Addr.v4(w));
const addr6 = fc.tuple(word, word, word, word).map(([a, b, c, d]) => Addr.v6(a, b, c, d));
const addr = fc.oneof(addr4, addr6);

test('parses valid addresses to canonical text', () => {
  const cases: [string, string][] = [
    ['0.0.0.0', '0.0.0.0'],
    ['10.1.1.5', '10.1.1.5'],
    ['255.255.255.255', '255.255.255.255'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['fd00::', 'fd00::'],
    ['FE80::A', 'fe80::a'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::FFFF:0102:0304', '::ffff:1.2.3.4'],
    ['::1.2.3.4', '::102:304'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
  ];
  for (const [input, canonical] of cases) {
    assert.equal(Addr.parse(input).toString(), canonical, input);
    assert.equal(Addr.tryParse(input)?.toString(), canonical, input);
  }
});

test('rejects malformed addresses, naming the input', () => {
  const cases: [string, RegExp][] = [
    ['', /empty string/],
    ['010.1.1.1', /leading zero/],
    ['1.2.3.04', /leading zero/],
    ['00.1.1.1', /leading zero/],
    ['256.1.1.1', /greater than 255/],
    ['1.2.3.1000', /greater than 255/],
    ['1.2.3', /4 octets/],
    ['1.2.3.4.5', /more than 4/],
    ['1.2.3.4.', /empty IPv4 octet/],
    ['.1.2.3', /empty IPv4 octet/],
    ['1..2.3', /empty IPv4 octet/],
    ['1.2.3.-4', /unexpected character/],
    [' 1.2.3.4', /unexpected character/],
    ['1.2.3.4 ', /unexpected character/],
    ['0x1.2.3.4', /unexpected character/],
    ['1.2.3.4/24', /unexpected character/],
    ['fe80::1%eth0', /zones/],
    [':', /leading ":"/],
    [':::', /unexpected character ":"/],
    [':1::2', /leading ":"/],
    ['1::2:', /trailing ":"/],
    ['1:2:3:4:5:6:7', /fewer than 8 groups/],
    ['1:2:3:4:5:6:7:8:9', /more than 8 groups/],
    ['1:2:3:4:5:6:7:8::', /"::" with 8 groups/],
    ['::1:2:3:4:5:6:7:8', /"::" with 8 groups/],
    ['1::2::3', /more than one "::"/],
    ['12345::', /more than 4 hex digits/],
    ['g::', /unexpected character "g"/],
    ['::ffff:1.2.3', /embedded IPv4: an IPv4 address has 4 octets/],
    ['::ffff:01.2.3.4', /embedded IPv4: IPv4 octet with a leading zero/],
    ['::1.2.3.4:1', /embedded IPv4/],
    ['1:2:3:4:5:6:7:1.2.3.4', /no room for an embedded IPv4/],
    ['1.2.3.4::', /unexpected character/],
  ];
  for (const [input, reason] of cases) {
    assert.equal(Addr.tryParse(input), undefined, input);
    assert.throws(
      () => Addr.parse(input),
      (e: unknown) => e instanceof AddrError && e.message.includes(JSON.stringify(input)) && reason.test(e.message),
      input,
    );
  }
});

test('formats IPv6 as RFC 5952 says', () => {
  const cases: [string, string][] = [
    // 4.1: no leading zeros. 4.3: lowercase.
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
    ['2001:DB8::ABCD', '2001:db8::abcd'],
    // 4.2.2: a single zero group is not compressed.
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    // 4.2.1: compress as much as possible.
    ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
    // 4.2.3: the longest run wins; on a tie the first one.
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['0:0:1:0:0:1:0:0', '::1:0:0:1:0:0'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['0:0:0:0:0:0:0:0', '::'],
  ];
  for (const [input, canonical] of cases) assert.equal(Addr.parse(input).toString(), canonical);
});

test('toString then parse is the identity', () => {
  fc.assert(
    fc.property(addr, (a) => {
      assert.ok(Addr.parse(a.toString()).equals(a));
    }),
    { numRuns: 2000 },
  );
});

test('IPv6 text agrees with the WHATWG URL serializer, which also compresses per RFC 5952', () => {
  fc.assert(
    fc.property(addr6, (a) => {
      fc.pre(!(a.w0 === 0 && a.w1 === 0 && a.w2 === 0xffff)); // URL prints IPv4-mapped addresses in hex
      assert.equal(`[${a}]`, new URL(`http://[${a}]/`).hostname);
    }),
    { numRuns: 2000 },
  );
});

test('words, bits and family', () => {
  const a = Addr.parse('10.1.2.3');
  assert.deepEqual([a.family, a.bits, a.w0, a.w1, a.w2, a.w3], [4, 32, 0x0a010203, 0, 0, 0]);
  const b = Addr.parse('2001:db8::1:2');
  assert.deepEqual([b.family, b.bits], [6, 128]);
  assert.deepEqual([0, 1, 2, 3].map((i) => b.word(i)), [0x20010db8, 0, 0, 0x00010002]);
  assert.throws(() => b.word(4), RangeError);
  assert.equal(JSON.stringify({ a, b }), '{"a":"10.1.2.3","b":"2001:db8::1:2"}');
});

test('the factories reject values that are not uint32 words', () => {
  for (const n of [-1, 2 ** 32, 1.5, NaN, Infinity]) {
    assert.throws(() => Addr.v4(n), AddrError);
    assert.throws(() => Addr.v6(0, 0, n, 0), AddrError);
  }
  assert.equal(Addr.v4(0xffffffff).toString(), '255.255.255.255');
});

test('equals and compare agree with the numeric order, IPv4 first', () => {
  fc.assert(
    fc.property(addr, addr, (a, b) => {
      const numeric = big(a) < big(b) ? -1 : big(a) > big(b) ? 1 : 0;
      const expected = a.family === b.family ? numeric : Math.sign(a.family - b.family);
      assert.equal(a.compare(b), expected);
      assert.equal(a.equals(b), expected === 0);
      assert.ok(a.equals(Addr.parse(a.toString())));
    }),
  );
  // Same words, other family: not equal.
  assert.equal(Addr.v4(0).equals(Addr.v6(0, 0, 0, 0)), false);
  assert.equal(Addr.parse('255.255.255.255').compare(Addr.parse('::')), -1);
});

test('add steps like 128-bit arithmetic and refuses to leave the family', () => {
  const step = fc.oneof(
    fc.integer({ min: -300, max: 300 }),
    fc.maxSafeInteger(),
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: 0 }),
  );
  fc.assert(
    fc.property(addr, step, (a, n) => {
      const expected = big(a) + BigInt(n);
      const max = a.family === 4 ? 2n ** 32n : 2n ** 128n;
      if (expected < 0n || expected >= max) {
        assert.throws(() => a.add(n), (e: unknown) => e instanceof AddrError && /is outside IPv/.test(e.message));
      } else {
        const b = a.add(n);
        assert.equal(b.family, a.family);
        assert.equal(big(b), expected);
      }
    }),
    { numRuns: 2000 },
  );
  assert.equal(Addr.parse('10.1.1.255').add(1).toString(), '10.1.2.0');
  assert.equal(Addr.parse('::ffff:ffff').add(1).toString(), '::1:0:0');
  assert.equal(Addr.parse('::1:0:0:0').add(-1).toString(), '::ffff:255.255.255.255');
  assert.equal(Addr.parse('1::').add(-1).toString(), '0:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  assert.throws(() => Addr.parse('255.255.255.255').add(1), /255\.255\.255\.255 \+ 1 is outside IPv4/);
  assert.throws(() => Addr.parse('::').add(-1), /:: - 1 is outside IPv6/);
  assert.throws(() => Addr.parse('::').add(0.5), /not a safe integer/);
});
