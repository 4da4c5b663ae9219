// Calico in BGP mode: the routes Calico documents (per-pod /32 via cali…, blackhole for the local block, BIRD routes to
// the remote blocks, 169.254.1.1 as the pods' gateway), and traces through them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, exampleCluster, hops, netnsDoc, run } from './helpers.js';

const c = compile(exampleCluster('calico-bgp-two-nodes'));

test('a node holds a /32 per local pod, a blackhole for its block and the other blocks via their nodes', () => {
  const node = netnsDoc(c, 'node-a');
  const cali = node.links.filter((l) => l.name.startsWith('cali'));
  assert.equal(cali.length, 2);
  for (const l of cali) {
    assert.match(l.name, /^cali[0-9a-f]{11}$/);
    assert.equal(l.proxyArp, true);
    assert.equal(l.addresses, undefined);
  }
  assert.ok(!node.links.some((l) => l.kind === 'bridge'), 'no bridge');
  const [a1, a2] = cali.map((l) => l.name);
  assert.deepEqual(node.routes, [
    { dst: 'default', gateway: '192.168.0.1', dev: 'eth0' },
    { type: 'blackhole', dst: '10.1.1.0/26', protocol: 'bird' },
    { dst: '10.1.1.2', dev: a1, scope: 'link' },
    { dst: '10.1.1.3', dev: a2, scope: 'link' },
    { dst: '10.1.2.0/26', gateway: '192.168.0.12', dev: 'eth0', protocol: 'bird' },
  ]);
});

test('a pod has its IP as a /32 and 169.254.1.1 as its gateway', () => {
  const pod = netnsDoc(c, 'default/pod-a1');
  assert.deepEqual(pod.links[0]!.addresses, ['10.1.1.2/32']);
  assert.deepEqual(pod.routes, [
    { dst: '169.254.1.1', dev: 'eth0', scope: 'link' },
    { dst: 'default', gateway: '169.254.1.1', dev: 'eth0' },
  ]);
});

test('cross-node: pod → its cali… by proxy-ARP → node → BGP route → other node → cali… → pod', () => {
  const r = run(c, 'pod-a1', 'pod-b1');
  assert.equal(r.disposition, 'DELIVERED');
  const [a1] = netnsDoc(c, 'node-a').links.filter((l) => l.name.startsWith('cali')).map((l) => l.name);
  const [b1] = netnsDoc(c, 'node-b').links.filter((l) => l.name.startsWith('cali')).map((l) => l.name);
  assert.deepEqual(hops(r), [
    'default/pod-a1 -→eth0: ORIGINATE ROUTE TRANSMIT',
    `node-a ${a1}→eth0: RECEIVE ROUTE TRANSMIT`,
    `node-b eth0→${b1}: RECEIVE ROUTE TRANSMIT`,
    'default/pod-b1 eth0→-: RECEIVE DELIVER',
  ]);
  const transmit = r.hops[0]!.steps.find((s) => s.type === 'TRANSMIT')!;
  assert.match(transmit.explanation, /169\.254\.1\.1/);
  assert.match(transmit.explanation, /proxy/i);
});

test('same node: routed by the node (no bridge), from one cali… to the other', () => {
  const r = run(c, 'pod-a1', 'pod-a2');
  assert.equal(r.disposition, 'DELIVERED');
  assert.deepEqual(r.hops.map((h) => h.netns), ['default/pod-a1', 'node-a', 'default/pod-a2']);
  assert.deepEqual(r.hops[1]!.steps.map((s) => s.type), ['RECEIVE', 'ROUTE', 'TRANSMIT']);
});

test('an unassigned address of the local block is BLACKHOLED at the node', () => {
  const r = run(c, 'pod-a1', '10.1.1.50');
  assert.equal(r.disposition, 'BLACKHOLED');
  assert.deepEqual(r.hops.map((h) => h.netns), ['default/pod-a1', 'node-a']);
});

test('without a default route on the node, proxy-ARP does not answer for 169.254.1.1: the pods reach nothing', () => {
  const doc = exampleCluster('calico-bgp-two-nodes');
  doc.network = { cidr: '192.168.0.0/24' };
  const r = run(compile(doc), 'pod-a1', 'pod-b1');
  assert.equal(r.disposition, 'NEIGHBOR_UNREACHABLE');
  assert.deepEqual(r.hops.map((h) => h.netns), ['default/pod-a1']);
});

test('the three-node example takes its blocks from ipamBlocks; a pod outside its node\'s blocks gets a /32 only', () => {
  const doc = exampleCluster('calico-bgp-three-nodes');
  doc.pods!.push({ namespace: 'default', name: 'borrowed', nodeName: 'node-c', podIPs: ['10.1.1.200'] });
  const c3 = compile(doc);
  const routes = netnsDoc(c3, 'node-c').routes!;
  assert.ok(routes.some((r) => r.dst === '10.1.1.200' && r.dev?.startsWith('cali')));
  assert.deepEqual(routes.filter((r) => r.protocol === 'bird').map((r) => `${r.type ?? ''} ${r.dst} ${r.gateway ?? ''}`), [
    'blackhole 10.1.3.0/26 ',
    ' 10.1.1.0/26 192.168.0.11',
    ' 10.1.2.0/26 192.168.0.12',
  ]);
  assert.equal(run(c3, 'pod-c1', 'borrowed').disposition, 'DELIVERED');
  // The other nodes have no route to it: the address is outside every block they learnt.
  assert.equal(run(c3, 'pod-a1', 'borrowed').disposition, 'EXITS_NETWORK');
});

test('dual-stack: an IPv6 pod uses the cali… link-local address as its gateway, and /122 blocks', () => {
  const doc = exampleCluster('calico-bgp-two-nodes');
  doc.nodes[0]!.addresses.push({ type: 'InternalIP', address: 'fd00::11' });
  doc.nodes[1]!.addresses.push({ type: 'InternalIP', address: 'fd00::12' });
  doc.nodes[0]!.podCIDRs.push('fd01:1::/64');
  doc.nodes[1]!.podCIDRs.push('fd01:2::/64');
  doc.pods!.find((p) => p.name === 'pod-a1')!.podIPs!.push('fd01:1::2');
  doc.pods!.find((p) => p.name === 'pod-b1')!.podIPs!.push('fd01:2::2');
  doc.network = { cidr: '192.168.0.0/24', gateway: '192.168.0.1' };
  const c6 = compile(doc);
  const routes = netnsDoc(c6, 'node-a').routes!;
  assert.ok(routes.some((r) => r.type === 'blackhole' && r.dst === 'fd01:1::/122'));
  assert.ok(routes.some((r) => r.dst === 'fd01:2::/122' && r.gateway === 'fd00::12'));
  assert.deepEqual(netnsDoc(c6, 'default/pod-a1').routes!.at(-1), { dst: 'default', gateway: 'fe80::ecee:eeff:feee:eeee', dev: 'eth0', metric: 1024 });
  const r = c6.trace(c6.resolve('fd01:1::2', 'source'), c6.resolve('fd01:2::2', 'destination'));
  assert.equal(r.paths[0]!.disposition, 'DELIVERED');
  assert.equal(run(c6, 'fd01:1::2', 'fd01:1::9').disposition, 'BLACKHOLED');
});

test('nodes without pod CIDRs (as imported from Calico clusters) get the block of their lowest pod IP', () => {
  const doc = exampleCluster('calico-bgp-two-nodes');
  for (const n of doc.nodes) n.podCIDRs = [];
  const c2 = compile(doc);
  assert.deepEqual(
    netnsDoc(c2, 'node-b').routes!.filter((r) => r.protocol === 'bird').map((r) => `${r.type ?? 'via'} ${r.dst}`),
    ['blackhole 10.1.2.0/26', 'via 10.1.1.0/26'],
  );
  assert.equal(run(c2, 'pod-a1', 'pod-b1').disposition, 'DELIVERED');
});
