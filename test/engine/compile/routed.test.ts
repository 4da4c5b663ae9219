// The routed data paths (routed.ts): kindnet and GKE (ptp), the AWS VPC CNI and Azure CNI (169.254.1.1 as a permanent
// neighbour), between nodes by host-gw routes (kindnet) or by the cloud's VPC router. Each from its example.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, exampleCluster, netnsDoc, run, stepTypes } from './helpers.js';

for (const [name, prefix] of [['aws-vpc-cni', 'eni'], ['azure-cni', 'azv']] as const) {
  describe(`${name}: pods with VPC addresses, 169.254.1.1 as a permanent neighbour`, () => {
    const c = compile(exampleCluster(`${name}-two-nodes`));

    test("a pod's table and its permanent neighbour: the MAC of its veth's host end on the node", () => {
      const pod = netnsDoc(c, 'default/pod-a1');
      assert.deepEqual(pod.routes, [
        { dst: '169.254.1.1', dev: 'eth0', scope: 'link' },
        { dst: 'default', gateway: '169.254.1.1', dev: 'eth0' },
      ]);
      assert.equal((pod.links[0]!.addresses as string[])[0]!.endsWith('/32'), true);
      const node = netnsDoc(c, 'node-a');
      const hostEnd = node.links.find((l) => l.peer?.netns === 'default/pod-a1')!;
      assert.match(hostEnd.name, new RegExp(`^${prefix}[0-9a-f]{11}$`));
      assert.deepEqual(pod.neigh, [{ dst: '169.254.1.1', lladdr: hostEnd.mac, dev: 'eth0' }]);
      assert.equal(hostEnd.proxyArp ?? false, false, 'no proxy ARP: the entry is permanent');
    });

    test('pod to pod on one node: the permanent entry, then the /32 route to the other veth', () => {
      const r = run(c, 'pod-a1', 'pod-a2');
      assert.equal(r.disposition, 'DELIVERED');
      assert.deepEqual(stepTypes(r), [
        'default/pod-a1: ORIGINATE ROUTE TRANSMIT',
        'node-a: RECEIVE ROUTE TRANSMIT',
        'default/pod-a2: RECEIVE DELIVER',
      ]);
      assert.match(r.hops[0]!.steps.at(-1)!.explanation, /its neighbour entry \(permanent, as the CNI writes it/);
    });

    test('pod to pod on another node: the VPC answers ARP for the pod address and delivers it to its node', () => {
      const r = run(c, 'pod-a1', 'pod-b1');
      assert.equal(r.disposition, 'DELIVERED', r.summary);
      assert.deepEqual(r.hops.map((h) => h.netns), ['default/pod-a1', 'node-a', 'node-b', 'default/pod-b1']);
    });

    test('pod to the internet: through the VPC router to the internet gateway, outside the model', () => {
      const r = run(c, 'pod-a1', '8.8.8.8');
      assert.equal(r.disposition, 'EXITS_NETWORK', r.summary);
      assert.deepEqual(r.hops.map((h) => h.netns), ['default/pod-a1', 'node-a', 'vpc-router']);
    });

    test('an address of the subnet no pod or node has: nobody answers ARP for it', () => {
      const r = run(c, 'pod-a1', name === 'aws-vpc-cni' ? '10.0.1.250' : '10.224.0.250');
      assert.equal(r.disposition, 'NEIGHBOR_UNREACHABLE', r.summary);
    });
  });
}

describe('kindnet: ptp veths, host-gw routes between nodes', () => {
  const c = compile(exampleCluster('kindnet-three-nodes'));

  test("the pod's table (ptp) and the node's: /32s to its pods, the other nodes' CIDRs via their addresses", () => {
    const pod = netnsDoc(c, 'default/pod-a1');
    assert.deepEqual(pod.links[0]!.addresses, [{ address: '10.244.0.2/24', noprefixroute: true }]);
    assert.deepEqual(pod.routes, [
      { dst: '10.244.0.1', dev: 'eth0', scope: 'link' },
      { dst: '10.244.0.0/24', gateway: '10.244.0.1', dev: 'eth0' },
      { dst: 'default', gateway: '10.244.0.1', dev: 'eth0' },
    ]);
    const node = netnsDoc(c, 'node-a');
    assert.ok(node.links.filter((l) => l.kind === 'veth').every((l) => (l.addresses as string[]).includes('10.244.0.1/32')));
    assert.ok(!node.links.some((l) => l.kind === 'bridge'));
    const routes = node.routes!.map((r) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}`);
    assert.ok(routes.includes('10.244.1.0/24 via 172.18.0.3') && routes.includes('10.244.2.0/24 via 172.18.0.4'), routes.join(', '));
    assert.ok(routes.includes('10.244.0.2') && !routes.includes('10.244.0.0/24'), routes.join(', '));
  });

  test('pod to pod on one node and on another', () => {
    assert.equal(run(c, 'pod-a1', 'pod-a2').disposition, 'DELIVERED');
    const r = run(c, 'pod-a1', 'pod-c2');
    assert.equal(r.disposition, 'DELIVERED', r.summary);
    assert.deepEqual(r.hops.map((h) => h.netns), ['default/pod-a1', 'node-a', 'node-c', 'default/pod-c2']);
  });

  test('an unused address of its own pod CIDR: the node has no route for it but its default, none here', () => {
    assert.equal(run(c, 'pod-a1', '10.244.0.99').disposition, 'NO_ROUTE');
  });
});

describe('GKE VPC-native: ptp veths, alias ranges routed by the VPC', () => {
  const c = compile(exampleCluster('gke-two-nodes'));

  test('the VPC router holds every alias range via its node, and the internet gateway', () => {
    const routes = netnsDoc(c, 'vpc-router').routes!.map((r) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}`);
    assert.deepEqual(routes, ['10.4.0.0/24 via 10.128.0.2', '10.4.1.0/24 via 10.128.0.3', 'default via 169.254.255.2']);
    assert.match(netnsDoc(c, 'node-a').links.find((l) => l.kind === 'veth')!.name, /^gke[0-9a-f]{12}$/);
  });

  test('pod to pod across nodes goes through the VPC router; to the internet it leaves there', () => {
    const r = run(c, 'pod-a1', 'pod-b1');
    assert.equal(r.disposition, 'DELIVERED', r.summary);
    assert.deepEqual(r.hops.map((h) => h.netns), ['default/pod-a1', 'node-a', 'vpc-router', 'node-b', 'default/pod-b1']);
    assert.equal(run(c, 'pod-a1', 'pod-a2').disposition, 'DELIVERED');
    assert.equal(run(c, 'pod-b2', '1.1.1.1').disposition, 'EXITS_NETWORK');
  });
});
