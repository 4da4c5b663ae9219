import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Addr, AddrError } from '../../src/engine/addr.js';
import { IfAddr } from '../../src/engine/ifaddr.js';

test('parses interface addresses, keeping the host bits', () => {
  const cases: [string, string, number, string][] = [
    ['10.1.1.5/24', '10.1.1.5', 24, '10.1.1.0/24'],
    ['10.1.1.0/24', '10.1.1.0', 24, '10.1.1.0/24'],
    ['192.168.0.11/32', '192.168.0.11', 32, '192.168.0.11/32'],
    ['192.168.0.11', '192.168.0.11', 32, '192.168.0.11/32'],
    ['10.0.0.1/0', '10.0.0.1', 0, '0.0.0.0/0'],
    ['fd00::1/64', 'fd00::1', 64, 'fd00::/64'],
    ['FD00::A', 'fd00::a', 128, 'fd00::a/128'],
  ];
  for (const [input, addr, bits, prefix] of cases) {
    const i = IfAddr.parse(input);
    assert.equal(i.addr.toString(), addr, input);
    assert.equal(i.bits, bits, input);
    assert.equal(i.prefix.toString(), prefix, input);
    assert.equal(i.toString(), `${addr}/${bits}`);
    assert.ok(IfAddr.parse(i.toString()).equals(i));
  }
  assert.equal(JSON.stringify(IfAddr.parse('10.1.1.5/24')), '"10.1.1.5/24"');
});

test('rejects malformed interface addresses', () => {
  const cases: [string, RegExp][] = [
    ['', /invalid IP address ""/],
    ['10.1.1.5/33', /invalid interface address "10.1.1.5\/33": the length of an IPv4 prefix is 0..32/],
    ['10.1.1.5/', /invalid interface address "10.1.1.5\/": "" is not a prefix length/],
    ['10.1.1.5/024', /"024" is not a prefix length/],
    ['010.1.1.5/24', /leading zero/],
    ['fd00::1/129', /0..128/],
    ['fe80::1%eth0/64', /zones/],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => IfAddr.parse(input), (e: unknown) => e instanceof AddrError && message.test(e.message), input);
  }
});

test('of, equals, and the prefix always contains the address', () => {
  const word = fc.integer({ min: 0, max: 0xffffffff });
  const ifaddr = fc.oneof(
    fc.tuple(word, fc.integer({ min: 0, max: 32 })).map(([w, bits]) => IfAddr.of(Addr.v4(w), bits)),
    fc
      .tuple(word, word, word, word, fc.integer({ min: 0, max: 128 }))
      .map(([a, b, c, d, bits]) => IfAddr.of(Addr.v6(a, b, c, d), bits)),
  );
  fc.assert(
    fc.property(ifaddr, (i) => {
      assert.ok(i.prefix.contains(i.addr));
      assert.equal(i.prefix.bits, i.bits);
      assert.ok(IfAddr.parse(i.toString()).equals(i));
    }),
  );
  const a = IfAddr.parse('10.1.1.5/24');
  assert.equal(a.equals(IfAddr.parse('10.1.1.5/25')), false);
  assert.equal(a.equals(IfAddr.parse('10.1.1.6/24')), false);
  assert.throws(() => IfAddr.of(Addr.parse('10.1.1.5'), 40), AddrError);
});
