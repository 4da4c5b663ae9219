// Kubernetes' own NetworkPolicy conformance cases (test/fixtures/netpol-e2e, from the e2e suite): every case, every
// step, every probe, every cell that upstream compares, traced through the cluster and compared with the verdict
// upstream expects: connected cells are DELIVERED, blocked ones DENIED by a POLICY step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { compileTopology } from '../../../src/engine/topology.js';
import { checkTopology } from '../../../src/topology/validate.js';
import type { ClusterDoc, NetworkPolicyDoc } from '../../../src/topology/schema.js';

interface Probe {
  port: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  expect: Record<string, string>;
}
interface Step {
  policies: NetworkPolicyDoc[];
  probes: Probe[];
  namespaceLabels?: Record<string, Record<string, string>>;
  podLabels?: Record<string, Record<string, string>>;
}
interface Fixture {
  pods: string[];
  cluster: ClusterDoc;
  cases: { name: string; context: string; steps: Step[] }[];
}

const fixture = JSON.parse(readFileSync(new URL('../../fixtures/netpol-e2e/cases.json', import.meta.url), 'utf8')) as Fixture;

function clusterOf(step: Step): ClusterDoc {
  const base = fixture.cluster;
  return {
    ...base,
    namespaces: base.namespaces!.map((ns) => ({ ...ns, labels: { ...ns.labels, ...step.namespaceLabels?.[ns.name] } })),
    pods: base.pods!.map((p) => ({ ...p, labels: step.podLabels?.[`${p.namespace}/${p.name}`] ?? p.labels })),
    networkPolicies: step.policies,
  };
}

test('the fixture holds every upstream case (42 TCP, 3 UDP, 3 SCTP)', () => {
  assert.equal(fixture.cases.length, 48);
  assert.equal(fixture.cases.filter((c) => c.context.endsWith('using UDP')).length, 3);
  assert.equal(fixture.cases.filter((c) => c.context.endsWith('using SCTP')).length, 3);
});

for (const c of fixture.cases) {
  test(`${c.context}: ${c.name}`, () => {
    c.steps.forEach((step, s) => {
      const compiled = compileTopology(checkTopology({ cluster: clusterOf(step) }));
      const ends = fixture.pods.map((p) => compiled.resolve(p, 'source'));
      for (const probe of step.probes) {
        const protocol = probe.protocol.toLowerCase() as 'tcp' | 'udp' | 'sctp';
        const wrong: string[] = [];
        let compared = 0;
        fixture.pods.forEach((from, i) => {
          fixture.pods.forEach((to, j) => {
            if (i === j) return;
            compared++;
            const expected = probe.expect[from]![j] === '.' ? 'DELIVERED' : 'DENIED';
            const t = compiled.trace(ends[i]!, ends[j]!, 64, undefined, { protocol, srcPort: 40000, dstPort: probe.port });
            const got = t.paths[0]!.disposition;
            if (got !== expected) wrong.push(`${from} → ${to}: expected ${expected}, got ${got}`);
          });
        });
        assert.equal(compared, 72);
        assert.deepEqual(wrong, [], `step ${s}, ${probe.protocol}/${probe.port}`);
      }
    });
  });
}
