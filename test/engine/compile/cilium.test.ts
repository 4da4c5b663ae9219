// Cilium with native routing and auto-direct-node-routes: cilium_host holds the router IP, a route per local pod via its
// lxc…, every other node's pod CIDR via that node; tunnel routing stays unsupported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, dualStack, exampleCluster, hops, netnsDoc, run, stepTypes, tunnelled } from './helpers.js';
import { explain } from '../../../src/answer/explain.js';
import { materialise } from '../../../src/engine/materialise.js';
import { compileTopology } from '../../../src/engine/topology.js';
import { checkTopology } from '../../../src/topology/validate.js';

const c = compile(exampleCluster('cilium-native-two-nodes'));
const lxc = (node: string) => netnsDoc(c, node).links.filter((l) => l.name.startsWith('lxc')).map((l) => l.name);

test('a node: cilium_host with the router IP, a route per local pod, the other pod CIDRs via their nodes', () => {
  const node = netnsDoc(c, 'node-a');
  assert.deepEqual(node.links.find((l) => l.name === 'cilium_host'), {
    name: 'cilium_host',
    kind: 'veth',
    addresses: ['10.1.1.1/32'],
    peer: { netns: 'node-a', link: 'cilium_net' },
  });
  for (const name of lxc('node-a')) assert.match(name, /^lxc[0-9a-f]{12}$/);
  assert.ok(node.links.filter((l) => l.name.startsWith('lxc')).every((l) => l.proxyArp === true && l.addresses === undefined));
  const [a1, a2] = lxc('node-a');
  assert.deepEqual(node.routes, [
    { dst: '10.1.1.0/24', dev: 'cilium_host', scope: 'link' },
    { dst: 'default', gateway: '192.168.0.1', dev: 'eth0' },
    { dst: '10.1.1.2', dev: a1, scope: 'link' },
    { dst: '10.1.1.3', dev: a2, scope: 'link' },
    { dst: '10.1.2.0/24', gateway: '192.168.0.12', dev: 'eth0' },
  ]);
  assert.deepEqual(netnsDoc(c, 'default/pod-a1').routes, [
    { dst: '10.1.1.1', dev: 'eth0', scope: 'link' },
    { dst: 'default', gateway: '10.1.1.1', dev: 'eth0' },
  ]);
});

test('cross-node: lxc… → node → direct node route → other node → lxc… → pod', () => {
  const r = run(c, 'pod-a1', 'pod-b1');
  assert.equal(r.disposition, 'DELIVERED');
  assert.deepEqual(hops(r), [
    'default/pod-a1 -→eth0: ORIGINATE ROUTE TRANSMIT',
    `node-a ${lxc('node-a')[0]}→eth0: RECEIVE ROUTE TRANSMIT`,
    `node-b eth0→${lxc('node-b')[0]}: RECEIVE ROUTE TRANSMIT`,
    'default/pod-b1 eth0→-: RECEIVE DELIVER',
  ]);
});

test('same node: routed by the node from one lxc… to the other', () => {
  const r = run(c, 'pod-a1', 'pod-a2');
  assert.equal(r.disposition, 'DELIVERED');
  assert.deepEqual(hops(r).slice(1, 2), [`node-a ${lxc('node-a')[0]}→${lxc('node-a')[1]}: RECEIVE ROUTE TRANSMIT`]);
});

test('an unassigned address of the local pod CIDR goes to cilium_host, where nothing answers for it', () => {
  const r = run(c, 'pod-a1', '10.1.1.50');
  assert.equal(r.disposition, 'NEIGHBOR_UNREACHABLE');
  assert.deepEqual(hops(r).at(-1), `node-a ${lxc('node-a')[0]}→cilium_host: RECEIVE ROUTE DROP`);
});

test('dual-stack: the router IPv6 address on cilium_host, /128 pods, and a proxy NDP entry on lxc standing for BPF', () => {
  const doc = dualStack(exampleCluster('cilium-native-two-nodes'));
  const c = compile(doc);
  const node = netnsDoc(c, 'node-a');
  assert.deepEqual(node.links.find((l) => l.name === 'cilium_host')!.addresses, ['10.1.1.1/32', 'fd01:0:0:1::1/128']);
  const lxc = node.links.find((l) => l.name.startsWith('lxc'))!;
  assert.deepEqual([lxc.proxyArp, lxc.proxyNdp], [true, ['fd01:0:0:1::1']]);
  assert.deepEqual(netnsDoc(c, 'default/pod-a1').routes!.filter((r) => r.dst.includes(':') || r.gateway?.includes(':')), [
    { dst: 'fd01:0:0:1::1', dev: 'eth0', scope: 'link', metric: 1024 },
    { dst: 'default', gateway: 'fd01:0:0:1::1', dev: 'eth0', metric: 1024 },
  ]);
  assert.ok(node.routes!.some((r) => r.dst === 'fd01:0:0:2::/64' && r.gateway === 'fd00::12' && r.dev === 'eth0'));

  const src = c.resolve('pod-a1', 'source');
  const dst = c.resolve('pod-b1', 'destination');
  const r = explain(c.fabric, c.trace(src, dst, 64, 6), { from: src.name, to: dst.name });
  assert.equal(r.disposition, 'DELIVERED', r.summary);
  const transmit = r.hops[0]!.steps.find((s) => s.type === 'TRANSMIT')!;
  assert.match(transmit.explanation, /answers Neighbour Solicitation for it by proxy \(a proxy NDP entry\)/);
  assert.equal(explain(c.fabric, c.trace(src, dst, 64, 4), { from: src.name, to: dst.name }).disposition, 'DELIVERED');
});

// ---- tunnel routing ----

const tc = compile(exampleCluster('cilium-tunnel-three-nodes'));

test('tunnel: cilium_vxlan in external mode with the ipcache; the other pod CIDRs go to it', () => {
  const node = netnsDoc(tc, 'node-a');
  assert.deepEqual(node.links.find((l) => l.name === 'cilium_vxlan'), {
    name: 'cilium_vxlan',
    kind: 'vxlan',
    vni: 0,
    port: 8472,
    ipcache: [
      { prefix: '10.1.1.0/24', tunnelEndpoint: '192.168.0.11' },
      { prefix: '10.1.2.0/24', tunnelEndpoint: '192.168.0.12' },
      { prefix: '10.1.3.0/24', tunnelEndpoint: '192.168.0.13' },
    ],
  });
  const routes = node.routes!.filter((r) => r.dev === 'cilium_vxlan');
  assert.deepEqual(routes, [
    { dst: '10.1.2.0/24', dev: 'cilium_vxlan', scope: 'link' },
    { dst: '10.1.3.0/24', dev: 'cilium_vxlan', scope: 'link' },
  ]);
  assert.equal(netnsDoc(tc, 'default/pod-a1').links[0]!.mtu, 1450);
});

test('tunnel cross-node: a BPF decision, encapsulated to the ipcache\'s endpoint, decapsulated by the other node', () => {
  const r = run(tc, 'pod-a1', 'pod-c1');
  assert.equal(r.disposition, 'DELIVERED');
  assert.deepEqual(stepTypes(r), tunnelled('pod-a1', 'node-a', 'node-c', 'pod-c1'));
  const decision = r.hops[1]!.steps[1]!;
  assert.equal(decision.table, 'bpf');
  assert.match(decision.explanation, /Cilium's BPF program, not the kernel's route lookup/);
  const encap = r.hops[1]!.steps[2]!;
  assert.equal(encap.via, 'ipcache');
  assert.deepEqual(encap.outer, { src: '192.168.0.11', dst: '192.168.0.13', protocol: 'udp', port: 8472, ttl: 64 });
});

test('tunnel same node: routed by the node between lxc devices, never encapsulated', () => {
  const r = run(tc, 'pod-a1', 'pod-a2');
  assert.equal(r.disposition, 'DELIVERED');
  assert.deepEqual(r.hops.map((h) => h.netns), ['default/pod-a1', 'node-a', 'default/pod-a2']);
  assert.ok(r.hops.every((h) => h.steps.every((s) => s.type !== 'ENCAPSULATE')));
});

test('tunnel: an address the ipcache does not know is dropped by the BPF program at the sender', () => {
  const fabric = materialise(tc.fabric);
  const vx = fabric.netns.find((n) => n.name === 'node-a')!.links.find((l) => l.name === 'cilium_vxlan')!;
  vx.ipcache = vx.ipcache!.filter((e) => e.prefix !== '10.1.3.0/24');
  const c = compileTopology(checkTopology({ fabric }));
  const r = run(c, 'pod-a1', 'pod-c1');
  assert.equal(r.disposition, 'NEIGHBOR_UNREACHABLE');
  assert.equal(r.hops.at(-1)!.netns, 'node-a');
  assert.match(r.summary, /Cilium's ipcache on cilium_vxlan has no entry for 10\.1\.3\.2/);
});

test('tunnel with geneve: cilium_geneve on UDP 6081', () => {
  const doc = exampleCluster('cilium-tunnel-two-nodes');
  doc.cni = { plugin: 'cilium', routing: 'tunnel', tunnel: 'geneve' };
  const c = compile(doc);
  const r = run(c, 'pod-a1', 'pod-b1');
  assert.equal(r.disposition, 'DELIVERED');
  const encap = r.hops[1]!.steps.find((s) => s.type === 'ENCAPSULATE')!;
  assert.equal(encap.link, 'cilium_geneve');
  assert.deepEqual(encap.outer, { src: '192.168.0.11', dst: '192.168.0.12', protocol: 'udp', port: 6081, ttl: 64 });
});
