// Cilium with native routing and auto-direct-node-routes: cilium_host holds the router IP, a route per local pod via its
// lxc…, every other node's pod CIDR via that node; tunnel routing stays unsupported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, exampleCluster, hops, netnsDoc, run } from './helpers.js';

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

test('tunnel routing and IPv6 are answered as unsupported, naming what can be traced', () => {
  const doc = exampleCluster('cilium-native-two-nodes');
  doc.cni = { plugin: 'cilium', routing: 'tunnel', tunnel: 'geneve' };
  assert.throws(() => compile(doc), /cilium data path cannot be traced yet with tunnel routing \(geneve\).*cilium with native routing/);
  const v6 = exampleCluster('cilium-native-two-nodes');
  v6.nodes[0]!.podCIDRs.push('fd01:1::/64');
  assert.throws(() => compile(v6), /cilium data path cannot be traced yet with IPv6/);
});
