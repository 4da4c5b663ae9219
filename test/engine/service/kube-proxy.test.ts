// kube-proxy's own packet-flow tests (test/fixtures/kube-proxy from kubernetes/kubernetes
// pkg/proxy/iptables/proxier_test.go, test/fixtures/kube-proxy/nftables from pkg/proxy/nftables/proxier_test.go): every
// flow of every fixture through the engine's Service table, policy and NAT, at upstream's test node, compared with the
// endpoints, REJECT, DROP or ACCEPT and the masquerade mark kube-proxy's rules give.
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

/** Each proxier's fixtures, with the upstream file and commit they were read from. */
const suites = [
  { dir: new URL('../../fixtures/kube-proxy/', import.meta.url), path: 'pkg/proxy/iptables/proxier_test.go', commit: '2bb4b1042dfd3a7645d1812037074b5eeedfab78' },
  { dir: new URL('../../fixtures/kube-proxy/nftables/', import.meta.url), path: 'pkg/proxy/nftables/proxier_test.go', commit: '030880a5dc5449403c6d1f0aa146a7dc21d6c6dc' },
].map((s) => ({ ...s, files: readdirSync(s.dir).filter((f) => f.endsWith('.json')).sort() }));

interface Fixture {
  upstream: { repository: string; path: string; commit: string; test: string };
  kubeProxy: ClusterDoc['kubeProxy'];
  /** The fake proxier's service CIDRs (the nftables proxier drops packets to their unallocated addresses). */
  serviceCIDRs?: string[];
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

/** The nftables fake proxier's nodePortAddresses: the node IP of each family, what nftables mode's default gives. */
const NFT_FAKE_NODEPORT_ADDRESSES = JSON.stringify(['192.168.0.2/32', '2001:db8::1/128']);

/**
 * The fixture's proxier settings, and for an nftables one written with the fake's nodePortAddresses the same without
 * them: nftables mode's default (the primary node IPs) must give every flow the same outcome.
 */
function settings(kp: ClusterDoc['kubeProxy']): { label: string; kubeProxy: ClusterDoc['kubeProxy'] }[] {
  const given = [{ label: '', kubeProxy: kp }];
  if (kp?.mode !== 'nftables' || JSON.stringify(kp.nodePortAddresses) !== NFT_FAKE_NODEPORT_ADDRESSES) return given;
  const { nodePortAddresses: _, ...rest } = kp;
  return [...given, { label: ' (nodePortAddresses absent: the primary node IPs)', kubeProxy: rest }];
}

test('every packet-flow fixture records its upstream commit', () => {
  for (const { dir, files, path, commit } of suites) {
    assert.ok(files.length >= 10, `${files.length} fixtures in ${dir.pathname}`);
    for (const file of files) {
      const f = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as Fixture;
      assert.equal(f.upstream.commit, commit, file);
      assert.equal(f.upstream.path, path, file);
      assert.equal(f.kubeProxy?.mode ?? 'iptables', path.split('/')[2], file);
    }
  }
});

for (const { dir, files } of suites) {
  for (const file of files) {
    const f = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as Fixture;
    for (const { label, kubeProxy } of settings(f.kubeProxy)) describe(`${f.upstream.test} (${f.kubeProxy?.mode ?? 'iptables'} ${file})${label}`, () => {
      const cluster: ClusterDoc = {
        nodes: [{ name: 'test-node', addresses: [{ type: 'InternalIP', address: '192.168.0.2' }, { type: 'InternalIP', address: '2001:db8::1' }], podCIDRs: [] }],
        services: f.services,
        endpointSlices: f.endpointSlices,
        kubeProxy,
        ...(f.serviceCIDRs === undefined ? {} : { serviceCIDRs: f.serviceCIDRs }),
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
}
