// Flannel's host-gw backend: the bridge data path with the bridge named cni0, and every other node's subnet via that node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, exampleCluster, hops, netnsDoc, run } from './helpers.js';

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

test('the vxlan backend is still answered as unsupported, naming what can be traced', () => {
  const doc = exampleCluster('flannel-host-gw-two-nodes');
  doc.cni = { plugin: 'flannel', backend: 'vxlan' };
  assert.throws(() => compile(doc), /flannel data path cannot be traced yet with the vxlan backend: it needs tunnel encapsulation.*flannel with the host-gw backend/);
});
