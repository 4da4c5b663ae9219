// ECMP through the API: every branch traced, the worst one reported, and the branch Linux's hash-threshold selection
// gives the flow under policy l3 or l4, marked as a model.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, type TestApp } from '../../helpers/app.js';
import { resetDb } from '../../helpers/db.js';
import { Addr } from '../../../src/engine/addr.js';
import { flowHash, selectNexthop } from '../../../src/engine/multipath.js';
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
before(async () => {
  t = await openTestApp();
  await resetDb(t.db);
  const res = await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: { name: 'ecmp', fabric } });
  assert.equal(res.statusCode, 201, res.body);
});
after(() => t.close());

const trace = (query: string) => t.app.inject(`/v1/topologies/ecmp/trace?from=pod-a1&to=10.9.0.1${query}`);
/** The branch hash-threshold gives a flow over node-a's two equal next hops. */
const branch = (l4?: { srcPort: number; dstPort: number }) =>
  selectNexthop([{ weight: 1 }, { weight: 1 }], flowHash(Addr.parse('10.1.1.2'), Addr.parse('10.9.0.1'), l4 && { protocol: 'tcp', ...l4 }));
const decision = (nexthop: number) => ({ netns: 'node-a', dst: '10.9.0.0/24', nexthop, gateway: nexthop === 0 ? '192.168.0.12' : '192.168.0.13', dev: 'eth0' });

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

  const pick = branch();
  assert.deepEqual(body.ecmp, {
    policy: 'l3',
    path: pick,
    decisions: [decision(pick)],
    model: true,
    note: body.ecmp.note,
  });
  assert.match(body.ecmp.note, /secret/);
  assert.match(body.ecmp.note, /not a promise/);
  // Every path reports its MTU; the top level is the worst path's.
  assert.deepEqual(body.mtu, { smallest: 1500, netns: 'pod-a1', link: 'eth0' });
  assert.ok(body.paths.every((p: { mtu?: unknown }) => p.mtu !== undefined));
});

test('with protocol, srcPort and dstPort the hash is policy l4, and the ports move flows between the branches', async () => {
  const picks = new Set<number>();
  for (let srcPort = 40000; srcPort < 40016; srcPort++) {
    const body = (await trace(`&protocol=tcp&srcPort=${srcPort}&dstPort=443`)).json();
    assert.equal(body.disposition, 'BLACKHOLED');
    assert.equal(body.ecmp.policy, 'l4');
    assert.equal(body.ecmp.path, branch({ srcPort, dstPort: 443 }));
    assert.deepEqual(body.ecmp.decisions, [decision(body.ecmp.path)]);
    assert.deepEqual(body.flow, { src: '10.1.1.2', dst: '10.9.0.1', protocol: 'tcp', srcPort, dstPort: 443, ttl: 64 });
    picks.add(body.ecmp.path);
  }
  assert.deepEqual([...picks].sort(), [0, 1]);
  // Without the source port the transport fields are incomplete: policy l3, whatever the destination port.
  assert.equal((await trace('&protocol=tcp&dstPort=443')).json().ecmp.policy, 'l3');
  assert.equal((await trace('&protocol=udp&port=53')).json().ecmp.path, branch());
});

test('a trace without ECMP has no ecmp member; the text form names the worst path and the modelled branch', async () => {
  const plain = (await t.app.inject('/v1/topologies/ecmp/trace?from=pod-a1&to=node-b')).json();
  assert.equal(plain.ecmp, undefined);
  assert.equal(plain.paths, undefined);
  const text = (await trace('&format=text')).body;
  assert.match(text, /^\(2 ECMP paths; the worst is shown: DELIVERED, BLACKHOLED\)$/m);
  assert.match(text, new RegExp(`^\\(ECMP model, l3 hash .*: this flow takes path ${branch() + 1}\\)$`, 'm'));
});

test('the batch answers each flow with its own ECMP verdict', async () => {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/topologies/ecmp/traces',
    payload: { flows: [{ from: 'pod-a1', to: '10.9.0.1', protocol: 'tcp', srcPort: 40001, dstPort: 443 }, { from: 'pod-a1', to: 'node-b' }] },
  });
  assert.equal(res.statusCode, 200, res.body);
  const [ecmp, plain] = res.json().traces;
  assert.equal(ecmp.trace.disposition, 'BLACKHOLED');
  assert.equal(ecmp.trace.ecmp.policy, 'l4');
  assert.equal(ecmp.trace.ecmp.path, branch({ srcPort: 40001, dstPort: 443 }));
  assert.equal(plain.trace.disposition, 'DELIVERED');
  assert.deepEqual(res.json().count.byDisposition, { BLACKHOLED: 1, DELIVERED: 1 });
});
