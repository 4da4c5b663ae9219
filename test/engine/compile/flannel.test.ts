// Flannel: the host-gw backend (the bridge data path with the bridge named cni0, and every other node's subnet via that
// node) and the vxlan backend (flannel.1, its neighbours and FDB, encapsulation).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, dualStack, exampleCluster, hops, netnsDoc, run } from './helpers.js';
import { explain } from '../../../src/answer/explain.js';
import { materialise } from '../../../src/engine/materialise.js';
import { compileTopology } from '../../../src/engine/topology.js';
import { checkTopology } from '../../../src/topology/validate.js';

const c = compile(exampleCluster('flannel-host-gw-two-nodes'));

test('a node holds its subnet on cni0 and every other node\'s subnet via that node', () => {
  const node = netnsDoc(c, 'node-a');
  assert.deepEqual(node.links.find((l) => l.kind === 'bridge'), { name: 'cni0', kind: 'bridge', addresses: ['10.1.1.1/24'] });
  assert.ok(node.links.filter((l) => l.kind === 'veth').every((l) => l.master === 'cni0'));
  assert.deepEqual(node.routes, [
    { dst: 'default', gateway: '192.168.0.1', dev: 'eth0' },
    { dst: '10.1.2.0/24', gateway: '192.168.0.12', dev: 'eth0' },
  ]);
  assert.deepEqual(netnsDoc(c, 'default/pod-a1').routes, [{ dst: 'default', gateway: '10.1.1.1', dev: 'eth0' }]);
});

test('cross-node: cni0 → host-gw route → the other node → its cni0 → pod', () => {
  const r = run(c, 'pod-a1', 'pod-b1');
  assert.equal(r.disposition, 'DELIVERED');
  const vethA1 = netnsDoc(c, 'default/pod-a1').links[0]!.peer!.link;
  assert.deepEqual(hops(r), [
    'default/pod-a1 -→eth0: ORIGINATE ROUTE TRANSMIT',
    `node-a ${vethA1}→eth0: BRIDGE RECEIVE ROUTE TRANSMIT`,
    'node-b eth0→cni0: RECEIVE ROUTE TRANSMIT BRIDGE',
    'default/pod-b1 eth0→-: RECEIVE DELIVER',
  ]);
});

test('same node: switched by cni0, never routed by the node', () => {
  const r = run(c, 'pod-a1', 'pod-a2');
  assert.equal(r.disposition, 'DELIVERED');
  assert.deepEqual(r.hops.map((h) => [h.netns, h.steps.map((s) => s.type).join(' ')]), [
    ['default/pod-a1', 'ORIGINATE ROUTE TRANSMIT'],
    ['node-a', 'BRIDGE'],
    ['default/pod-a2', 'RECEIVE DELIVER'],
  ]);
});

test('an unassigned address of another node\'s subnet: routed there, then NEIGHBOR_UNREACHABLE on its cni0', () => {
  const r = run(c, 'pod-a1', '10.1.2.99');
  assert.equal(r.disposition, 'NEIGHBOR_UNREACHABLE');
  assert.deepEqual(r.hops.map((h) => h.netns), ['default/pod-a1', 'node-a', 'node-b']);
  assert.match(r.summary, /cni0/);
});

// ---- the vxlan backend ----

const vx = compile(exampleCluster('flannel-vxlan-three-nodes'));
const macOf = (node: string) => netnsDoc(vx, node).links.find((l) => l.name === 'flannel.1')!.mac!;

test('vxlan: flannel.1 holds the subnet\'s .0, other subnets go via their .0 onlink, with a neighbour and an FDB entry each', () => {
  const node = netnsDoc(vx, 'node-a');
  assert.deepEqual(node.links.find((l) => l.name === 'flannel.1'), {
    name: 'flannel.1',
    kind: 'vxlan',
    addresses: ['10.1.1.0/32'],
    mtu: 1450,
    mac: macOf('node-a'),
    vni: 1,
    port: 8472,
    local: '192.168.0.11',
    underlay: 'eth0',
  });
  assert.equal(node.links.find((l) => l.name === 'cni0')!.mtu, 1450);
  assert.deepEqual(node.routes, [
    { dst: 'default', gateway: '192.168.0.1', dev: 'eth0' },
    { dst: '10.1.2.0/24', gateway: '10.1.2.0', dev: 'flannel.1', flags: ['onlink'] },
    { dst: '10.1.3.0/24', gateway: '10.1.3.0', dev: 'flannel.1', flags: ['onlink'] },
  ]);
  assert.deepEqual(node.neigh, [
    { dst: '10.1.2.0', lladdr: macOf('node-b'), dev: 'flannel.1' },
    { dst: '10.1.3.0', lladdr: macOf('node-c'), dev: 'flannel.1' },
  ]);
  assert.deepEqual(node.fdb, [
    { mac: macOf('node-b'), dev: 'flannel.1', dst: '192.168.0.12' },
    { mac: macOf('node-c'), dev: 'flannel.1', dst: '192.168.0.13' },
  ]);
  assert.equal(netnsDoc(vx, 'default/pod-a1').links[0]!.mtu, 1450);
});

test('vxlan cross-node: encapsulated on flannel.1, the outer packet routed on eth0, decapsulated by the other flannel.1', () => {
  const r = run(vx, 'pod-a1', 'pod-c1');
  assert.equal(r.disposition, 'DELIVERED');
  const vethA1 = netnsDoc(vx, 'default/pod-a1').links[0]!.peer!.link;
  assert.deepEqual(hops(r), [
    'default/pod-a1 -→eth0: ORIGINATE ROUTE TRANSMIT',
    `node-a ${vethA1}→eth0: BRIDGE RECEIVE ROUTE ENCAPSULATE ROUTE TRANSMIT`,
    'node-c eth0→cni0: RECEIVE DECAPSULATE RECEIVE ROUTE TRANSMIT BRIDGE',
    'default/pod-c1 eth0→-: RECEIVE DELIVER',
  ]);
  const encap = r.hops[1]!.steps.find((s) => s.type === 'ENCAPSULATE')!;
  assert.deepEqual(encap.outer, { src: '192.168.0.11', dst: '192.168.0.13', protocol: 'udp', vni: 1, port: 8472, ttl: 64 });
  assert.equal(encap.overhead, 50);
  assert.equal(encap.lladdr, macOf('node-c'));
  const outerRoute = r.hops[1]!.steps.filter((s) => s.type === 'ROUTE')[1]!;
  assert.equal(outerRoute.dst, '192.168.0.13');
  // The inner TTL drops at each node; the outer header starts afresh.
  assert.deepEqual(r.hops[2]!.steps.filter((s) => s.type === 'RECEIVE').map((s) => s.ttl), [64, 63]);
});

test('vxlan same node: switched by cni0, never encapsulated', () => {
  const r = run(vx, 'pod-a1', 'pod-a2');
  assert.equal(r.disposition, 'DELIVERED');
  assert.deepEqual(r.hops.map((h) => h.netns), ['default/pod-a1', 'node-a', 'default/pod-a2']);
  assert.ok(r.hops.every((h) => h.steps.every((s) => s.type !== 'ENCAPSULATE')));
});

/** The compiled vxlan cluster as a fabric document, changed by `edit`, compiled again. */
function edited(edit: (fabric: ReturnType<typeof materialise>) => void) {
  const fabric = materialise(vx.fabric);
  edit(fabric);
  return compileTopology(checkTopology({ fabric }));
}

test('vxlan: a missing FDB entry drops the packet at the sender, as the VXLAN device does', () => {
  const c = edited((f) => {
    const a = f.netns.find((n) => n.name === 'node-a')!;
    a.fdb = a.fdb!.filter((e) => e.dst !== '192.168.0.13');
  });
  const r = run(c, 'pod-a1', 'pod-c1');
  assert.equal(r.disposition, 'NEIGHBOR_UNREACHABLE');
  assert.equal(r.hops.at(-1)!.netns, 'node-a');
  assert.match(r.summary, /flannel\.1's FDB has no entry for/);
});

test('vxlan: a missing neighbour entry drops at the sender too (ARP cannot cross the tunnel)', () => {
  const c = edited((f) => {
    const a = f.netns.find((n) => n.name === 'node-a')!;
    a.neigh = a.neigh!.filter((e) => e.dst !== '10.1.3.0');
  });
  const r = run(c, 'pod-a1', 'pod-c1');
  assert.equal(r.disposition, 'NEIGHBOR_UNREACHABLE');
  assert.match(r.summary, /no permanent neighbour entry for 10\.1\.3\.0/);
});

test('vxlan: a stale VTEP MAC is discarded by the receiver; a VNI nobody listens on is refused', () => {
  const stale = edited((f) => {
    const a = f.netns.find((n) => n.name === 'node-a')!;
    a.neigh = a.neigh!.map((e) => (e.dst === '10.1.3.0' ? { ...e, lladdr: '02:00:00:00:00:99' } : e));
    a.fdb = [...a.fdb!, { mac: '02:00:00:00:00:99', dev: 'flannel.1', dst: '192.168.0.13' }];
  });
  const r1 = run(stale, 'pod-a1', 'pod-c1');
  assert.equal(r1.disposition, 'NEIGHBOR_UNREACHABLE');
  assert.equal(r1.hops.at(-1)!.netns, 'node-c');
  assert.match(r1.summary, /stale VTEP MAC/);

  const vni = edited((f) => {
    f.netns.find((n) => n.name === 'node-c')!.links.find((l) => l.name === 'flannel.1')!.vni = 2;
  });
  const r2 = run(vni, 'pod-a1', 'pod-c1');
  assert.equal(r2.disposition, 'UNREACHABLE');
  assert.equal(r2.hops.at(-1)!.netns, 'node-c');
  assert.match(r2.summary, /no vxlan link listens on UDP port 8472 with VNI 1/);
});

test('vxlan with directRouting: the nodes share the underlay subnet, so every route is host-gw', () => {
  const doc = exampleCluster('flannel-vxlan-two-nodes');
  doc.cni = { plugin: 'flannel', backend: 'vxlan', directRouting: true };
  const node = netnsDoc(compile(doc), 'node-a');
  assert.deepEqual(node.routes, [
    { dst: 'default', gateway: '192.168.0.1', dev: 'eth0' },
    { dst: '10.1.2.0/24', gateway: '192.168.0.12', dev: 'eth0' },
  ]);
});

test('vxlan dual-stack: IPv6 goes through flannel-v6.1 (MTU 1430) between the nodes\' IPv6 addresses', () => {
  const doc = dualStack(exampleCluster('flannel-vxlan-two-nodes'));
  const c = compile(doc);
  const node = netnsDoc(c, 'node-a');
  const v6 = node.links.find((l) => l.name === 'flannel-v6.1')!;
  assert.deepEqual([v6.kind, v6.addresses, v6.mtu, v6.local], ['vxlan', ['fd01:0:0:1::/128'], 1430, 'fd00::11']);
  assert.equal(node.links.find((l) => l.name === 'cni0')!.mtu, 1430);
  assert.ok(node.routes!.some((r) => r.dst === 'fd01:0:0:2::/64' && r.gateway === 'fd01:0:0:2::' && r.dev === 'flannel-v6.1'));

  const src = c.resolve('pod-a1', 'source');
  const dst = c.resolve('pod-b1', 'destination');
  const r6 = explain(c.fabric, c.trace(src, dst, 64, 6), { from: src.name, to: dst.name });
  assert.equal(r6.disposition, 'DELIVERED');
  const encap = r6.hops[1]!.steps.find((s) => s.type === 'ENCAPSULATE')!;
  const outer = encap.outer as { src: string; dst: string };
  assert.deepEqual([encap.link, outer.src, outer.dst, encap.overhead], ['flannel-v6.1', 'fd00::11', 'fd00::12', 70]);
  const decap = r6.hops[2]!.steps.find((s) => s.type === 'DECAPSULATE')!;
  assert.equal(decap.link, 'flannel-v6.1');
  const r4 = explain(c.fabric, c.trace(src, dst, 64, 4), { from: src.name, to: dst.name });
  assert.equal(r4.hops[1]!.steps.find((s) => s.type === 'ENCAPSULATE')!.link, 'flannel.1');
});

test('vxlan: a node sends to another node\'s pods from flannel.1\'s address, as the kernel picks it', () => {
  const r = run(vx, 'node-a', 'pod-c1');
  assert.equal(r.disposition, 'DELIVERED');
  assert.equal(r.hops[0]!.steps[0]!.src, '10.1.1.0');
  assert.equal(run(vx, 'node-a', 'node-c').hops[0]!.steps[0]!.src, '192.168.0.11');
});
