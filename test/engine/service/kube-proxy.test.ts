// kube-proxy's own packet-flow tests (test/fixtures/kube-proxy, from kubernetes/kubernetes
// pkg/proxy/iptables/proxier_test.go): every flow of every fixture through the engine's Service table, policy and NAT,
// at upstream's test node, compared with the endpoints, REJECT, DROP or ACCEPT and the masquerade mark kube-proxy's
// rules give.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { Addr } from '../../../src/engine/addr.js';
import { compileFabric } from '../../../src/engine/compile/fabric.js';
import { compileServices } from '../../../src/engine/service/table.js';
import { nodeRules } from '../../../src/engine/service/evaluate.js';
import { checkTopology } from '../../../src/topology/validate.js';
import { checkAsBody } from '../../../src/topology/schema-check.js';
import { Cluster, type ClusterDoc, type FabricDoc } from '../../../src/topology/schema.js';

const dir = new URL('../../fixtures/kube-proxy/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

interface Fixture {
  upstream: { repository: string; path: string; commit: string; test: string };
  kubeProxy: ClusterDoc['kubeProxy'];
  services: NonNullable<ClusterDoc['services']>;
  endpointSlices: NonNullable<ClusterDoc['endpointSlices']>;
  flows: { name: string; sourceIP: string; protocol: 'TCP' | 'UDP' | 'SCTP'; destIP: string; destPort: number; output: string; masq: boolean }[];
}

/** Upstream's test node: its testNodeIPs on its links, and loopback. */
const node: FabricDoc = {
  netns: [
    {
      name: 'test-node',
      kind: 'node',
      links: [
        { name: 'eth0', kind: 'physical', addresses: ['192.168.0.2/24', '2001:db8::1/64'] },
        { name: 'eth1', kind: 'physical', addresses: ['192.168.1.2/24', '2001:db8:1::2/64'] },
        { name: 'ext0', kind: 'dummy', addresses: ['192.168.99.11/32'] },
        { name: 'lo', kind: 'dummy', addresses: ['127.0.0.1/8', '::1/128'] },
      ],
    },
  ],
};
const fabric = compileFabric(node);

const sorted = (output: string) => output.split(', ').sort().join(', ');

test('every packet-flow fixture records its upstream commit', () => {
  assert.ok(files.length >= 10, `${files.length} fixtures`);
  for (const file of files) {
    const f = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as Fixture;
    assert.equal(f.upstream.commit, '2bb4b1042dfd3a7645d1812037074b5eeedfab78', file);
    assert.equal(f.upstream.path, 'pkg/proxy/iptables/proxier_test.go', file);
  }
});

for (const file of files) {
  const f = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as Fixture;
  describe(`${f.upstream.test} (${file})`, () => {
    const cluster: ClusterDoc = {
      nodes: [{ name: 'test-node', addresses: [{ type: 'InternalIP', address: '192.168.0.2' }, { type: 'InternalIP', address: '2001:db8::1' }], podCIDRs: [] }],
      services: f.services,
      endpointSlices: f.endpointSlices,
      kubeProxy: f.kubeProxy,
    };
    // The objects are what the API accepts: the schema and the semantic checks both pass.
    checkAsBody(Cluster, cluster, '/cluster', 'cluster');
    checkTopology({ cluster });
    const table = compileServices(cluster, fabric) ?? compileServices({ ...cluster, serviceCIDRs: ['172.30.0.0/16'] }, fabric)!;
    for (const flow of f.flows) {
      test(flow.name, () => {
        const protocol = flow.protocol.toLowerCase() as 'tcp' | 'udp' | 'sctp';
        const got = nodeRules(fabric, table, 'test-node', Addr.parse(flow.sourceIP), protocol, Addr.parse(flow.destIP), flow.destPort);
        assert.deepEqual(
          { output: sorted(got.output), masq: got.masq },
          { output: sorted(flow.output), masq: flow.masq },
          `${protocol} ${flow.sourceIP} → ${flow.destIP}:${flow.destPort}`,
        );
      });
    }
  });
}
