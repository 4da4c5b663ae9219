// The exact-match address table against a Map of address strings, on clustered and scattered addresses of both families.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Addr } from '../../src/engine/addr.js';
import { AddressMap } from '../../src/engine/address-map.js';

const u32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
/** Addresses that share long prefixes (as neighbour entries of one cluster do) as well as scattered ones. */
const addr = fc.oneof(
  u32.map((w) => Addr.v4(w)),
  fc.integer({ min: 0, max: 255 }).map((b) => Addr.v4(0x0a000000 + b * 256)),
  fc.tuple(u32, u32, u32, u32).map(([a, b, c, d]) => Addr.v6(a, b, c, d)),
  fc.integer({ min: 0, max: 255 }).map((b) => Addr.v6(0xfd000000, 0, 0, b)),
);

test('AddressMap finds every key with its last value, and nothing else', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(addr, fc.nat()), { maxLength: 300 }), fc.array(addr, { maxLength: 50 }), (entries, probes) => {
      const map = new AddressMap(entries.map(([a, value]) => ({ addr: a, value })));
      const expected = new Map(entries.map(([a, v]) => [a.toString(), v]));
      for (const a of [...entries.map(([k]) => k), ...probes]) {
        assert.equal(map.get(a.family, a.w0, a.w1, a.w2, a.w3), expected.get(a.toString()) ?? -1, a.toString());
      }
    }),
  );
});
