// Calico in BGP mode: the routes Calico documents (per-pod /32 via cali…, blackhole for the local block, BIRD routes to
// the remote blocks, 169.254.1.1 as the pods' gateway), and traces through them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, dualStack, exampleCluster, hops, netnsDoc, run, stepTypes, tunnelled } from './helpers.js';
import { explain } from '../../../src/answer/explain.js';
import { materialise } from '../../../src/engine/materialise.js';
import { compileTopology } from '../../../src/engine/topology.js';
import { checkTopology } from '../../../src/topology/validate.js';
import { DATA_PATHS, generateCluster } from '../../../bench/cluster.js';

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

test('nodes whose gateway is not given get an assumed one: proxy-ARP answers for 169.254.1.1 and the pods reach out', () => {
  const doc = exampleCluster('calico-bgp-two-nodes');
  doc.network = { cidr: '192.168.0.0/24' };
  const assumed = compile(doc);
  // Linux answers ARP by proxy only for an address it routes: without the node's default route the pods reached nothing.
  assert.deepEqual(netnsDoc(assumed, 'node-a').routes![0], { dst: 'default', gateway: '192.168.0.1', dev: 'eth0' });
  assert.equal(run(assumed, 'pod-a1', 'pod-b1').disposition, 'DELIVERED');
  assert.equal(run(assumed, 'pod-a1', 'pod-a2').disposition, 'DELIVERED');
  assert.equal(run(assumed, 'pod-a1', '8.8.8.8').disposition, 'EXITS_NETWORK');
  // A node address in the way: the next free address of the subnet.
  doc.nodes[0]!.addresses = [{ type: 'InternalIP', address: '192.168.0.1' }];
  assert.equal(netnsDoc(compile(doc), 'node-b').routes![0]!.gateway, '192.168.0.2');
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

// ---- the overlay modes ----

test('ipip: tunl0 holds the tunnel address, the other blocks go via their nodes on tunl0 onlink', () => {
  const c3 = compile(exampleCluster('calico-ipip-three-nodes'));
  const node = netnsDoc(c3, 'node-a');
  assert.deepEqual(node.links.find((l) => l.name === 'tunl0'), { name: 'tunl0', kind: 'ipip', addresses: ['10.1.1.0/32'], mtu: 1480 });
  assert.deepEqual(node.routes!.filter((r) => r.protocol === 'bird'), [
    { type: 'blackhole', dst: '10.1.1.0/26', protocol: 'bird' },
    { dst: '10.1.2.0/26', gateway: '192.168.0.12', dev: 'tunl0', protocol: 'bird', flags: ['onlink'] },
    { dst: '10.1.3.0/26', gateway: '192.168.0.13', dev: 'tunl0', protocol: 'bird', flags: ['onlink'] },
  ]);
  assert.ok(node.links.filter((l) => l.name.startsWith('cali')).every((l) => l.mtu === 1480));

  const r = run(c3, 'pod-a1', 'pod-c1');
  assert.equal(r.disposition, 'DELIVERED');
  assert.deepEqual(stepTypes(r), tunnelled('pod-a1', 'node-a', 'node-c', 'pod-c1'));
  const encap = r.hops[1]!.steps.find((s) => s.type === 'ENCAPSULATE')!;
  // IP-in-IP: the route's gateway is the outer destination, the TTL is inherited, 20 bytes of header.
  assert.deepEqual(encap.outer, { src: '192.168.0.11', dst: '192.168.0.13', protocol: 'ipip', ttl: 63 });
  assert.equal(encap.overhead, 20);

  const same = run(c3, 'pod-a1', 'pod-a2');
  assert.deepEqual(same.hops.map((h) => h.netns), ['default/pod-a1', 'node-a', 'default/pod-a2']);
});

test('ipip: a node whose tunl0 is down cannot take the outer packet (ICMP protocol unreachable)', () => {
  const fabric = materialise(compile(exampleCluster('calico-ipip-two-nodes')).fabric);
  fabric.netns.find((n) => n.name === 'node-b')!.links.find((l) => l.name === 'tunl0')!.up = false;
  const r = run(compileTopology(checkTopology({ fabric })), 'pod-a1', 'pod-b1');
  assert.equal(r.disposition, 'UNREACHABLE');
  assert.equal(r.hops.at(-1)!.netns, 'node-b');
  assert.match(r.summary, /no ipip link is up there: the kernel answers ICMP protocol unreachable/);
});

test('vxlan: vxlan.calico (VNI 4096, UDP 4789), the other blocks via their tunnel addresses, neighbours and FDB', () => {
  const c3 = compile(exampleCluster('calico-vxlan-three-nodes'));
  const node = netnsDoc(c3, 'node-a');
  const mac = (n: string) => netnsDoc(c3, n).links.find((l) => l.name === 'vxlan.calico')!.mac!;
  assert.deepEqual(node.links.find((l) => l.name === 'vxlan.calico'), {
    name: 'vxlan.calico',
    kind: 'vxlan',
    addresses: ['10.1.1.0/32'],
    mtu: 1450,
    mac: mac('node-a'),
    vni: 4096,
    port: 4789,
    local: '192.168.0.11',
    underlay: 'eth0',
  });
  assert.deepEqual(node.routes!.filter((r) => r.dev === 'vxlan.calico'), [
    { dst: '10.1.2.0/26', gateway: '10.1.2.0', dev: 'vxlan.calico', flags: ['onlink'] },
    { dst: '10.1.3.0/26', gateway: '10.1.3.0', dev: 'vxlan.calico', flags: ['onlink'] },
  ]);
  assert.deepEqual(node.neigh, [
    { dst: '10.1.2.0', lladdr: mac('node-b'), dev: 'vxlan.calico' },
    { dst: '10.1.3.0', lladdr: mac('node-c'), dev: 'vxlan.calico' },
  ]);
  assert.deepEqual(node.fdb, [
    { mac: mac('node-b'), dev: 'vxlan.calico', dst: '192.168.0.12' },
    { mac: mac('node-c'), dev: 'vxlan.calico', dst: '192.168.0.13' },
  ]);

  const r = run(c3, 'pod-b1', 'pod-c1');
  assert.equal(r.disposition, 'DELIVERED');
  assert.deepEqual(r.hops.map((h) => h.netns), ['default/pod-b1', 'node-b', 'node-c', 'default/pod-c1']);
  const encap = r.hops[1]!.steps.find((s) => s.type === 'ENCAPSULATE')!;
  assert.deepEqual(encap.outer, { src: '192.168.0.12', dst: '192.168.0.13', protocol: 'udp', vni: 4096, port: 4789, ttl: 64 });

  // Same node: routed by the node from one cali… to the other, never encapsulated.
  const same = run(c3, 'pod-a1', 'pod-a2');
  assert.deepEqual(same.hops.map((h) => h.netns), ['default/pod-a1', 'node-a', 'default/pod-a2']);
  assert.ok(same.hops.every((h) => h.steps.every((s) => s.type !== 'ENCAPSULATE')));

  // An unassigned address of a remote block: carried through the tunnel, blackholed by the owner of the block.
  const hole = run(c3, 'pod-a1', '10.1.3.50');
  assert.equal(hole.disposition, 'BLACKHOLED');
  assert.equal(hole.hops.at(-1)!.netns, 'node-c');
});

test('crossSubnet on one subnet: tunl0 is there, but every node is a neighbour and nothing is encapsulated', () => {
  const doc = exampleCluster('calico-ipip-two-nodes');
  doc.cni = { plugin: 'calico', mode: 'ipip', crossSubnet: true };
  const c2 = compile(doc);
  const node = netnsDoc(c2, 'node-a');
  assert.ok(node.links.some((l) => l.name === 'tunl0'));
  assert.ok(node.routes!.some((r) => r.dst === '10.1.2.0/26' && r.dev === 'eth0' && r.gateway === '192.168.0.12'));
  assert.ok(run(c2, 'pod-a1', 'pod-b1').hops.every((h) => h.steps.every((s) => s.type !== 'ENCAPSULATE')));
});

test('vxlan dual-stack: IPv6 blocks through vxlan-v6.calico (MTU 1430) between the nodes\' IPv6 addresses; ipip keeps IPv6 native', () => {
  const c = compile(dualStack(exampleCluster('calico-vxlan-two-nodes')));
  const node = netnsDoc(c, 'node-a');
  const v6 = node.links.find((l) => l.name === 'vxlan-v6.calico')!;
  assert.deepEqual([v6.kind, v6.addresses, v6.mtu, v6.local, v6.vni, v6.port], ['vxlan', ['fd01:0:0:1::/128'], 1430, 'fd00::11', 4096, 4789]);
  assert.ok(node.links.filter((l) => l.name.startsWith('cali')).every((l) => l.mtu === 1430));
  assert.ok(node.routes!.some((r) => r.dst === 'fd01:0:0:2::/122' && r.gateway === 'fd01:0:0:2::' && r.dev === 'vxlan-v6.calico'));
  assert.ok(node.fdb!.some((e) => e.dev === 'vxlan-v6.calico' && e.dst === 'fd00::12'));

  const src = c.resolve('pod-a1', 'source');
  const dst = c.resolve('pod-b1', 'destination');
  const r6 = explain(c.fabric, c.trace(src, dst, 64, 6), { from: src.name, to: dst.name });
  assert.equal(r6.disposition, 'DELIVERED', r6.summary);
  const encap = r6.hops[1]!.steps.find((s) => s.type === 'ENCAPSULATE')!;
  const outer = encap.outer as { src: string; dst: string };
  assert.deepEqual([encap.link, outer.src, outer.dst, encap.overhead], ['vxlan-v6.calico', 'fd00::11', 'fd00::12', 70]);

  const ipip = compile(dualStack(exampleCluster('calico-ipip-two-nodes')));
  assert.ok(netnsDoc(ipip, 'node-a').routes!.some((r) => r.dst === 'fd01:0:0:2::/122' && r.gateway === 'fd00::12' && r.dev === 'eth0'));
});

test('a cluster of 300 nodes numbered from .1 up, without network.gateway: the assumed gateway is past them, pods reach each other', () => {
  const cluster = generateCluster(300, 2, DATA_PATHS['calico-bgp']!);
  assert.equal(cluster.network?.gateway, undefined);
  const compiled = compileTopology({ form: 'cluster', cluster });
  const t = compiled.trace(compiled.resolve('default/pod-0-0', 'source'), compiled.resolve('default/pod-299-1', 'destination'));
  assert.equal(t.paths[0]!.disposition, 'DELIVERED');
});
