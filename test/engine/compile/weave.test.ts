// Weave Net: one subnet for every pod, a bridge weave per node holding the node's address in it, and the weave bridges
// of all nodes one L2 domain (vethwe-bridge plugged into the segment weave), so pods of different nodes reach each other
// by ARP and bridging, never through a node's routing table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTopology } from '../../../src/engine/topology.js';
import { fibRoutes, materialise, routeDoc } from '../../../src/engine/materialise.js';
import type { CompiledTopology } from '../../../src/engine/topology.js';
import { DataError } from '../../../src/topology/data-error.js';
import { checkTopology } from '../../../src/topology/validate.js';
import type { ClusterDoc } from '../../../src/topology/schema.js';
import { compile, exampleCluster, hops, netnsDoc, run } from './helpers.js';

const c = compile(exampleCluster('weave-two-nodes'));

/** The whole IPv4 table as `ip -j route` prints it, connected routes included. */
function ipRoute(t: CompiledTopology, name: string) {
  const ns = t.fabric.byName.get(name)!;
  return fibRoutes(ns.fib4).map((r) => routeDoc(r, ns));
}

const hostVeth = (t: CompiledTopology, pod: string) => netnsDoc(t, `default/${pod}`).links[0]!.peer!.link;

test('a node: bridge weave with its address in the subnet, vethwe-bridge on the weave segment, no route to any pod', () => {
  const node = netnsDoc(c, 'node-a');
  assert.deepEqual(node.links.slice(0, 3), [
    { name: 'eth0', kind: 'physical', addresses: ['192.168.0.11/24'], segment: 'underlay' },
    { name: 'weave', kind: 'bridge', addresses: ['10.32.0.1/12'] },
    { name: 'vethwe-bridge', kind: 'physical', master: 'weave', segment: 'weave' },
  ]);
  const veths = node.links.slice(3);
  assert.equal(veths.length, 2);
  for (const l of veths) {
    assert.match(l.name, /^vethwepl[0-9a-f]{7}$/);
    assert.equal(l.master, 'weave');
    assert.equal(l.addresses, undefined);
  }
  assert.equal(node.forwarding, true);
  assert.deepEqual(ipRoute(c, 'node-a'), [
    { dst: '192.168.0.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: '192.168.0.11' },
    { dst: '10.32.0.0/12', dev: 'weave', protocol: 'kernel', scope: 'link', prefsrc: '10.32.0.1' },
    { dst: 'default', gateway: '192.168.0.1', dev: 'eth0' },
  ]);
  // weave expose allocates before the node's pods: just below node-b's first pod IP, 10.44.0.1.
  assert.deepEqual(netnsDoc(c, 'node-b').links[1], { name: 'weave', kind: 'bridge', addresses: ['10.44.0.0/12'] });
  assert.deepEqual(materialise(c.fabric).segments, [{ name: 'underlay', cidr: '192.168.0.0/24', external: ['192.168.0.1'] }, { name: 'weave', cidr: '10.32.0.0/12' }]);
});

test('a pod: its IP with the subnet\'s length (the whole subnet on-link) and default via its node\'s weave address', () => {
  const pod = netnsDoc(c, 'default/pod-b1');
  assert.deepEqual(pod.links, [{ name: 'eth0', kind: 'veth', addresses: ['10.44.0.1/12'], peer: { netns: 'node-b', link: hostVeth(c, 'pod-b1') } }]);
  assert.deepEqual(ipRoute(c, 'default/pod-b1'), [
    { dst: '10.32.0.0/12', dev: 'eth0', protocol: 'kernel', scope: 'link' },
    { dst: 'default', gateway: '10.44.0.0', dev: 'eth0' },
  ]);
  assert.deepEqual(netnsDoc(c, 'default/pod-b1').routes, [{ dst: 'default', gateway: '10.44.0.0', dev: 'eth0' }]);
});

test('cross-node: bridged by weave, over the weave segment, by the other node\'s weave; no node routes it', () => {
  const r = run(c, 'pod-a1', 'pod-b1');
  assert.equal(r.disposition, 'DELIVERED');
  assert.deepEqual(hops(r), [
    'default/pod-a1 -→eth0: ORIGINATE ROUTE TRANSMIT',
    `node-a ${hostVeth(c, 'pod-a1')}→vethwe-bridge: BRIDGE`,
    `node-b vethwe-bridge→${hostVeth(c, 'pod-b1')}: BRIDGE`,
    'default/pod-b1 eth0→-: RECEIVE DELIVER',
  ]);
  const route = r.hops[0]!.steps.find((s) => s.type === 'ROUTE')!;
  assert.deepEqual(route.route, { dst: '10.32.0.0/12', dev: 'eth0', protocol: 'kernel', scope: 'link' });
  // Switched, never forwarded at L3: the TTL arrives as it left.
  assert.deepEqual([r.hops[3]!.steps[0]!.type, r.hops[3]!.steps[0]!.ttl], ['RECEIVE', 64]);
});

test('same node: switched by weave, never leaves the node', () => {
  const r = run(c, 'pod-a1', 'pod-a2');
  assert.equal(r.disposition, 'DELIVERED');
  assert.deepEqual(hops(r), [
    'default/pod-a1 -→eth0: ORIGINATE ROUTE TRANSMIT',
    `node-a ${hostVeth(c, 'pod-a1')}→${hostVeth(c, 'pod-a2')}: BRIDGE`,
    'default/pod-a2 eth0→-: RECEIVE DELIVER',
  ]);
});

test('pod to another node\'s address: default via its own node\'s weave address, then routed onto the underlay', () => {
  const r = run(c, 'pod-a1', 'node-b');
  assert.equal(r.disposition, 'DELIVERED');
  assert.deepEqual(hops(r), [
    'default/pod-a1 -→eth0: ORIGINATE ROUTE TRANSMIT',
    `node-a ${hostVeth(c, 'pod-a1')}→eth0: BRIDGE RECEIVE ROUTE TRANSMIT`,
    'node-b eth0→-: RECEIVE DELIVER',
  ]);
  const transmit = r.hops[0]!.steps.find((s) => s.type === 'TRANSMIT')!;
  assert.match(transmit.explanation, /10\.32\.0\.1/);
});

test('a node reaches another node\'s pod through its own weave bridge, not the underlay', () => {
  const r = run(c, 'node-b', 'pod-a1');
  assert.equal(r.disposition, 'DELIVERED');
  assert.deepEqual(hops(r), [
    'node-b -→weave: ORIGINATE ROUTE TRANSMIT BRIDGE',
    `node-a vethwe-bridge→${hostVeth(c, 'pod-a1')}: BRIDGE`,
    'default/pod-a1 eth0→-: RECEIVE DELIVER',
  ]);
});

test('an address of the subnet no pod has: nobody on the weave network answers ARP, NEIGHBOR_UNREACHABLE in the pod', () => {
  const r = run(c, 'pod-a1', '10.32.0.99');
  assert.equal(r.disposition, 'NEIGHBOR_UNREACHABLE');
  assert.deepEqual(r.hops.map((h) => h.netns), ['default/pod-a1']);
  assert.match(r.summary, /nobody on eth0's layer-2 domain owns 10\.32\.0\.99/);
});

test('node-b\'s vethwe-bridge down: its pods are cut off from the weave network, the underlay still works', () => {
  const fabric = materialise(c.fabric);
  const nodeB = fabric.netns.find((n) => n.name === 'node-b')!;
  nodeB.links.find((l) => l.name === 'vethwe-bridge')!.up = false;
  const f = compileTopology(checkTopology({ fabric }));
  const r = run(f, 'pod-a1', 'pod-b1');
  assert.equal(r.disposition, 'NEIGHBOR_UNREACHABLE');
  assert.deepEqual(r.hops.map((h) => h.netns), ['default/pod-a1']);
  assert.equal(run(f, 'pod-b1', 'pod-b2').disposition, 'DELIVERED');
  assert.equal(run(f, 'pod-a1', 'node-b').disposition, 'DELIVERED');
});

test('three nodes, the subnet given: every pair of pods is bridged, each node\'s address just below its first pod', () => {
  const c3 = compile(exampleCluster('weave-three-nodes'));
  const weaveAddr = (node: string) => netnsDoc(c3, node).links[1]!.addresses;
  assert.deepEqual(['node-a', 'node-b', 'node-c'].map(weaveAddr), [['10.32.0.1/16'], ['10.32.128.0/16'], ['10.32.64.0/16']]);
  assert.deepEqual(netnsDoc(c3, 'default/db-1').routes, [{ dst: 'default', gateway: '10.32.128.0', dev: 'eth0' }]);
  const pods = c3.pods().filter((p) => p.name.startsWith('default/'));
  for (const from of pods) {
    for (const to of pods) {
      if (from === to) continue;
      const r = run(c3, from.name, to.name);
      assert.equal(r.disposition, 'DELIVERED', r.summary);
      assert.ok(r.hops.every((h) => !h.netns.startsWith('node-') || h.steps.every((s) => s.type === 'BRIDGE')), r.summary);
    }
  }
  // The weave-net pods run in their nodes' netns.
  assert.equal(run(c3, 'web-4', 'weave-net-4xk7p').hops.at(-1)!.netns, 'node-a');
});

test('a node whose address below its first pod is taken, and a node without pods, get the lowest free addresses', () => {
  const doc = exampleCluster('weave-two-nodes');
  doc.nodes.push({ name: 'node-c', addresses: [{ type: 'InternalIP', address: '192.168.0.13' }], podCIDRs: [] });
  // pod-b1 moves to 10.32.0.4: the address below it is pod-a2's.
  doc.pods!.find((p) => p.name === 'pod-b1')!.podIPs = ['10.32.0.4'];
  const t = compile(doc);
  const weaveAddr = (node: string) => netnsDoc(t, node).links[1]!.addresses;
  assert.deepEqual(['node-a', 'node-b', 'node-c'].map(weaveAddr), [['10.32.0.1/12'], ['10.32.0.5/12'], ['10.32.0.6/12']]);
  assert.equal(run(t, 'pod-b1', 'pod-a1').disposition, 'DELIVERED');
});

function invalid(doc: ClusterDoc): DataError {
  try {
    checkTopology({ cluster: doc });
  } catch (err) {
    assert.ok(err instanceof DataError, `not a DataError: ${err}`);
    assert.equal(err.status, 422);
    return err;
  }
  assert.fail('the cluster was accepted');
}

test('validation: weave pod IPs come from its subnet, not from the nodes\' pod CIDRs', () => {
  const doc = exampleCluster('weave-three-nodes');
  doc.nodes[0]!.podCIDRs = ['10.244.0.0/24'];
  doc.pods![1]!.podIPs = [{ ip: '10.33.0.7' }];
  doc.pods![2]!.podIPs = ['10.32.255.255'];
  doc.pods![3]!.podIPs = ['fd00:32::3'];
  doc.nodes[2]!.addresses.push({ type: 'ExternalIP', address: '10.32.200.1' });
  assert.deepEqual(invalid(doc).errors, [
    { pointer: '/cluster/nodes/2/addresses/1/address', detail: '10.32.200.1 is inside the weave subnet 10.32.0.0/16: weave refuses to start on a host whose network overlaps it' },
    { pointer: '/cluster/pods/1/podIPs/0/ip', detail: '10.33.0.7 is outside 10.32.0.0/16, the weave subnet every pod address comes from' },
    { pointer: '/cluster/pods/2/podIPs/0', detail: '10.32.255.255 is the first or last address of the weave subnet 10.32.0.0/16, which weave never gives out' },
    { pointer: '/cluster/pods/3/podIPs/0', detail: 'Weave Net allocates IPv4 addresses only, and fd00:32::3 is IPv6' },
  ]);
  // Outside the node's pod CIDR is fine: weave never reads it.
  doc.pods!.splice(1, 3);
  doc.nodes[2]!.addresses.pop();
  assert.doesNotThrow(() => checkTopology({ cluster: doc }));
});

test('validation: an IPv6 weave subnet, and a subnet too small for its pods and nodes', () => {
  const doc = exampleCluster('weave-two-nodes');
  doc.cni = { plugin: 'weave', subnet: 'fd00:32::/64' };
  assert.deepEqual(invalid(doc).errors, [{ pointer: '/cluster/cni/subnet', detail: 'Weave Net allocates IPv4 addresses only, and fd00:32::/64 is IPv6' }]);
  doc.cni = { plugin: 'weave', subnet: '10.32.0.0/29' };
  for (const [i, p] of doc.pods!.entries()) p.podIPs = [`10.32.0.${i + 1}`];
  // Exactly enough: the nodes take the two addresses the pods left.
  const full = compile(doc);
  assert.deepEqual(['node-a', 'node-b'].map((n) => netnsDoc(full, n).links[1]!.addresses), [['10.32.0.5/29'], ['10.32.0.6/29']]);
  doc.pods!.push({ name: 'pod-b3', nodeName: 'node-b', podIPs: ['10.32.0.5'] });
  assert.deepEqual(invalid(doc).errors, [
    { pointer: '/cluster/cni/subnet', detail: 'the weave subnet 10.32.0.0/29 has 6 addresses to give out, and its 5 pods and 2 nodes need 7 (each node\'s weave bridge takes one)' },
  ]);
});
