// The bridge data path with cloud routes: the nodes hold only a default route to the VPC router, which holds every
// node's pod CIDR via that node (a cloud VPC route table), so node-to-node pod traffic goes node → router → node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, exampleCluster, hops, netnsDoc, run } from './helpers.js';

const c = compile(exampleCluster('bridge-cloud-two-nodes'));

test('the nodes hold only the default route; the router holds every pod CIDR via its node, and the internet gateway', () => {
  assert.deepEqual(netnsDoc(c, 'node-a').routes, [{ dst: 'default', gateway: '192.168.0.1', dev: 'eth0' }]);
  const router = netnsDoc(c, 'vpc-router');
  assert.equal(router.kind, 'router');
  assert.equal(router.forwarding, true);
  assert.deepEqual(router.links, [
    { name: 'eth0', kind: 'physical', addresses: ['192.168.0.1/24'], segment: 'underlay' },
    { name: 'igw', kind: 'physical', addresses: ['169.254.255.1/30'], segment: 'internet' },
  ]);
  assert.deepEqual(router.routes, [
    { dst: '10.1.1.0/24', gateway: '192.168.0.11', dev: 'eth0' },
    { dst: '10.1.2.0/24', gateway: '192.168.0.12', dev: 'eth0' },
    { dst: 'default', gateway: '169.254.255.2', dev: 'igw' },
  ]);
});

test('without network.gateway the router takes the node network\'s first free address', () => {
  const three = compile(exampleCluster('bridge-cloud-three-nodes'));
  assert.deepEqual(netnsDoc(three, 'vpc-router').links[0]!.addresses, ['192.168.0.1/24']);
  assert.deepEqual(netnsDoc(three, 'node-c').routes, [{ dst: 'default', gateway: '192.168.0.1', dev: 'eth0' }]);
  const doc = exampleCluster('bridge-cloud-three-nodes');
  doc.network = undefined;
  doc.nodes[0]!.addresses = [{ type: 'InternalIP', address: '192.168.0.9' }];
  // The nodes .9, .12, .13 make the network 192.168.0.8/29; .9 is taken, so the router is .10.
  assert.deepEqual(netnsDoc(compile(doc), 'vpc-router').links[0]!.addresses, ['192.168.0.10/29']);
});

test('cross-node: node → VPC router → node', () => {
  const r = run(c, 'pod-a1', 'pod-b1');
  assert.equal(r.disposition, 'DELIVERED');
  const vethA1 = netnsDoc(c, 'default/pod-a1').links[0]!.peer!.link;
  assert.deepEqual(hops(r), [
    'default/pod-a1 -→eth0: ORIGINATE ROUTE TRANSMIT',
    `node-a ${vethA1}→eth0: BRIDGE RECEIVE ROUTE TRANSMIT`,
    'vpc-router eth0→eth0: RECEIVE ROUTE TRANSMIT',
    'node-b eth0→cbr0: RECEIVE ROUTE TRANSMIT BRIDGE',
    'default/pod-b1 eth0→-: RECEIVE DELIVER',
  ]);
  const route = r.hops[2]!.steps.find((s) => s.type === 'ROUTE')!;
  assert.deepEqual(route.route, { dst: '10.1.2.0/24', gateway: '192.168.0.12', dev: 'eth0' });
});

test('same node: switched by cbr0, never leaves the node', () => {
  const r = run(c, 'pod-a1', 'pod-a2');
  assert.equal(r.disposition, 'DELIVERED');
  assert.deepEqual(r.hops.map((h) => h.netns), ['default/pod-a1', 'node-a', 'default/pod-a2']);
});

test('an address in no node\'s pod CIDR follows the VPC route table\'s default route to the internet gateway, as the internet does', () => {
  const doc = exampleCluster('bridge-cloud-two-nodes');
  for (const to of ['10.1.9.9', '8.8.8.8']) {
    const r = run(compile(doc), 'pod-a1', to);
    assert.equal(r.disposition, 'EXITS_NETWORK', to);
    assert.deepEqual(r.hops.map((h) => h.netns), ['default/pod-a1', 'node-a', 'vpc-router']);
  }
});

test('the router is an endpoint by its name', () => {
  assert.equal(run(c, 'pod-a1', 'vpc-router').disposition, 'DELIVERED');
});
