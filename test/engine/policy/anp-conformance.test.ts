// The conformance tests of kubernetes-sigs/network-policy-api for AdminNetworkPolicy and BaselineAdminNetworkPolicy
// (test/fixtures/anp-conformance): every subtest's pokes, with the policies in force at that point of the upstream test
// (whose subtests mutate the policies in turn), traced through the cluster: a poke upstream expects to connect is
// DELIVERED, one it expects to fail is DENIED by a POLICY step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { compileTopology } from '../../../src/engine/topology.js';
import { checkTopology } from '../../../src/topology/validate.js';
import type { ClusterDoc } from '../../../src/topology/schema.js';

interface Poke {
  from: string;
  to: string;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  port: number;
  connected: boolean;
}
interface Step extends Pick<ClusterDoc, 'adminNetworkPolicies' | 'baselineAdminNetworkPolicies' | 'networkPolicies'> {
  name: string;
  probes: Poke[];
}
interface Fixture {
  cluster: ClusterDoc;
  cases: { name: string; steps: Step[] }[];
}

const fixture = JSON.parse(readFileSync(new URL('../../fixtures/anp-conformance/cases.json', import.meta.url), 'utf8')) as Fixture;

test('the fixture holds the carried-over upstream tests', () => {
  assert.deepEqual(
    fixture.cases.map((c) => `${c.name}: ${c.steps.length}`),
    [
      'AdminNetworkPolicyEgressTCP: 6',
      'AdminNetworkPolicyIngressTCP: 6',
      'AdminNetworkPolicyIngressPodSelectorTCP: 2',
      'AdminNetworkPolicyGress: 6',
      'AdminNetworkPolicyPodSelectorGress: 2',
      'BaselineAdminNetworkPolicyEgressTCP: 4',
      'BaselineAdminNetworkPolicyEgressPodSelectorTCP: 2',
      'BaselineAdminNetworkPolicyIngressTCP: 4',
      'BaselineAdminNetworkPolicyIngressNamedPort: 1',
      'BaselineAdminNetworkPolicyIngressPodSelectorTCP: 2',
      'AdminNetworkPolicyPriorityField: 3',
      'AdminNetworkPolicyIntegration: 6',
      'AdminNetworkPolicyEgressUDP: 6',
      'AdminNetworkPolicyIngressUDP: 6',
      'AdminNetworkPolicyIngressNamedPort: 1',
      'AdminNetworkPolicyEgressSCTP: 6',
      'AdminNetworkPolicyIngressSCTP: 6',
      'AdminNetworkPolicyIngressPodSelector: 2',
      'BaselineAdminNetworkPolicyEgressUDP: 4',
      'BaselineAdminNetworkPolicyEgressNamedPort: 1',
      'BaselineAdminNetworkPolicyEgressPodSelectorUDP: 2',
      'BaselineAdminNetworkPolicyIngressUDP: 4',
      'BaselineAdminNetworkPolicyEgressSCTP: 4',
      'BaselineAdminNetworkPolicyIngressSCTP: 4',
      'BaselineAdminNetworkPolicyGress: 4',
      'AdminNetworkPolicyEgressNamedPort: 1',
      'AdminNetworkPolicyEgressNodePeers: 3',
      'BaselineAdminNetworkPolicyEgressNodePeers: 2',
      'BaselineAdminNetworkPolicyEgressInlineCIDRPeers: 2',
    ],
  );
});

for (const c of fixture.cases) {
  for (const step of c.steps) {
    test(`${c.name}: ${step.name}`, () => {
      const { name: _, probes, ...policies } = step;
      const compiled = compileTopology(checkTopology({ cluster: { ...fixture.cluster, ...policies } }));
      const wrong: string[] = [];
      for (const p of probes) {
        const t = compiled.trace(compiled.resolve(p.from, 'source'), compiled.resolve(p.to, 'destination'), 64, undefined, {
          protocol: p.protocol.toLowerCase() as 'tcp' | 'udp' | 'sctp',
          srcPort: 40000,
          dstPort: p.port,
        });
        const got = t.paths[0]!.disposition;
        const expected = p.connected ? 'DELIVERED' : 'DENIED';
        if (got !== expected) wrong.push(`${p.from} → ${p.to} ${p.protocol}/${p.port}: expected ${expected}, got ${got}`);
      }
      assert.deepEqual(wrong, []);
    });
  }
}
