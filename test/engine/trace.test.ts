// The tracer against what the Linux kernel does: exact hops, steps, routes and dispositions for the seed's cluster and for
// small fabric documents that each hold one fault. Every document goes through the semantic validator first, so a case
// can never pass because the engine tolerated a document the API would refuse.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { compileTopology, type CompiledTopology } from '../../src/engine/topology.js';
import { explain } from '../../src/answer/explain.js';
import type { AnyStep, ExplainedPathView, ExplanationView } from '../helpers/explained.js';
import { checkTopology } from '../../src/topology/validate.js';
import type { ClusterDoc, FabricDoc, LinkDoc, NetnsDoc, RouteDoc } from '../../src/topology/schema.js';
import { example } from '../helpers/examples.js';

// ---- helpers ----

function cluster(doc: ClusterDoc): CompiledTopology {
  return compileTopology(checkTopology({ cluster: doc }));
}

function fabric(doc: FabricDoc): CompiledTopology {
  return compileTopology(checkTopology({ fabric: doc }));
}

/** Traces and explains, and checks what every report must satisfy whatever the case. */
function run(c: CompiledTopology, from: string, to: string, ttl?: number): ExplanationView {
  const src = c.resolve(from, 'source');
  const dst = c.resolve(to, 'destination');
  const report = explain(c.fabric, c.trace(src, dst, ttl), { from: src.name, to: dst.name });
  for (const p of [report, ...(report.paths ?? [])]) assertWellExplained(p);
  return report;
}

function assertWellExplained(p: ExplainedPathView) {
  for (const hop of p.hops) {
    for (const s of hop.steps) {
      assert.equal(typeof s.explanation, 'string', `${hop.netns} ${s.type}`);
      assert.ok(s.explanation.trim().length > 0, `${hop.netns} ${s.type} has an empty explanation`);
      assert.ok(!s.explanation.includes('\n'), `${hop.netns} ${s.type} explanation spans lines`);
    }
  }
  assert.ok(!p.summary.includes('\n'), `summary spans lines: ${p.summary}`);
  assert.ok(p.summary.startsWith(`${p.disposition}`), `summary does not start with ${p.disposition}: ${p.summary}`);
  const last = p.hops.at(-1)!.steps.at(-1)!;
  assert.equal(last.type, p.disposition === 'DELIVERED' ? 'DELIVER' : 'DROP', 'a trace ends with DELIVER or DROP');
  if (last.type === 'DROP') assert.equal(last.disposition, p.disposition);
}

/** Hops as netns, in, out and step types: the whole shape of a path in one comparable value. */
const shape = (p: ExplainedPathView) =>
  p.hops.map((h) => ({ netns: h.netns, in: h.in, out: h.out, steps: h.steps.map((s) => s.type) }));

function stepOf(p: ExplainedPathView, netns: string, type: string, nth = 0): AnyStep {
  const hops = p.hops.filter((h) => h.netns === netns);
  assert.ok(hops.length > 0, `no hop in ${netns}`);
  const steps = hops.flatMap((h) => h.steps).filter((s) => s.type === type);
  assert.ok(steps.length > nth, `no ${type} step #${nth} in ${netns}`);
  return steps[nth]!;
}

const dropOf = (p: ExplainedPathView) => p.hops.at(-1)!.steps.at(-1)!;

// ---- a small fabric, written the way `ip -j link/addr/route` show it ----
//
//   pod-a1 eth0 ─ veth-a1 ┐                         ┌ veth-b1 ─ eth0 pod-b1
//   pod-a2 eth0 ─ veth-a2 ┴ cbr0 node-a eth0 ─ underlay ─ eth0 node-b cbr0
//                                              └─ eth0 node-c
// node-a 192.168.0.11, node-b .12, node-c .13; pod CIDRs 10.1.1.0/24 (node-a) and 10.1.2.0/24 (node-b).

const veth = (name: string, peerNetns: string, peerLink: string, extra: Partial<LinkDoc> = {}): LinkDoc => ({
  name,
  kind: 'veth',
  peer: { netns: peerNetns, link: peerLink },
  ...extra,
});

const pod = (name: string, node: string, port: string, address: string, gateway: string): NetnsDoc => ({
  name,
  kind: 'pod',
  node,
  links: [veth('eth0', node, port, { addresses: [address] })],
  routes: [{ dst: 'default', gateway, dev: 'eth0' }],
});

interface Faults {
  nodeA?: RouteDoc[];
  nodeB?: RouteDoc[];
  nodeC?: LinkDoc[];
  nodeBForwarding?: boolean;
  vethA1Up?: boolean;
  external?: string[];
}

function faults(f: Faults = {}): FabricDoc {
  return {
    segments: [{ name: 'underlay', cidr: '192.168.0.0/24', ...(f.external ? { external: f.external } : {}) }],
    netns: [
      {
        name: 'node-a',
        kind: 'node',
        links: [
          { name: 'eth0', kind: 'physical', addresses: ['192.168.0.11/24'], segment: 'underlay' },
          { name: 'cbr0', kind: 'bridge', addresses: ['10.1.1.1/24'] },
          veth('veth-a1', 'pod-a1', 'eth0', { master: 'cbr0', up: f.vethA1Up ?? true }),
          veth('veth-a2', 'pod-a2', 'eth0', { master: 'cbr0' }),
        ],
        routes: [{ dst: '10.1.2.0/24', gateway: '192.168.0.12', dev: 'eth0' }, ...(f.nodeA ?? [])],
      },
      {
        name: 'node-b',
        kind: 'node',
        ...(f.nodeBForwarding !== undefined ? { forwarding: f.nodeBForwarding } : {}),
        links: [
          { name: 'eth0', kind: 'physical', addresses: ['192.168.0.12/24'], segment: 'underlay' },
          { name: 'cbr0', kind: 'bridge', addresses: ['10.1.2.1/24'] },
          veth('veth-b1', 'pod-b1', 'eth0', { master: 'cbr0' }),
        ],
        routes: [{ dst: '10.1.1.0/24', gateway: '192.168.0.11', dev: 'eth0' }, ...(f.nodeB ?? [])],
      },
      {
        name: 'node-c',
        kind: 'node',
        links: [{ name: 'eth0', kind: 'physical', addresses: ['192.168.0.13/24'], segment: 'underlay' }, ...(f.nodeC ?? [])],
      },
      pod('pod-a1', 'node-a', 'veth-a1', '10.1.1.2/24', '10.1.1.1'),
      pod('pod-a2', 'node-a', 'veth-a2', '10.1.1.3/24', '10.1.1.1'),
      pod('pod-b1', 'node-b', 'veth-b1', '10.1.2.2/24', '10.1.2.1'),
    ],
  };
}

const POD_A1_OUT = { netns: 'pod-a1', in: undefined, out: 'eth0', steps: ['ORIGINATE', 'ROUTE', 'TRANSMIT'] };
/** node-a as a router: the frame from pod-a1 comes up through cbr0, is routed and leaves by eth0. */
const NODE_A_ROUTES = { netns: 'node-a', in: 'veth-a1', out: 'eth0', steps: ['BRIDGE', 'RECEIVE', 'ROUTE', 'TRANSMIT'] };

// ---- 1. the seed's cluster ----

describe('the seed cluster (bridge, host-gw)', () => {
  const doc = () => structuredClone(example('two-nodes').cluster!);
  const c = cluster(doc());

  test('same-node pod to pod is switched by cbr0, with no route lookup on the node', () => {
    const r = run(c, 'pod-a1', 'pod-a2');
    assert.equal(r.disposition, 'DELIVERED');
    assert.equal(r.paths, undefined);
    const vethA1 = r.hops[1]!.in!;
    const vethA2 = r.hops[1]!.out!;
    assert.match(vethA1, /^veth[0-9a-f]{8}$/);
    assert.match(vethA2, /^veth[0-9a-f]{8}$/);
    assert.notEqual(vethA1, vethA2);
    assert.deepEqual(shape(r), [
      { netns: 'default/pod-a1', in: undefined, out: 'eth0', steps: ['ORIGINATE', 'ROUTE', 'TRANSMIT'] },
      { netns: 'node-a', in: vethA1, out: vethA2, steps: ['BRIDGE'] },
      { netns: 'default/pod-a2', in: 'eth0', out: undefined, steps: ['RECEIVE', 'DELIVER'] },
    ]);
    assert.deepEqual(stepOf(r, 'default/pod-a1', 'ROUTE').route, { dst: '10.1.1.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link' });
    const tx = stepOf(r, 'default/pod-a1', 'TRANSMIT');
    assert.equal(tx.neighbor, '10.1.1.3');
    assert.deepEqual(tx.answeredBy, { netns: 'default/pod-a2', link: 'eth0' });
    const bridge = stepOf(r, 'node-a', 'BRIDGE');
    assert.deepEqual([bridge.bridge, bridge.from, bridge.to], ['cbr0', vethA1, vethA2]);
    assert.match(bridge.explanation, /without a route lookup/);
    assert.equal(stepOf(r, 'default/pod-a2', 'DELIVER').address, '10.1.1.3');
    assert.equal(r.summary, 'DELIVERED: default/pod-a1 (10.1.1.2) → default/pod-a2 (10.1.1.3) via default/pod-a1 → node-a → default/pod-a2');
  });

  test('cross-node pod to pod: node-a routes via node-b, node-b delivers on its connected route, TTL 64 → 62', () => {
    const r = run(c, 'pod-a1', '10.1.2.2');
    assert.equal(r.disposition, 'DELIVERED');
    const [, a, b] = r.hops;
    assert.deepEqual(shape(r), [
      { netns: 'default/pod-a1', in: undefined, out: 'eth0', steps: ['ORIGINATE', 'ROUTE', 'TRANSMIT'] },
      { netns: 'node-a', in: a!.in, out: 'eth0', steps: ['BRIDGE', 'RECEIVE', 'ROUTE', 'TRANSMIT'] },
      { netns: 'node-b', in: 'eth0', out: 'cbr0', steps: ['RECEIVE', 'ROUTE', 'TRANSMIT', 'BRIDGE'] },
      { netns: 'default/pod-b1', in: 'eth0', out: undefined, steps: ['RECEIVE', 'DELIVER'] },
    ]);
    assert.match(a!.in!, /^veth[0-9a-f]{8}$/);
    assert.equal(b!.steps[3]!.from, null);
    assert.match(String(b!.steps[3]!.to), /^veth[0-9a-f]{8}$/);

    assert.deepEqual(stepOf(r, 'default/pod-a1', 'ROUTE').route, { dst: 'default', gateway: '10.1.1.1', dev: 'eth0' });
    assert.deepEqual(stepOf(r, 'default/pod-a1', 'TRANSMIT').answeredBy, { netns: 'node-a', link: 'cbr0' });
    assert.deepEqual(stepOf(r, 'node-a', 'RECEIVE').link, 'cbr0');

    const routeA = stepOf(r, 'node-a', 'ROUTE');
    assert.deepEqual(routeA.route, { dst: '10.1.2.0/24', gateway: '192.168.0.12', dev: 'eth0' });
    assert.equal(routeA.table, 'main');
    assert.match(routeA.explanation, /^10\.1\.2\.0\/24 via 192\.168\.0\.12 dev eth0 is the longest prefix .*contains 10\.1\.2\.2/);
    assert.deepEqual(stepOf(r, 'node-a', 'TRANSMIT').answeredBy, { netns: 'node-b', link: 'eth0' });

    assert.deepEqual(stepOf(r, 'node-b', 'ROUTE').route, {
      dst: '10.1.2.0/24',
      dev: 'cbr0',
      protocol: 'kernel',
      scope: 'link',
      prefsrc: '10.1.2.1',
    });
    assert.deepEqual(stepOf(r, 'node-b', 'TRANSMIT').answeredBy, { netns: 'default/pod-b1', link: 'eth0' });

    // TTL: 64 at the origin, one less per L3 forward (node-a, node-b); a bridge does not touch it.
    assert.equal(stepOf(r, 'default/pod-a1', 'ORIGINATE').ttl, 64);
    assert.equal(stepOf(r, 'node-a', 'RECEIVE').ttl, 64);
    assert.equal(stepOf(r, 'node-b', 'RECEIVE').ttl, 63);
    assert.equal(stepOf(r, 'default/pod-b1', 'RECEIVE').ttl, 62);
  });

  test('an unassigned address in node-b\'s pod CIDR: nobody answers ARP on cbr0', () => {
    const r = run(c, 'pod-a1', '10.1.2.99');
    assert.equal(r.disposition, 'NEIGHBOR_UNREACHABLE');
    assert.deepEqual(
      r.hops.map((h) => h.netns),
      ['default/pod-a1', 'node-a', 'node-b'],
    );
    assert.deepEqual(shape(r)[2], { netns: 'node-b', in: 'eth0', out: 'cbr0', steps: ['RECEIVE', 'ROUTE', 'DROP'] });
    assert.deepEqual(stepOf(r, 'node-b', 'ROUTE').route, {
      dst: '10.1.2.0/24',
      dev: 'cbr0',
      protocol: 'kernel',
      scope: 'link',
      prefsrc: '10.1.2.1',
    });
    const drop = dropOf(r);
    assert.deepEqual([drop.link, drop.neighbor, drop.blockedAt], ['cbr0', '10.1.2.99', undefined]);
    assert.match(r.summary, /^NEIGHBOR_UNREACHABLE at node-b: /);
  });

  test('an outside address without a default route on the node: NO_ROUTE at node-a', () => {
    const r = run(c, 'pod-a1', '8.8.8.8');
    assert.equal(r.disposition, 'NO_ROUTE');
    assert.deepEqual(shape(r), [
      { netns: 'default/pod-a1', in: undefined, out: 'eth0', steps: ['ORIGINATE', 'ROUTE', 'TRANSMIT'] },
      { netns: 'node-a', in: r.hops[1]!.in, out: undefined, steps: ['BRIDGE', 'RECEIVE', 'ROUTE', 'DROP'] },
    ]);
    const route = stepOf(r, 'node-a', 'ROUTE');
    assert.equal(route.route, null);
    assert.deepEqual(route.candidates, []);
  });

  test('with a network gateway the node has a default route, and an outside address leaves through it', () => {
    const d = doc();
    d.network = { cidr: '192.168.0.0/24', gateway: '192.168.0.1' };
    const r = run(cluster(d), 'pod-a1', '8.8.8.8');
    assert.equal(r.disposition, 'EXITS_NETWORK');
    assert.deepEqual(shape(r), [
      { netns: 'default/pod-a1', in: undefined, out: 'eth0', steps: ['ORIGINATE', 'ROUTE', 'TRANSMIT'] },
      { netns: 'node-a', in: r.hops[1]!.in, out: 'eth0', steps: ['BRIDGE', 'RECEIVE', 'ROUTE', 'TRANSMIT', 'DROP'] },
    ]);
    assert.deepEqual(stepOf(r, 'node-a', 'ROUTE').route, { dst: 'default', gateway: '192.168.0.1', dev: 'eth0' });
    assert.deepEqual(stepOf(r, 'node-a', 'TRANSMIT').answeredBy, { external: true });

    // With a default in the table, the cross-node route wins by prefix length, and says so.
    const x = run(cluster(d), 'pod-a1', 'pod-b1');
    assert.equal(x.disposition, 'DELIVERED');
    const route = stepOf(x, 'node-a', 'ROUTE');
    assert.deepEqual(route.route, { dst: '10.1.2.0/24', gateway: '192.168.0.12', dev: 'eth0' });
    assert.equal(
      route.explanation,
      '10.1.2.0/24 via 192.168.0.12 dev eth0 is the longest prefix that contains 10.1.2.2 (/24 beats default /0)',
    );
    assert.deepEqual(route.candidates, [
      { route: { dst: 'default', gateway: '192.168.0.1', dev: 'eth0' }, why: 'shorter prefix (default /0 loses to /24)' },
    ]);
  });

  test('a node without pods: its cbr0 has no port, hence no carrier', () => {
    const d = doc();
    d.nodes.push({ name: 'node-c', addresses: [{ type: 'InternalIP', address: '192.168.0.13' }], podCIDRs: ['10.1.3.0/24'] });
    const r = run(cluster(d), 'pod-a1', '10.1.3.5');
    assert.equal(r.disposition, 'LINK_DOWN');
    assert.deepEqual(
      shape(r).map((h) => [h.netns, h.in, h.out]),
      [
        ['default/pod-a1', undefined, 'eth0'],
        ['node-a', r.hops[1]!.in, 'eth0'],
        ['node-c', 'eth0', 'cbr0'],
      ],
    );
    assert.equal(dropOf(r).explanation, 'cbr0 has no carrier (none of its ports is up): the packet cannot be sent');
  });

  test('a hostNetwork pod is its node\'s netns', () => {
    const e = c.resolve('kube-proxy-a', 'source');
    assert.equal(e.kind, 'pod');
    assert.equal(e.netns!.name, 'node-a');
    const r = run(c, 'kube-system/kube-proxy-a', 'pod-b1');
    assert.equal(r.disposition, 'DELIVERED');
    assert.deepEqual(
      shape(r).map((h) => [h.netns, h.in, h.out]),
      [
        ['node-a', undefined, 'eth0'],
        ['node-b', 'eth0', 'cbr0'],
        ['default/pod-b1', 'eth0', undefined],
      ],
    );
    assert.equal(stepOf(r, 'node-a', 'ORIGINATE').src, '192.168.0.11');
    // A host's own packet is not forwarded: TTL 64 leaves node-a, node-b forwards it once.
    assert.equal(stepOf(r, 'node-b', 'RECEIVE').ttl, 64);
    assert.equal(stepOf(r, 'default/pod-b1', 'RECEIVE').ttl, 63);
  });

  test('pod to its node\'s address is delivered at the node, on eth0 (weak host model)', () => {
    const r = run(c, 'pod-a1', 'node-a');
    assert.equal(r.disposition, 'DELIVERED');
    assert.deepEqual(shape(r), [
      { netns: 'default/pod-a1', in: undefined, out: 'eth0', steps: ['ORIGINATE', 'ROUTE', 'TRANSMIT'] },
      { netns: 'node-a', in: r.hops[1]!.in, out: undefined, steps: ['BRIDGE', 'RECEIVE', 'DELIVER'] },
    ]);
    const deliver = stepOf(r, 'node-a', 'DELIVER');
    assert.deepEqual([deliver.link, deliver.address], ['eth0', '192.168.0.11']);

    const other = run(c, 'pod-a1', '192.168.0.12');
    assert.equal(other.disposition, 'DELIVERED');
    assert.deepEqual(
      other.hops.map((h) => h.netns),
      ['default/pod-a1', 'node-a', 'node-b'],
    );
    assert.deepEqual(stepOf(other, 'node-a', 'ROUTE').route, { dst: '192.168.0.8/29', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: '192.168.0.11' });
  });
});

// ---- 2. fabric documents with faults ----

describe('fabric faults', () => {
  test('the healthy fabric: cross-node delivery over the documented routes', () => {
    const r = run(fabric(faults()), 'pod-a1', 'pod-b1');
    assert.equal(r.disposition, 'DELIVERED');
    assert.deepEqual(shape(r), [
      POD_A1_OUT,
      NODE_A_ROUTES,
      { netns: 'node-b', in: 'eth0', out: 'cbr0', steps: ['RECEIVE', 'ROUTE', 'TRANSMIT', 'BRIDGE'] },
      { netns: 'pod-b1', in: 'eth0', out: undefined, steps: ['RECEIVE', 'DELIVER'] },
    ]);
    assert.deepEqual(stepOf(r, 'node-b', 'BRIDGE').to, 'veth-b1');
  });

  test('a missing route: NO_ROUTE where the lookup fails', () => {
    const c = fabric(faults());
    const r = run(c, 'pod-a1', '10.9.1.1');
    assert.equal(r.disposition, 'NO_ROUTE');
    assert.deepEqual(shape(r), [POD_A1_OUT, { ...NODE_A_ROUTES, out: undefined, steps: ['BRIDGE', 'RECEIVE', 'ROUTE', 'DROP'] }]);
    assert.match(dropOf(r).explanation, /no route/);

    // Sent by the node itself: the lookup fails at the origin.
    const own = run(c, 'node-a', '10.9.1.1');
    assert.equal(own.disposition, 'NO_ROUTE');
    assert.deepEqual(shape(own), [{ netns: 'node-a', in: undefined, out: undefined, steps: ['ORIGINATE', 'ROUTE', 'DROP'] }]);
  });

  test('a blackhole route drops the packet silently', () => {
    const r = run(fabric(faults({ nodeA: [{ type: 'blackhole', dst: '10.9.0.0/16' }] })), 'pod-a1', '10.9.1.1');
    assert.equal(r.disposition, 'BLACKHOLED');
    assert.deepEqual(shape(r), [POD_A1_OUT, { ...NODE_A_ROUTES, out: undefined, steps: ['BRIDGE', 'RECEIVE', 'ROUTE', 'DROP'] }]);
    const route = stepOf(r, 'node-a', 'ROUTE');
    assert.deepEqual(route.route, { type: 'blackhole', dst: '10.9.0.0/16' });
    assert.match(route.explanation, /blackhole/);
  });

  for (const type of ['unreachable', 'prohibit'] as const) {
    test(`an ${type} route rejects the packet: UNREACHABLE`, () => {
      const r = run(fabric(faults({ nodeA: [{ type, dst: '10.9.0.0/16' }] })), 'pod-a1', '10.9.1.1');
      assert.equal(r.disposition, 'UNREACHABLE');
      assert.deepEqual(shape(r), [POD_A1_OUT, { ...NODE_A_ROUTES, out: undefined, steps: ['BRIDGE', 'RECEIVE', 'ROUTE', 'DROP'] }]);
      assert.deepEqual(stepOf(r, 'node-a', 'ROUTE').route, { type, dst: '10.9.0.0/16' });
      assert.match(dropOf(r).explanation, new RegExp(type));
    });
  }

  const loop = faults({
    nodeA: [{ dst: '10.9.0.0/16', gateway: '192.168.0.12', dev: 'eth0' }],
    nodeB: [{ dst: '10.9.0.0/16', gateway: '192.168.0.11', dev: 'eth0' }],
  });

  test('two nodes routing a prefix neither owns at each other: LOOP, with the cycle in order', () => {
    const r = run(fabric(loop), 'pod-a1', '10.9.1.1');
    assert.equal(r.disposition, 'LOOP');
    assert.deepEqual(shape(r), [
      POD_A1_OUT,
      NODE_A_ROUTES,
      { netns: 'node-b', in: 'eth0', out: 'eth0', steps: ['RECEIVE', 'ROUTE', 'TRANSMIT'] },
      { netns: 'node-a', in: 'eth0', out: undefined, steps: ['RECEIVE', 'ROUTE', 'DROP'] },
    ]);
    assert.deepEqual(stepOf(r, 'node-b', 'ROUTE').route, { dst: '10.9.0.0/16', gateway: '192.168.0.11', dev: 'eth0' });
    const drop = dropOf(r);
    assert.deepEqual(drop.cycle, ['node-a', 'node-b', 'node-a']);
    assert.match(drop.explanation, /TTL/);
    assert.deepEqual(
      r.hops.map((h) => h.steps.find((s) => s.type === 'RECEIVE')?.ttl),
      [undefined, 64, 63, 62],
    );
  });

  test('the same loop from a node: the packet back at its sender is dropped there as a martian source', () => {
    const r = run(fabric(loop), 'node-a', '10.9.1.1');
    assert.equal(r.disposition, 'LOOP');
    assert.deepEqual(r.hops.map((h) => h.netns), ['node-a', 'node-b', 'node-a']);
    assert.deepEqual(r.hops[2]!.steps.map((s) => s.type), ['RECEIVE', 'ROUTE', 'DROP']);
    assert.match(dropOf(r).explanation, /come back to node-a, which sent it: .*\(martian source\)/);
  });

  test('the same loop with a small TTL: TTL_EXCEEDED where forwarding would bring it to 0', () => {
    const c = fabric(loop);
    const r = run(c, 'pod-a1', '10.9.1.1', 2);
    assert.equal(r.disposition, 'TTL_EXCEEDED');
    assert.deepEqual(shape(r), [
      POD_A1_OUT,
      NODE_A_ROUTES,
      { netns: 'node-b', in: 'eth0', out: undefined, steps: ['RECEIVE', 'ROUTE', 'DROP'] },
    ]);
    assert.equal(stepOf(r, 'pod-a1', 'ORIGINATE').ttl, 2);
    assert.equal(stepOf(r, 'node-b', 'RECEIVE').ttl, 1);
    assert.match(dropOf(r).explanation, /TTL is 1/);

    // TTL 1 still reaches a neighbour on the sender's own link: only forwarding needs a TTL above 1.
    const direct = run(c, 'pod-a1', 'pod-a2', 1);
    assert.equal(direct.disposition, 'DELIVERED');
    assert.equal(run(c, 'pod-a1', 'node-a', 1).disposition, 'DELIVERED');
    assert.equal(run(c, 'pod-a1', 'pod-b1', 1).disposition, 'TTL_EXCEEDED');
  });

  test('a pod whose veth peer is down has no carrier: LINK_DOWN at the pod', () => {
    const r = run(fabric(faults({ vethA1Up: false })), 'pod-a1', 'pod-a2');
    assert.equal(r.disposition, 'LINK_DOWN');
    assert.deepEqual(shape(r), [{ netns: 'pod-a1', in: undefined, out: 'eth0', steps: ['ORIGINATE', 'ROUTE', 'DROP'] }]);
    assert.equal(dropOf(r).link, 'eth0');
    assert.match(dropOf(r).explanation, /no carrier.*peer is down/);
  });

  test('towards a pod behind a bridge port that is down, ARP is never answered', () => {
    const c = fabric(faults({ vethA1Up: false }));
    const r = run(c, 'node-a', '10.1.1.2');
    assert.equal(r.disposition, 'NEIGHBOR_UNREACHABLE');
    assert.deepEqual(shape(r), [{ netns: 'node-a', in: undefined, out: 'cbr0', steps: ['ORIGINATE', 'ROUTE', 'DROP'] }]);
    assert.deepEqual(stepOf(r, 'node-a', 'ROUTE').route, {
      dst: '10.1.1.0/24',
      dev: 'cbr0',
      protocol: 'kernel',
      scope: 'link',
      prefsrc: '10.1.1.1',
    });
    const drop = dropOf(r);
    assert.deepEqual([drop.link, drop.neighbor, drop.blockedAt], ['cbr0', '10.1.1.2', 'node-a veth-a1']);
    assert.match(drop.explanation, /veth-a1, which is down/);

    // The same from the pod next door, switched by the same bridge.
    const p = run(c, 'pod-a2', '10.1.1.2');
    assert.equal(p.disposition, 'NEIGHBOR_UNREACHABLE');
    assert.deepEqual(shape(p), [{ netns: 'pod-a2', in: undefined, out: 'eth0', steps: ['ORIGINATE', 'ROUTE', 'DROP'] }]);
  });

  test('a bridge none of whose ports is up has no carrier', () => {
    const doc = faults({ vethA1Up: false });
    doc.netns[0]!.links[3]!.up = false;
    const r = run(fabric(doc), 'node-a', '10.1.1.2');
    assert.equal(r.disposition, 'LINK_DOWN');
    assert.equal(dropOf(r).link, 'cbr0');
  });

  test('forwarding disabled in the middle: dropped after the route lookup', () => {
    const c = fabric(faults({ nodeBForwarding: false, nodeA: [{ dst: '10.9.0.0/16', gateway: '192.168.0.12', dev: 'eth0' }] }));
    const r = run(c, 'pod-a1', 'pod-b1');
    assert.equal(r.disposition, 'FORWARDING_DISABLED');
    assert.deepEqual(shape(r), [
      POD_A1_OUT,
      NODE_A_ROUTES,
      { netns: 'node-b', in: 'eth0', out: undefined, steps: ['RECEIVE', 'ROUTE', 'DROP'] },
    ]);
    assert.deepEqual(stepOf(r, 'node-b', 'ROUTE').route, { dst: '10.1.2.0/24', dev: 'cbr0', protocol: 'kernel', scope: 'link', prefsrc: '10.1.2.1' });
    assert.match(dropOf(r).explanation, /ip_forward = 0/);

    // IPv4 checks forwarding before it acts on the lookup's result: with no route either, the reason is forwarding.
    const none = run(c, 'pod-a1', '10.9.1.1');
    assert.equal(none.disposition, 'FORWARDING_DISABLED');
    assert.equal(stepOf(none, 'node-b', 'ROUTE').route, null);

    // The node's own addresses are still delivered, and its own packets still sent.
    assert.equal(run(c, 'pod-a1', '10.1.2.1').disposition, 'DELIVERED');
    assert.equal(run(c, 'node-b', 'pod-b1').disposition, 'DELIVERED');
  });

  test('an address on a link that is down is still local (the kernel keeps its local route)', () => {
    const doc = faults({ nodeC: [{ name: 'dummy0', kind: 'dummy', addresses: ['10.9.9.9/32'], up: false }] });
    doc.netns[0]!.routes!.push({ dst: '10.9.9.9', gateway: '192.168.0.13', dev: 'eth0' });
    const r = run(fabric(doc), 'pod-a1', '10.9.9.9');
    assert.equal(r.disposition, 'DELIVERED');
    assert.deepEqual(
      shape(r).map((h) => [h.netns, h.in, h.out]),
      [
        ['pod-a1', undefined, 'eth0'],
        ['node-a', 'veth-a1', 'eth0'],
        ['node-c', 'eth0', undefined],
      ],
    );
    assert.equal(stepOf(r, 'node-c', 'DELIVER').link, 'dummy0');
  });

  test('a /32 route beats a blackhole /26: Calico\'s pattern with proxy ARP and no bridge', () => {
    const calicoPod = (name: string, ip: string, cali: string): NetnsDoc => ({
      name,
      kind: 'pod',
      node: 'node-a',
      links: [veth('eth0', 'node-a', cali, { addresses: [`${ip}/32`] })],
      routes: [
        { dst: '169.254.1.1', dev: 'eth0', scope: 'link' },
        { dst: 'default', gateway: '169.254.1.1', dev: 'eth0' },
      ],
    });
    const c = fabric({
      segments: [{ name: 'underlay', cidr: '192.168.0.0/24', external: ['192.168.0.1'] }],
      netns: [
        {
          name: 'node-a',
          kind: 'node',
          links: [
            { name: 'eth0', kind: 'physical', addresses: ['192.168.0.11/24'], segment: 'underlay' },
            veth('cali1', 'pod-1', 'eth0', { proxyArp: true }),
            veth('cali2', 'pod-2', 'eth0', { proxyArp: true }),
          ],
          routes: [
            { dst: 'default', gateway: '192.168.0.1', dev: 'eth0' },
            { type: 'blackhole', dst: '10.1.1.0/26', protocol: 'bird' },
            { dst: '10.1.1.5', dev: 'cali1', scope: 'link' },
            { dst: '10.1.1.6', dev: 'cali2', scope: 'link' },
          ],
        },
        calicoPod('pod-1', '10.1.1.5', 'cali1'),
        calicoPod('pod-2', '10.1.1.6', 'cali2'),
      ],
    });
    assert.deepEqual(c.fabric.byName.get('pod-1')!.ignored, []);

    const r = run(c, 'pod-1', 'pod-2');
    assert.equal(r.disposition, 'DELIVERED');
    assert.deepEqual(shape(r), [
      { netns: 'pod-1', in: undefined, out: 'eth0', steps: ['ORIGINATE', 'ROUTE', 'TRANSMIT'] },
      { netns: 'node-a', in: 'cali1', out: 'cali2', steps: ['RECEIVE', 'ROUTE', 'TRANSMIT'] },
      { netns: 'pod-2', in: 'eth0', out: undefined, steps: ['RECEIVE', 'DELIVER'] },
    ]);
    assert.deepEqual(stepOf(r, 'pod-1', 'ROUTE').route, { dst: 'default', gateway: '169.254.1.1', dev: 'eth0' });
    const arp = stepOf(r, 'pod-1', 'TRANSMIT');
    assert.equal(arp.neighbor, '169.254.1.1');
    assert.deepEqual(arp.answeredBy, { netns: 'node-a', link: 'cali1' });
    assert.match(arp.explanation, /proxy/);
    const route = stepOf(r, 'node-a', 'ROUTE');
    assert.deepEqual(route.route, { dst: '10.1.1.6', dev: 'cali2', scope: 'link' });
    assert.match(route.explanation, /\/32 beats \/26/);
    assert.deepEqual(route.candidates, [
      { route: { type: 'blackhole', dst: '10.1.1.0/26', protocol: 'bird' }, why: 'shorter prefix (/26 loses to /32)' },
      { route: { dst: 'default', gateway: '192.168.0.1', dev: 'eth0' }, why: 'shorter prefix (default /0 loses to /32)' },
    ]);
    assert.deepEqual(stepOf(r, 'node-a', 'TRANSMIT').answeredBy, { netns: 'pod-2', link: 'eth0' });

    const unassigned = run(c, 'pod-1', '10.1.1.9');
    assert.equal(unassigned.disposition, 'BLACKHOLED');
    assert.deepEqual(shape(unassigned)[1], { netns: 'node-a', in: 'cali1', out: undefined, steps: ['RECEIVE', 'ROUTE', 'DROP'] });
    assert.deepEqual(stepOf(unassigned, 'node-a', 'ROUTE').route, { type: 'blackhole', dst: '10.1.1.0/26', protocol: 'bird' });
  });

  test('a gateway off the connected routes of its dev is refused unless onlink', () => {
    const offLink: RouteDoc = { dst: '10.9.0.0/16', gateway: '192.168.5.1', dev: 'eth0' };
    const refused = fabric(faults({ nodeA: [offLink] }));
    const ignored = refused.fabric.byName.get('node-a')!.ignored;
    assert.equal(ignored.length, 1);
    assert.match(ignored[0]!, /^10\.9\.0\.0\/16 via 192\.168\.5\.1 dev eth0: .*not on a connected route of eth0.*onlink/);
    const r = run(refused, 'pod-a1', '10.9.1.1');
    assert.equal(r.disposition, 'NO_ROUTE');
    assert.equal(stepOf(r, 'node-a', 'ROUTE').route, null);

    // A shorter route then applies.
    const shorter = run(
      fabric(faults({ nodeA: [offLink, { dst: '10.0.0.0/8', gateway: '192.168.0.12', dev: 'eth0' }] })),
      'pod-a1',
      '10.9.1.1',
    );
    assert.deepEqual(stepOf(shorter, 'node-a', 'ROUTE').route, { dst: '10.0.0.0/8', gateway: '192.168.0.12', dev: 'eth0' });
    assert.deepEqual(stepOf(shorter, 'node-a', 'ROUTE').candidates, []);
    assert.equal(shorter.disposition, 'NO_ROUTE');
    assert.deepEqual(shorter.hops.map((h) => h.netns), ['pod-a1', 'node-a', 'node-b']);

    // onlink: the kernel takes the gateway as on the link, and ARPs for it there.
    // The upstream router sits on the same wire but outside 192.168.0.0/24, so the segment names no subnet.
    const onlinkDoc = faults({ nodeA: [{ ...offLink, flags: ['onlink'] }], external: ['192.168.5.1'] });
    delete onlinkDoc.segments![0]!.cidr;
    const onlink = fabric(onlinkDoc);
    assert.deepEqual(onlink.fabric.byName.get('node-a')!.ignored, []);
    const o = run(onlink, 'pod-a1', '10.9.1.1');
    assert.equal(o.disposition, 'EXITS_NETWORK');
    assert.deepEqual(stepOf(o, 'node-a', 'ROUTE').route, { dst: '10.9.0.0/16', gateway: '192.168.5.1', dev: 'eth0', flags: ['onlink'] });
    assert.equal(stepOf(o, 'node-a', 'TRANSMIT').neighbor, '192.168.5.1');
    assert.match(dropOf(o).explanation, /192\.168\.5\.1/);
  });

  test('a route through a link that is down is gone, with a note', () => {
    const doc = faults({ nodeC: [{ name: 'eth1', kind: 'physical', addresses: ['172.16.0.13/24'], up: false }] });
    doc.netns[2]!.routes = [{ dst: '10.9.0.0/16', gateway: '172.16.0.1', dev: 'eth1' }];
    const c = fabric(doc);
    assert.match(c.fabric.byName.get('node-c')!.ignored[0]!, /eth1 is down/);
    const r = run(c, 'node-c', '10.9.1.1');
    assert.equal(r.disposition, 'NO_ROUTE');
    assert.deepEqual(stepOf(r, 'node-c', 'ROUTE').candidates, []);
  });

  test('two routes for one prefix: the lower metric wins and the loser is listed with its reason', () => {
    const r = run(
      fabric(
        faults({
          external: ['192.168.0.1'],
          nodeA: [
            { dst: '10.9.0.0/16', gateway: '192.168.0.1', dev: 'eth0', metric: 100 },
            { dst: '10.9.0.0/16', gateway: '192.168.0.12', dev: 'eth0', metric: 50 },
            // Same prefix and metric (`ip route append`): the kernel keeps the first.
            { dst: '10.9.0.0/16', gateway: '192.168.0.13', dev: 'eth0', metric: 50 },
          ],
        }),
      ),
      'pod-a1',
      '10.9.1.1',
    );
    const route = stepOf(r, 'node-a', 'ROUTE');
    assert.deepEqual(route.route, { dst: '10.9.0.0/16', gateway: '192.168.0.12', dev: 'eth0', metric: 50 });
    assert.deepEqual(route.candidates, [
      { route: { dst: '10.9.0.0/16', gateway: '192.168.0.13', dev: 'eth0', metric: 50 }, why: 'same prefix and metric: the route listed first wins' },
      { route: { dst: '10.9.0.0/16', gateway: '192.168.0.1', dev: 'eth0', metric: 100 }, why: 'higher metric (100 loses to 50)' },
    ]);
    assert.equal(
      route.explanation,
      '10.9.0.0/16 via 192.168.0.12 dev eth0 metric 50 is the longest prefix that contains 10.9.1.1 (metric 50 beats 100; listed first among routes of metric 50)',
    );
    assert.deepEqual(r.hops.map((h) => h.netns), ['pod-a1', 'node-a', 'node-b']);
    assert.equal(r.disposition, 'NO_ROUTE');
  });

  test('ECMP: one path per next hop, each traced to its end', () => {
    const anycast: LinkDoc = { name: 'svc0', kind: 'dummy', addresses: ['10.9.0.1/32'] };
    const doc = faults({
      nodeA: [
        {
          dst: '10.9.0.0/24',
          nexthops: [
            { gateway: '192.168.0.12', dev: 'eth0', weight: 1 },
            { gateway: '192.168.0.13', dev: 'eth0', weight: 1 },
          ],
        },
      ],
      nodeC: [anycast],
    });
    doc.netns[1]!.links.push(anycast);
    const r = run(fabric(doc), 'pod-a1', '10.9.0.1');
    assert.equal(r.disposition, 'DELIVERED');
    assert.equal(r.paths?.length, 2);
    const [p0, p1] = r.paths!;
    assert.deepEqual(p0!.choices, [0]);
    assert.deepEqual(p1!.choices, [1]);
    for (const [p, node] of [
      [p0!, 'node-b'],
      [p1!, 'node-c'],
    ] as const) {
      assert.equal(p.disposition, 'DELIVERED');
      assert.deepEqual(shape(p), [
        POD_A1_OUT,
        NODE_A_ROUTES,
        { netns: node, in: 'eth0', out: undefined, steps: ['RECEIVE', 'DELIVER'] },
      ]);
      assert.equal(stepOf(p, node, 'DELIVER').link, 'svc0');
    }
    const route0 = stepOf(p0!, 'node-a', 'ROUTE');
    assert.deepEqual(route0.route, {
      dst: '10.9.0.0/24',
      nexthops: [
        { gateway: '192.168.0.12', dev: 'eth0', weight: 1 },
        { gateway: '192.168.0.13', dev: 'eth0', weight: 1 },
      ],
    });
    assert.equal(route0.nexthop, 0);
    assert.equal(stepOf(p1!, 'node-a', 'ROUTE').nexthop, 1);
    assert.match(route0.explanation, /2 next hops \(ECMP\)/);
    assert.deepEqual(shape(r), shape(p0!));
    assert.match(r.summary, /all 2 ECMP paths agree/);
  });

  test('ECMP into a loop: a revisited netns takes the next hop it took before, so no path is counted twice', () => {
    const back: RouteDoc = { dst: '10.9.0.0/24', gateway: '192.168.0.11', dev: 'eth0' };
    const doc = faults({
      nodeA: [
        {
          dst: '10.9.0.0/24',
          nexthops: [
            { gateway: '192.168.0.12', dev: 'eth0' },
            { gateway: '192.168.0.13', dev: 'eth0' },
          ],
        },
      ],
      nodeB: [back],
    });
    doc.netns[2]!.routes = [back];
    const r = run(fabric(doc), 'pod-a1', '10.9.0.1');
    assert.equal(r.disposition, 'LOOP');
    assert.deepEqual(
      r.paths!.map((p) => [p.choices, dropOf(p).cycle]),
      [
        [[0], ['node-a', 'node-b', 'node-a']],
        [[1], ['node-a', 'node-c', 'node-a']],
      ],
    );
    assert.equal(stepOf(r.paths![1]!, 'node-a', 'ROUTE', 1).nexthop, 1);
  });

  test('a multipath route loses only the next hop through a link that is down', () => {
    const doc = faults({ nodeC: [{ name: 'eth1', kind: 'physical', addresses: ['192.168.0.14/24'], segment: 'underlay', up: false }] });
    doc.netns[2]!.routes = [
      {
        dst: '10.9.0.0/24',
        nexthops: [
          { gateway: '192.168.0.11', dev: 'eth1' },
          { gateway: '192.168.0.12', dev: 'eth0' },
        ],
      },
      // No dev: the kernel takes the device of the direct route that reaches the gateway.
      { dst: '10.8.0.0/24', gateway: '192.168.0.11' },
    ];
    const c = fabric(doc);
    assert.deepEqual(c.fabric.byName.get('node-c')!.ignored, [
      '10.9.0.0/24: the next hop via 192.168.0.11 dev eth1 is dead: eth1 is down',
    ]);
    const r = run(c, 'node-c', '10.9.0.1');
    assert.equal(r.paths, undefined);
    assert.deepEqual(stepOf(r, 'node-c', 'ROUTE').route, { dst: '10.9.0.0/24', gateway: '192.168.0.12', dev: 'eth0' });
    assert.deepEqual(r.hops.map((h) => h.netns), ['node-c', 'node-b']);
    const nodev = run(c, 'node-c', '10.8.0.1');
    assert.deepEqual(stepOf(nodev, 'node-c', 'ROUTE').route, { dst: '10.8.0.0/24', gateway: '192.168.0.11', dev: 'eth0' });
  });

  test('IPv6: a dual-stack fabric traced in IPv6, default route via an IPv6 gateway', () => {
    const c = fabric({
      segments: [{ name: 'underlay', cidr: 'fd00::/64' }],
      netns: [
        {
          name: 'node-a',
          kind: 'node',
          links: [
            { name: 'eth0', kind: 'physical', addresses: ['192.168.0.11/24', 'fd00::11/64'], segment: 'underlay' },
            veth('veth-a1', 'pod-a1', 'eth0', { addresses: ['10.1.1.1/24', 'fd10:1::1/64'] }),
          ],
          routes: [
            { dst: '10.1.2.0/24', gateway: '192.168.0.12', dev: 'eth0' },
            { dst: 'fd10:2::/64', gateway: 'fd00::12', dev: 'eth0', metric: 1024 },
          ],
        },
        {
          name: 'node-b',
          kind: 'node',
          links: [
            { name: 'eth0', kind: 'physical', addresses: ['192.168.0.12/24', 'fd00::12/64'], segment: 'underlay' },
            veth('veth-b1', 'pod-b1', 'eth0', { addresses: ['10.1.2.1/24', 'fd10:2::1/64'] }),
          ],
          routes: [{ dst: 'fd10:1::/64', gateway: 'fd00::11', dev: 'eth0', metric: 1024 }],
        },
        {
          name: 'pod-a1',
          kind: 'pod',
          node: 'node-a',
          links: [veth('eth0', 'node-a', 'veth-a1', { addresses: ['10.1.1.2/24', 'fd10:1::2/64'] })],
          routes: [
            { dst: 'default', gateway: '10.1.1.1', dev: 'eth0' },
            { dst: 'default', gateway: 'fd10:1::1', dev: 'eth0', metric: 1024 },
          ],
        },
        {
          name: 'pod-b1',
          kind: 'pod',
          node: 'node-b',
          links: [veth('eth0', 'node-b', 'veth-b1', { addresses: ['10.1.2.2/24', 'fd10:2::2/64'] })],
          routes: [{ dst: 'default', gateway: 'fd10:2::1', dev: 'eth0' }],
        },
      ],
    });
    const r = run(c, 'pod-a1', 'fd10:2::2');
    assert.equal(r.disposition, 'DELIVERED');
    assert.deepEqual(shape(r), [
      { netns: 'pod-a1', in: undefined, out: 'eth0', steps: ['ORIGINATE', 'ROUTE', 'TRANSMIT'] },
      { netns: 'node-a', in: 'veth-a1', out: 'eth0', steps: ['RECEIVE', 'ROUTE', 'TRANSMIT'] },
      { netns: 'node-b', in: 'eth0', out: 'veth-b1', steps: ['RECEIVE', 'ROUTE', 'TRANSMIT'] },
      { netns: 'pod-b1', in: 'eth0', out: undefined, steps: ['RECEIVE', 'DELIVER'] },
    ]);
    assert.equal(stepOf(r, 'pod-a1', 'ORIGINATE').src, 'fd10:1::2');
    assert.deepEqual(stepOf(r, 'pod-a1', 'ROUTE').route, { dst: 'default', gateway: 'fd10:1::1', dev: 'eth0', metric: 1024 });
    assert.deepEqual(stepOf(r, 'node-a', 'ROUTE').route, { dst: 'fd10:2::/64', gateway: 'fd00::12', dev: 'eth0', metric: 1024 });
    assert.deepEqual(stepOf(r, 'node-b', 'ROUTE').route, {
      dst: 'fd10:2::/64',
      dev: 'veth-b1',
      protocol: 'kernel',
      metric: 256,
    });
    assert.equal(stepOf(r, 'pod-b1', 'RECEIVE').ttl, 62);

    // Named by netns, the pods are traced in IPv4, the first family both have; pod-b1 has no IPv4 default route.
    const v4 = run(c, 'pod-a1', 'pod-b1');
    assert.equal(v4.disposition, 'DELIVERED');
    assert.equal(stepOf(v4, 'pod-a1', 'ORIGINATE').dst, '10.1.2.2');
    assert.equal(run(c, 'pod-b1', '10.1.1.2').disposition, 'NO_ROUTE');
    assert.equal(run(c, 'pod-b1', 'fd10:1::2').disposition, 'DELIVERED');
  });

  test('IPv6 without forwarding: a missing route rejects first, a unicast route meets ip6_forward', () => {
    const c = fabric({
      segments: [{ name: 'underlay' }],
      netns: [
        {
          name: 'host-a',
          kind: 'host',
          links: [{ name: 'eth0', kind: 'physical', addresses: ['fd00::1/64'], segment: 'underlay' }],
          // A link-local gateway needs no route to it: the kernel takes it as on the link.
          routes: [{ dst: 'default', gateway: 'fe80::2', dev: 'eth0' }],
        },
        {
          name: 'host-b',
          kind: 'host',
          links: [
            { name: 'eth0', kind: 'physical', addresses: ['fd00::2/64', 'fe80::2/64'], segment: 'underlay' },
            { name: 'eth1', kind: 'physical', addresses: ['fd01::2/64'], segment: 'other' },
          ],
        },
        {
          name: 'host-c',
          kind: 'host',
          links: [{ name: 'eth0', kind: 'physical', addresses: ['fd01::3/64'], segment: 'other' }],
        },
      ],
    });
    assert.deepEqual(c.fabric.byName.get('host-a')!.ignored, []);
    const unicast = run(c, 'host-a', 'fd01::3');
    assert.equal(unicast.disposition, 'FORWARDING_DISABLED');
    assert.deepEqual(shape(unicast), [
      { netns: 'host-a', in: undefined, out: 'eth0', steps: ['ORIGINATE', 'ROUTE', 'TRANSMIT'] },
      { netns: 'host-b', in: 'eth0', out: undefined, steps: ['RECEIVE', 'ROUTE', 'DROP'] },
    ]);
    assert.deepEqual(stepOf(unicast, 'host-a', 'ROUTE').route, { dst: 'default', gateway: 'fe80::2', dev: 'eth0', metric: 1024 });
    assert.match(dropOf(unicast).explanation, /net\.ipv6\.conf\.all\.forwarding = 0/);
    assert.equal(run(c, 'host-a', 'fd02::9').disposition, 'NO_ROUTE');
    assert.equal(run(c, 'host-a', 'fd01::2').disposition, 'DELIVERED');
  });

  test('IPv6 neighbour discovery is strong host and has no proxy ARP', () => {
    // node-a holds fd00::99 on a dummy link: IPv4 would answer ARP for it on eth0 (arp_ignore=0), IPv6 ND does not.
    const doc = faults({ nodeC: [{ name: 'dummy0', kind: 'dummy', addresses: ['10.9.9.9/32', 'fd09::9/128'] }] });
    for (const [i, a] of [
      [0, 'fd00::11/64'],
      [2, 'fd00::13/64'],
    ] as const) {
      doc.netns[i]!.links[0]!.addresses!.push(a);
    }
    doc.netns[0]!.routes!.push(
      { dst: '10.9.9.9', dev: 'eth0', scope: 'link' },
      { dst: 'fd09::9', dev: 'eth0', metric: 1024 },
    );
    const c = fabric(doc);
    const v4 = run(c, 'node-a', '10.9.9.9');
    assert.equal(v4.disposition, 'DELIVERED');
    assert.deepEqual(stepOf(v4, 'node-a', 'TRANSMIT').answeredBy, { netns: 'node-c', link: 'eth0' });
    assert.match(stepOf(v4, 'node-a', 'TRANSMIT').explanation, /another link/);
    const v6 = run(c, 'node-a', 'fd09::9');
    assert.equal(v6.disposition, 'NEIGHBOR_UNREACHABLE');
  });
});
