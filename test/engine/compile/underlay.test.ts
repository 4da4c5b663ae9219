// Underlays of several subnets joined by a router: what host-gw cannot cross (the gateway is no neighbour), and how
// flannel's directRouting, Calico's crossSubnet and Cilium's direct node routes choose per pair of nodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, exampleCluster, netnsDoc, run, stepTypes } from './helpers.js';
import type { ClusterDoc, CniDoc } from '../../../src/topology/schema.js';
import { checkTopology } from '../../../src/topology/validate.js';
import { DataError } from '../../../src/topology/data-error.js';

/** The three-node example of a data path, with node-c moved to a second subnet. */
function twoSubnets(example: string, cni?: CniDoc): ClusterDoc {
  const doc = exampleCluster(example);
  doc.network = { subnets: ['192.168.0.0/24', '192.168.1.0/24'] };
  doc.nodes[2]!.addresses[0]!.address = '192.168.1.13';
  if (cni !== undefined) doc.cni = cni;
  return doc;
}

const route = (c: ReturnType<typeof compile>, node: string, dst: string) => netnsDoc(c, node).routes!.find((r) => r.dst === dst);

test('a router joins the subnets and is each node\'s default gateway on its own subnet', () => {
  const c = compile(twoSubnets('flannel-host-gw-three-nodes'));
  assert.deepEqual(netnsDoc(c, 'underlay-router').links.map((l) => [l.name, l.addresses, l.segment]), [
    ['eth0', ['192.168.0.1/24'], 'underlay-0'],
    ['eth1', ['192.168.1.1/24'], 'underlay-1'],
  ]);
  assert.deepEqual(route(c, 'node-a', 'default'), { dst: 'default', gateway: '192.168.0.1', dev: 'eth0' });
  assert.deepEqual(route(c, 'node-c', 'default'), { dst: 'default', gateway: '192.168.1.1', dev: 'eth0' });
  const r = run(c, 'node-a', 'node-c');
  assert.equal(r.disposition, 'DELIVERED');
  assert.deepEqual(r.hops.map((h) => h.netns), ['node-a', 'underlay-router', 'node-c']);
});

test('host-gw across subnets: the route is onlink and ARP for the other node goes unanswered (NEIGHBOR_UNREACHABLE)', () => {
  const c = compile(twoSubnets('flannel-host-gw-three-nodes'));
  assert.deepEqual(route(c, 'node-a', '10.1.2.0/24'), { dst: '10.1.2.0/24', gateway: '192.168.0.12', dev: 'eth0' });
  assert.deepEqual(route(c, 'node-a', '10.1.3.0/24'), { dst: '10.1.3.0/24', gateway: '192.168.1.13', dev: 'eth0', flags: ['onlink'] });
  assert.equal(run(c, 'pod-a1', 'pod-b1').disposition, 'DELIVERED');
  const r = run(c, 'pod-a1', 'pod-c1');
  assert.equal(r.disposition, 'NEIGHBOR_UNREACHABLE');
  assert.equal(r.hops.at(-1)!.netns, 'node-a');
  assert.match(r.summary, /192\.168\.1\.13/);
});

test('flannel vxlan with directRouting: host-gw to the same subnet, flannel.1 across, the outer packet through the router', () => {
  const c = compile(exampleCluster('flannel-vxlan-two-subnets'));
  assert.deepEqual(route(c, 'node-a', '10.1.2.0/24'), { dst: '10.1.2.0/24', gateway: '192.168.0.12', dev: 'eth0' });
  assert.deepEqual(route(c, 'node-a', '10.1.3.0/24'), { dst: '10.1.3.0/24', gateway: '10.1.3.0', dev: 'flannel.1', flags: ['onlink'] });
  const r = run(c, 'pod-a1', 'pod-c1');
  assert.equal(r.disposition, 'DELIVERED');
  assert.deepEqual(stepTypes(r), [
    'default/pod-a1: ORIGINATE ROUTE TRANSMIT',
    'node-a: BRIDGE RECEIVE ROUTE ENCAPSULATE ROUTE TRANSMIT',
    'underlay-router: RECEIVE ROUTE TRANSMIT',
    'node-c: RECEIVE DECAPSULATE RECEIVE ROUTE TRANSMIT BRIDGE',
    'default/pod-c1: RECEIVE DELIVER',
  ]);
  const direct = run(c, 'pod-a1', 'pod-b1');
  assert.ok(direct.hops.every((h) => h.steps.every((s) => s.type !== 'ENCAPSULATE')));
});

test('calico ipip with crossSubnet: native to the same subnet, tunl0 across', () => {
  const c = compile(twoSubnets('calico-ipip-three-nodes', { plugin: 'calico', mode: 'ipip', crossSubnet: true }));
  assert.equal(route(c, 'node-a', '10.1.2.0/26')!.dev, 'eth0');
  assert.deepEqual(route(c, 'node-a', '10.1.3.0/26'), { dst: '10.1.3.0/26', gateway: '192.168.1.13', dev: 'tunl0', protocol: 'bird', flags: ['onlink'] });
  const r = run(c, 'pod-a1', 'pod-c1');
  assert.equal(r.disposition, 'DELIVERED');
  assert.deepEqual(r.hops.map((h) => h.netns), ['default/pod-a1', 'node-a', 'underlay-router', 'node-c', 'default/pod-c1']);
});

test('calico bgp across subnets: BIRD resolves the other node through the router, which has no route for the block', () => {
  const c = compile(twoSubnets('calico-bgp-three-nodes'));
  assert.deepEqual(route(c, 'node-a', '10.1.3.0/26'), { dst: '10.1.3.0/26', gateway: '192.168.0.1', dev: 'eth0', protocol: 'bird' });
  const r = run(c, 'pod-a1', 'pod-c1');
  assert.equal(r.disposition, 'NO_ROUTE');
  assert.equal(r.hops.at(-1)!.netns, 'underlay-router');
});

test('cilium native: direct node routes only to the same subnet; cilium tunnel reaches every node', () => {
  const native = compile(twoSubnets('cilium-native-three-nodes'));
  assert.equal(route(native, 'node-a', '10.1.3.0/24'), undefined);
  assert.equal(run(native, 'pod-a1', 'pod-b1').disposition, 'DELIVERED');
  assert.equal(run(native, 'pod-a1', 'pod-c1').disposition, 'NO_ROUTE');
  const tunnel = compile(twoSubnets('cilium-tunnel-three-nodes'));
  assert.equal(run(tunnel, 'pod-a1', 'pod-c1').disposition, 'DELIVERED');
});

test('a node outside every subnet, overlapping subnets, or subnets with cidr are 422s that point at the field', () => {
  const doc = twoSubnets('flannel-host-gw-three-nodes');
  doc.nodes[1]!.addresses[0]!.address = '172.16.0.12';
  doc.network = { subnets: ['192.168.0.0/24', '192.168.1.0/24', '192.168.0.0/16'], cidr: '192.168.0.0/16' };
  let err: DataError | undefined;
  try {
    checkTopology({ cluster: doc });
  } catch (e) {
    err = e as DataError;
  }
  assert.ok(err instanceof DataError);
  assert.deepEqual([...new Set(err.errors.map((e) => e.pointer))].sort(), [
    '/cluster/network/cidr',
    '/cluster/network/subnets/2',
    '/cluster/nodes/1/addresses/0/address',
  ]);
});
