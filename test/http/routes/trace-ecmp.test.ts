// ECMP through the API: every branch traced, the worst one reported, and the branch the kernel takes named where the
// netns's fib_multipath_hash_seed is known (the expected branches are the kernel's own answers, Linux 6.18: `ip route
// get 10.9.0.1 from 10.1.1.2 iif <pod veth>` and `ip route get 10.9.0.1 from 192.168.0.11 ipproto tcp sport … dport
// 443` in a netns built as node-a), and otherwise which unknown the branch depends on.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, type TestApp } from '../../helpers/app.js';
import { resetDb } from '../../helpers/db.js';
import type { FabricDoc } from '../../../src/topology/schema.js';

// pod-a1 ─ node-a ─ underlay ┬ node-b (owns 10.9.0.1 on svc0)
//                            └ node-c (blackhole 10.9.0.0/24)
// node-a routes 10.9.0.0/24 over both, weight 1 each.
const fabric: FabricDoc = {
  segments: [{ name: 'underlay', cidr: '192.168.0.0/24' }],
  netns: [
    {
      name: 'pod-a1',
      kind: 'pod',
      node: 'node-a',
      links: [{ name: 'eth0', kind: 'veth', addresses: ['10.1.1.2/24'], peer: { netns: 'node-a', link: 'veth-a1' } }],
      routes: [{ dst: 'default', gateway: '10.1.1.1', dev: 'eth0' }],
    },
    {
      name: 'node-a',
      kind: 'node',
      links: [
        { name: 'eth0', kind: 'physical', addresses: ['192.168.0.11/24'], segment: 'underlay' },
        { name: 'veth-a1', kind: 'veth', addresses: ['10.1.1.1/24'], peer: { netns: 'pod-a1', link: 'eth0' } },
      ],
      routes: [
        {
          dst: '10.9.0.0/24',
          nexthops: [
            { gateway: '192.168.0.12', dev: 'eth0', weight: 1 },
            { gateway: '192.168.0.13', dev: 'eth0', weight: 1 },
          ],
        },
      ],
    },
    {
      name: 'node-b',
      kind: 'node',
      links: [
        { name: 'eth0', kind: 'physical', addresses: ['192.168.0.12/24'], segment: 'underlay' },
        { name: 'svc0', kind: 'dummy', addresses: ['10.9.0.1/32'] },
      ],
      routes: [{ dst: '10.1.1.0/24', gateway: '192.168.0.11', dev: 'eth0' }],
    },
    {
      name: 'node-c',
      kind: 'node',
      links: [{ name: 'eth0', kind: 'physical', addresses: ['192.168.0.13/24'], segment: 'underlay' }],
      routes: [{ dst: '10.9.0.0/24', type: 'blackhole' }],
    },
  ],
};

let t: TestApp;
/** node-a's sysctls in each stored topology. */
const variants = {
  ecmp: {},
  'ecmp-s1': { multipathHashSeed: 1 },
  'ecmp-s2': { multipathHashSeed: 2 },
  'ecmp-l4': { multipathHashSeed: 1, multipathHashPolicy: 1 as const },
};
before(async () => {
  t = await openTestApp();
  await resetDb(t.db);
  for (const [name, sysctls] of Object.entries(variants)) {
    const doc = { ...fabric, netns: fabric.netns.map((ns) => (ns.name === 'node-a' ? { ...ns, ...sysctls } : ns)) };
    const res = await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: { name, fabric: doc } });
    assert.equal(res.statusCode, 201, res.body);
  }
});
after(() => t.close());

const trace = (query: string, topology = 'ecmp', from = 'pod-a1') => t.app.inject(`/v1/topologies/${topology}/trace?from=${from}&to=10.9.0.1${query}`);
const decision = (nexthop: number, policy = 'l3') => ({
  netns: 'node-a',
  dst: '10.9.0.0/24',
  policy,
  nexthop,
  gateway: nexthop === 0 ? '192.168.0.12' : '192.168.0.13',
  dev: 'eth0',
});

test('one branch delivers, the other is blackholed: the answer is the worst, every path is listed', async () => {
  const res = await trace('');
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.equal(body.disposition, 'BLACKHOLED');
  assert.deepEqual(
    body.paths.map((p: { disposition: string; choices: number[] }) => [p.disposition, p.choices]),
    [
      ['DELIVERED', [0]],
      ['BLACKHOLED', [1]],
    ],
  );
  // The top level is the blackholed path, hop for hop.
  assert.deepEqual(body.hops, body.paths[1].hops);
  assert.deepEqual(body.hops.map((h: { netns: string }) => h.netns), ['pod-a1', 'node-a', 'node-c']);
  assert.match(body.summary, /^BLACKHOLED at node-c: pod-a1 \(10\.1\.1\.2\) → 10\.9\.0\.1 via pod-a1 → node-a → node-c: /);
  assert.match(body.summary, /\(ECMP: 1 of 2 paths deliver; the worst, path 2, is shown; outcomes: DELIVERED, BLACKHOLED\)$/);
  // Every path reports its MTU; the top level is the worst path's.
  assert.deepEqual(body.mtu, { smallest: 1500, netns: 'pod-a1', link: 'eth0' });
  assert.ok(body.paths.every((p: { mtu?: unknown }) => p.mtu !== undefined));
});

test('a list cut to one path still answers the worst of both, and counts both', async () => {
  const body = (await trace('&paths=1')).json();
  assert.equal(body.disposition, 'BLACKHOLED');
  assert.deepEqual(body.hops.map((h: { netns: string }) => h.netns), ['pod-a1', 'node-a', 'node-c'], 'the worst path, though not listed');
  assert.deepEqual(
    body.paths.map((p: { disposition: string; choices: number[] }) => [p.disposition, p.choices]),
    [['DELIVERED', [0]]],
  );
  assert.equal(body.pathCount, 2);
  assert.equal(body.pathsOmitted, 1);
  assert.equal((await trace('&detail=summary')).json().disposition, 'BLACKHOLED');
});

test("without a seed the branch is node-a's per-boot secret: no branch is named, every one is listed", async () => {
  const body = (await trace('&protocol=tcp&srcPort=40000&dstPort=443')).json();
  const { note, ...ecmp } = body.ecmp;
  assert.deepEqual(ecmp, { kernel: false, path: null, decisions: [], unknown: { netns: 'node-a', dst: '10.9.0.0/24', policy: 'l3', reason: 'seed' } });
  assert.match(note, /^The branch at node-a \(10\.9\.0\.0\/24\) depends on .*secret drawn at boot.*multipathHashSeed.*every branch is traced in paths/);
  assert.match((await trace('&format=text')).body, /^\(ECMP: The branch at node-a .* drawn at boot/m);
});

test("with node-a's seed the answer names the kernel's branch: seed 1 delivers, seed 2 is blackholed", async () => {
  const s1 = (await trace('', 'ecmp-s1')).json();
  assert.deepEqual({ ...s1.ecmp, note: undefined }, { kernel: true, path: 0, decisions: [decision(0)], note: undefined });
  assert.match(s1.ecmp.note, /^The branch the kernel takes/);
  const s2 = (await trace('', 'ecmp-s2')).json();
  assert.deepEqual({ ...s2.ecmp, note: undefined }, { kernel: true, path: 1, decisions: [decision(1)], note: undefined });
  // Policy 0 hashes the addresses only: ports move no flow.
  for (const port of [1, 443, 65535]) assert.equal((await trace(`&protocol=udp&srcPort=${port}&dstPort=53`, 'ecmp-s2')).json().ecmp.path, 1);
  const text = (await trace('&format=text', 'ecmp-s2')).body;
  assert.match(text, /^\(2 ECMP paths; the worst is shown: DELIVERED, BLACKHOLED\)$/m);
  assert.match(text, /^\(ECMP: the kernel takes path 2\)$/m);
});

test('policy 1: node-a sending hashes its ports as the kernel does; forwarding, it takes the hash the packet came with', async () => {
  // The kernel's next hop for each source port 40000..40015 (seed 1, policy 1, from 192.168.0.11 to 10.9.0.1:443).
  const kernel = [0, 0, 1, 0, 0, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0];
  for (let i = 0; i < kernel.length; i++) {
    const body = (await trace(`&protocol=tcp&srcPort=${40000 + i}&dstPort=443`, 'ecmp-l4', 'node-a')).json();
    assert.equal(body.flow.src, '192.168.0.11');
    assert.equal(body.ecmp.path, kernel[i], `source port ${40000 + i}`);
    assert.deepEqual(body.ecmp.decisions, [decision(kernel[i]!, 'l4')]);
  }
  const noPort = (await trace('&protocol=tcp&dstPort=443', 'ecmp-l4', 'node-a')).json();
  assert.equal(noPort.ecmp.unknown.reason, 'ports');
  assert.equal(noPort.ecmp.path, null);
  const forwarded = (await trace('&protocol=tcp&srcPort=40000&dstPort=443', 'ecmp-l4')).json();
  assert.deepEqual(forwarded.ecmp.unknown, { netns: 'node-a', dst: '10.9.0.0/24', policy: 'l4', reason: 'receive-hash' });
});

test('a trace without ECMP has no ecmp member', async () => {
  const plain = (await t.app.inject('/v1/topologies/ecmp/trace?from=pod-a1&to=node-b')).json();
  assert.equal(plain.ecmp, undefined);
  assert.equal(plain.paths, undefined);
});

test('the batch answers each flow with its own ECMP verdict', async () => {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/topologies/ecmp-s2/traces',
    payload: { flows: [{ from: 'pod-a1', to: '10.9.0.1', protocol: 'tcp', srcPort: 40001, dstPort: 443 }, { from: 'pod-a1', to: 'node-b' }] },
  });
  assert.equal(res.statusCode, 200, res.body);
  const [ecmp, plain] = res.json().traces;
  assert.equal(ecmp.trace.disposition, 'BLACKHOLED');
  assert.equal(ecmp.trace.ecmp.kernel, true);
  assert.equal(ecmp.trace.ecmp.path, 1);
  assert.equal(plain.trace.disposition, 'DELIVERED');
  assert.deepEqual(res.json().count.byDisposition, { BLACKHOLED: 1, DELIVERED: 1 });
});
