// kube-proxy's localhost NodePorts (iptables mode, localhostNodePorts, IPv4): a node's own packet to 127.0.0.1 at a
// NodePort is DNATed to an endpoint whether or not the node has a route that would hold 127.0.0.1 (the kernel routes it
// by the local table's `local 127.0.0.0/8 dev lo`); the kernel Service checks (test/kernel/services.test.ts) saw a node
// without a default route do it. The nftables mode never answers NodePorts on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTopology } from '../../../src/engine/topology.js';
import { checkTopology } from '../../../src/topology/validate.js';
import { answerFlow } from '../../../src/answer/flow.js';
import type { ClusterDoc } from '../../../src/topology/schema.js';
import { serviceCluster } from './clusters.js';

function answer(mode: 'iptables' | 'nftables', gateway: boolean) {
  const base = serviceCluster();
  const web = base.services![0]!;
  const doc: ClusterDoc = {
    ...base,
    network: gateway ? base.network! : { cidr: '192.168.0.0/24' },
    services: [{ ...web, spec: { ...web.spec, type: 'NodePort', ports: [{ ...web.spec.ports![0]!, nodePort: 30080 }] } }],
    kubeProxy: { mode, clusterCIDR: '10.1.0.0/16' },
  };
  const c = compileTopology(checkTopology({ cluster: doc }));
  return answerFlow(c, { name: 'localhost', revision: 1 }, { from: 'node-a', to: '127.0.0.1', protocol: 'tcp', port: 30080, endpoint: '10.1.2.10' });
}

test('a node sends to 127.0.0.1 at a NodePort: DNATed to the endpoint, with or without a default route (iptables mode)', () => {
  for (const gateway of [true, false]) {
    const a = answer('iptables', gateway);
    assert.equal(a.disposition, 'DELIVERED', `gateway ${gateway}: ${a.summary}`);
    assert.equal(a.hops.at(-1)!.netns, 'default/web-b');
    const dnat = a.hops.flatMap((h) => h.steps.map((s) => ({ netns: h.netns, s: s as { type: string; to?: string } }))).find((x) => x.s.type === 'DNAT');
    assert.equal(dnat?.netns, 'node-a');
  }
});

test('the nftables mode does not answer NodePorts on 127.0.0.1', () => {
  for (const gateway of [true, false]) {
    const a = answer('nftables', gateway);
    assert.ok(!a.hops.some((h) => h.steps.some((s) => s.type === 'DNAT')), `gateway ${gateway}: ${a.summary}`);
  }
});
