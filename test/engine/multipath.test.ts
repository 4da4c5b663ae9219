// The multipath hash and hash-threshold selection against the kernel's own answers (known-answer vectors recorded by
// test/kernel/multipath.test.ts on Linux 6.18), and against what fib_rebalance computes for the slices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Addr } from '../../src/engine/addr.js';
import { ecmpLookups, hashedBranch, IP_PROTOCOL, multipathHash, selectNexthop, upperBounds } from '../../src/engine/multipath.js';
import { compileTopology } from '../../src/engine/topology.js';
import { readVectors, type Vector } from '../fixtures/multipath/vectors.js';
import { generate } from '../kernel/generate.js';

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

test('selection: the first next hop whose upper bound is not below the hash; a next hop giving the source wins', () => {
  assert.equal(selectNexthop(weights(1, 1), 0), 0);
  assert.equal(selectNexthop(weights(1, 1), HALF - 1), 0);
  assert.equal(selectNexthop(weights(1, 1), HALF), 1);
  assert.equal(selectNexthop(weights(1, 1), ALL - 1), 1);
  assert.equal(selectNexthop(weights(1, 3), HALF / 2 - 1), 0);
  assert.equal(selectNexthop(weights(1, 3), HALF / 2), 1);
  // fib_select_multipath: a next hop whose source is the packet's beats the hash's; among several, the hash decides.
  assert.equal(selectNexthop(weights(1, 1, 1), 0, 0b100), 2);
  assert.equal(selectNexthop(weights(1, 1, 1), ALL - 1, 0b011), 0);
  assert.equal(selectNexthop(weights(1, 1, 1), HALF + HALF / 2, 0b110), 2);
});

const file = readVectors('linux-6.18.json');

function kernelCase(v: Vector): string {
  return `seed ${v.seed} ${v.policy} ${v.lookup} ${v.src} → ${v.dst} tcp ${v.srcPort} → ${v.dstPort} over ${v.weights.join(':')}`;
}

function engineNexthop(v: Vector): number {
  const src = a(v.src);
  const hash = multipathHash(v.seed, v.policy, src, a(v.dst), { protocol: IP_PROTOCOL[v.protocol], srcPort: v.srcPort, dstPort: v.dstPort });
  let preferred = 0;
  v.nexthopSources?.forEach((s, i) => {
    if (a(s).equals(src)) preferred |= 1 << i;
  });
  return selectNexthop(weights(...v.weights), hash, preferred);
}

test(`the kernel's answers (${file.vectors.length} lookups on Linux ${file.kernel}): both policies, both families, sent and forwarded`, () => {
  const kinds = new Set(file.vectors.map((v) => `${v.policy} IPv${a(v.dst).family} ${v.lookup} ${v.weights.length}`));
  // Every combination the vectors claim to cover is there: 2 policies × 2 families × 2 lookups × 2, 3, 4 next hops.
  assert.equal(kinds.size, 24);
  assert.ok(file.vectors.some((v) => v.nexthopSources?.includes(v.src)), 'a lookup sent from a next hop source');
  const wrong = file.vectors.filter((v) => engineNexthop(v) !== v.nexthop).map(kernelCase);
  assert.deepEqual(wrong, []);
});

test('both directions of a connection hash alike (the kernel sorts addresses and ports first)', () => {
  for (const v of file.vectors.slice(0, 50)) {
    const keys = { protocol: 6, srcPort: v.srcPort, dstPort: v.dstPort };
    const back = { protocol: 6, srcPort: v.dstPort, dstPort: v.srcPort };
    assert.equal(multipathHash(v.seed, v.policy, a(v.src), a(v.dst), keys), multipathHash(v.seed, v.policy, a(v.dst), a(v.src), back), kernelCase(v));
  }
});

test('policy l3 ignores the ports (and in IPv4 the protocol); l4 and IPv6 l3 read the protocol', () => {
  const [s4, d4, s6, d6] = [a('10.1.1.2'), a('10.9.0.1'), a('fd00::2'), a('fd09::1')];
  const tcp = { protocol: 6, srcPort: 40000, dstPort: 443 };
  const udp = { protocol: 17, srcPort: 1, dstPort: 2 };
  assert.equal(multipathHash(7, 'l3', s4, d4, tcp), multipathHash(7, 'l3', s4, d4, udp));
  assert.notEqual(multipathHash(7, 'l4', s4, d4, tcp), multipathHash(7, 'l4', s4, d4, { ...tcp, srcPort: 40001 }));
  assert.notEqual(multipathHash(7, 'l3', s6, d6, tcp), multipathHash(7, 'l3', s6, d6, { ...tcp, protocol: 17 }));
  assert.equal(multipathHash(7, 'l3', s6, d6, tcp), multipathHash(7, 'l3', s6, d6, { ...tcp, srcPort: 1 }));
  // The seed is the key: another seed, another hash.
  assert.notEqual(multipathHash(7, 'l3', s4, d4, tcp), multipathHash(8, 'l3', s4, d4, tcp));
});

// Which lookups the kernel's branch can be named at, on topologies of the kernel suite (whose next hops
// test/kernel/conformance.test.ts checks against the kernel): seed 1 is Cilium native routing, dual-stack, with node-0
// routing node-2's pod CIDRs over two next hops; seed 5 Calico VXLAN with node-1 routing node-0's own address (the
// tunnel's underlay) over four.
function branchOf(seed: number, from: string, to: string, family: 4 | 6, sysctls: { seed?: number; policy?: 0 | 1 }, keys = { protocol: 6, srcPort: 40000, dstPort: 443 }) {
  const g = generate(seed);
  for (const ns of g.fabric.netns) {
    if (ns.kind !== 'node') continue;
    if (sysctls.seed === undefined) delete ns.multipathHashSeed;
    else ns.multipathHashSeed = sysctls.seed;
    ns.multipathHashPolicy = sysctls.policy ?? 0;
  }
  const c = compileTopology({ form: 'fabric', fabric: g.fabric });
  const t = c.trace(c.resolve(from, 'source'), c.resolve(to, 'destination'), 64, family);
  const hashed = hashedBranch(t, keys)!;
  const lookups = ecmpLookups(t.paths[0]!.hops).map((l) => `${l.netns.name} ${l.route.prefix} ${l.output ? 'sent' : `iif ${l.iif!.name}`}${l.outer ? ` outer ${l.outer.protocol}` : ''}`);
  return { t, hashed, lookups, reason: hashed.unknown?.reason };
}

test('forwarded IPv4 under policy 0 is named; IPv6 forwarded hashes a flow label, policy 1 a hash the packet brings', () => {
  const v4 = branchOf(1, 'default/p0-0', 'default/p2-0', 4, { seed: 77 });
  assert.deepEqual(v4.lookups, ['node-0 10.1.2.0/24 iif ' + v4.lookups[0]!.split(' iif ')[1]]);
  assert.equal(v4.reason, undefined);
  assert.equal(v4.t.paths[v4.hashed.path!]!.choices[0], v4.hashed.decisions[0]!.nexthop);
  assert.equal(branchOf(1, 'default/p0-0', 'default/p2-0', 6, { seed: 77 }).reason, 'flow-label');
  assert.equal(branchOf(1, 'default/p0-0', 'default/p2-0', 4, { seed: 77, policy: 1 }).reason, 'receive-hash');
  assert.equal(branchOf(1, 'default/p0-0', 'default/p2-0', 4, {}).reason, 'seed');
  // node-0 itself sending: an output lookup, named under either policy, in either family (a branch that comes back to
  // node-0 is forwarded there, and may be unknown).
  for (const policy of [0, 1] as const) {
    for (const family of [4, 6] as const) {
      const sent = branchOf(1, 'node-0', 'default/p2-0', family, { seed: 77, policy });
      assert.match(sent.lookups[0]!, / sent$/);
      assert.equal(sent.hashed.decisions[0]?.netns.name, 'node-0', `policy ${policy} IPv${family}`);
    }
  }
  assert.equal(branchOf(1, 'node-0', 'default/p2-0', 4, { seed: 77, policy: 1 }, { protocol: 1, srcPort: 0, dstPort: 0 }).reason, 'ports');
});

test("behind a VXLAN tunnel the outer packet's lookup is named under policy 0; under policy 1 its source port is unknown", () => {
  const l3 = branchOf(5, 'node-1', 'default/p0-0', 4, { seed: 77 });
  assert.deepEqual(l3.lookups, ['node-1 192.168.0.11/32 sent outer udp']);
  assert.equal(l3.t.paths.length, 4);
  assert.equal(l3.reason, undefined);
  assert.equal(l3.t.paths[l3.hashed.path!]!.choices[0], l3.hashed.decisions[0]!.nexthop);
  assert.equal(branchOf(5, 'node-1', 'default/p0-0', 4, { seed: 77, policy: 1 }).reason, 'tunnel-source-port');
});
