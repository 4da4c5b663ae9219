// Hash-threshold multipath selection against what fib_rebalance and fib_select_multipath compute, and the stand-in hash
// against the properties the model relies on: stable per flow, spread evenly, blind to ports under policy l3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Addr } from '../../src/engine/addr.js';
import { flowHash, selectNexthop, upperBounds } from '../../src/engine/multipath.js';

const HALF = 2 ** 30;
const ALL = 2 ** 31;
const weights = (...ws: number[]) => ws.map((weight) => ({ weight }));
const a = (s: string) => Addr.parse(s);

test('upper bounds: weights 1:1 split the 31-bit hash space in halves, 1:3 at a quarter, as nh_upper_bound', () => {
  assert.deepEqual(upperBounds(weights(1, 1)), [HALF - 1, ALL - 1]);
  assert.deepEqual(upperBounds(weights(1, 3)), [HALF / 2 - 1, ALL - 1]);
  // DIV_ROUND_CLOSEST: 2^31 / 3 = 715827882.67 and 2^32 / 3 = 1431655765.33 round to the nearest integer.
  assert.deepEqual(upperBounds(weights(1, 1, 1)), [715827882, 1431655764, ALL - 1]);
  assert.deepEqual(upperBounds(weights(7)), [ALL - 1]);
});

test('selection: the first next hop whose upper bound is not below the hash', () => {
  assert.equal(selectNexthop(weights(1, 1), 0), 0);
  assert.equal(selectNexthop(weights(1, 1), HALF - 1), 0);
  assert.equal(selectNexthop(weights(1, 1), HALF), 1);
  assert.equal(selectNexthop(weights(1, 1), ALL - 1), 1);
  assert.equal(selectNexthop(weights(1, 3), HALF / 2 - 1), 0);
  assert.equal(selectNexthop(weights(1, 3), HALF / 2), 1);
});

test('the hash is 31 bits, the same flow always hashes alike, and flows spread over the branches by weight', () => {
  const h = flowHash(a('10.1.1.2'), a('10.9.0.1'));
  assert.ok(Number.isInteger(h) && h >= 0 && h < ALL);
  assert.equal(flowHash(a('10.1.1.2'), a('10.9.0.1')), h);
  assert.notEqual(flowHash(a('10.9.0.1'), a('10.1.1.2')), h);
  const share = (ws: { weight: number }[], family: 4 | 6) => {
    let first = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const src = family === 4 ? Addr.v4(0x0a000000 + i) : Addr.v6(0xfd000000, 0, 0, i);
      if (selectNexthop(ws, flowHash(src, family === 4 ? a('10.9.0.1') : a('fd09::1'))) === 0) first++;
    }
    return first / n;
  };
  for (const family of [4, 6] as const) {
    assert.ok(Math.abs(share(weights(1, 1), family) - 0.5) < 0.02, `1:1 in IPv${family}`);
    assert.ok(Math.abs(share(weights(1, 3), family) - 0.25) < 0.02, `1:3 in IPv${family}`);
  }
});

test('policy l4 hashes the protocol and ports: different ports pick different branches; policy l3 ignores them', () => {
  const src = a('10.1.1.2');
  const dst = a('10.9.0.1');
  const l4 = (srcPort: number) => selectNexthop(weights(1, 1), flowHash(src, dst, { protocol: 'tcp', srcPort, dstPort: 443 }));
  const picks = new Set(Array.from({ length: 32 }, (_, i) => l4(40000 + i)));
  assert.deepEqual([...picks].sort(), [0, 1]);
  assert.equal(l4(40000), l4(40000));
  assert.notEqual(flowHash(src, dst, { protocol: 'tcp', srcPort: 40000, dstPort: 443 }), flowHash(src, dst, { protocol: 'udp', srcPort: 40000, dstPort: 443 }));
  // Under l3 the ports are not part of the hash at all: every connection between two addresses takes one branch.
  const l3 = selectNexthop(weights(1, 1), flowHash(src, dst));
  for (let i = 0; i < 32; i++) assert.equal(selectNexthop(weights(1, 1), flowHash(src, dst)), l3);
});
