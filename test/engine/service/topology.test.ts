// kube-proxy's own tests of CategorizeEndpoints (test/fixtures/kube-proxy-topology, from kubernetes/kubernetes
// pkg/proxy/topology_test.go): topology-aware routing, traffic policies and the terminating fallback, asked of the
// engine's Service table and policy at upstream's node as packets. Each case's cluster endpoints are what a packet that
// takes the cluster chain may be DNATed to (to the ClusterIP from a pod; or under internalTrafficPolicy Local to the
// NodePort, from outside when externalTrafficPolicy is Cluster, from a pod, short-circuited, when it is Local), its
// local endpoints what a packet that takes the local chain may be (to the ClusterIP from a pod under
// internalTrafficPolicy Local, else to the NodePort from outside); an empty set is DROP when the Service has endpoints
// elsewhere (hasAnyEndpoints) and REJECT when it has none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Addr } from '../../../src/engine/addr.js';
import { compileFabric } from '../../../src/engine/compile/fabric.js';
import { compileServices, ZONE_LABEL } from '../../../src/engine/service/table.js';
import { nodeRules } from '../../../src/engine/service/evaluate.js';
import { checkTopology } from '../../../src/topology/validate.js';
import type { ClusterDoc } from '../../../src/topology/schema.js';
import { compileTopology } from '../../../src/engine/topology.js';
import { answerFlow } from '../../../src/answer/flow.js';
import { serviceCluster } from './clusters.js';

interface Endpoint {
  endpoint: string;
  zoneHints?: string[];
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  isLocal: boolean;
}
interface Case {
  name: string;
  nodeLabels: Record<string, string>;
  serviceInfo: { internalPolicyLocal?: boolean; externalPolicyLocal?: boolean; nodePort?: number };
  endpoints: Endpoint[];
  clusterEndpoints: string[] | null;
  localEndpoints: string[] | null;
  allEndpoints?: string[];
  onlyRemoteEndpoints?: boolean;
}

const fixture = JSON.parse(readFileSync(new URL('../../fixtures/kube-proxy-topology/TestCategorizeEndpoints.json', import.meta.url), 'utf8')) as {
  upstream: { commit: string; path: string };
  cases: Case[];
};

const NODE_IP = '192.168.0.2';
const CLUSTER_IP = '172.30.0.1';
const POD = '10.180.0.9';
const OUTSIDE = '203.0.113.9';
const fabric = compileFabric({ netns: [{ name: 'test-node', kind: 'node', links: [{ name: 'eth0', kind: 'physical', addresses: [`${NODE_IP}/24`] }] }] });

function table(c: Case) {
  const s = c.serviceInfo;
  const external = s.nodePort !== undefined;
  const cluster: ClusterDoc = {
    nodes: [
      { name: 'test-node', labels: c.nodeLabels, addresses: [{ type: 'InternalIP', address: NODE_IP }], podCIDRs: [] },
      { name: 'other-node', addresses: [{ type: 'InternalIP', address: '192.168.0.3' }], podCIDRs: [] },
    ],
    kubeProxy: { clusterCIDR: '10.0.0.0/8' },
    services: [
      {
        metadata: { name: 'svc', namespace: 'ns' },
        spec: {
          type: external ? 'NodePort' : 'ClusterIP',
          clusterIP: CLUSTER_IP,
          ports: [{ name: 'http', port: 80, protocol: 'TCP', ...(external ? { nodePort: s.nodePort } : {}) }],
          ...(s.internalPolicyLocal ? { internalTrafficPolicy: 'Local' } : {}),
          ...(external && s.externalPolicyLocal ? { externalTrafficPolicy: 'Local' } : {}),
        },
      },
    ],
    endpointSlices: [
      {
        metadata: { name: 'svc-1', namespace: 'ns', labels: { 'kubernetes.io/service-name': 'svc' } },
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
        endpoints: c.endpoints.map((e) => ({
          addresses: [e.endpoint.split(':')[0]!],
          conditions: { ready: e.ready, serving: e.serving, terminating: e.terminating },
          nodeName: e.isLocal ? 'test-node' : 'other-node',
          ...(e.zoneHints !== undefined ? { hints: { forZones: e.zoneHints.map((name) => ({ name })) } } : {}),
        })),
      },
    ],
  };
  const spec = checkTopology({ cluster });
  assert.equal(spec.form, 'cluster');
  return compileServices(spec.form === 'cluster' ? spec.cluster : cluster, fabric)!;
}

const expected = (set: string[], hasAny: boolean) => (set.length > 0 ? [...set].sort().join(', ') : hasAny ? 'DROP' : 'REJECT');

test('the topology fixture records its upstream commit, and holds every case', () => {
  assert.equal(fixture.upstream.path, 'pkg/proxy/topology_test.go');
  assert.equal(fixture.upstream.commit, '6c039d9075ef18d200bb0ba7dbdb362f4d0deef0');
  assert.equal(fixture.cases.length, 26);
});

for (const c of fixture.cases) {
  test(`TestCategorizeEndpoints: ${c.name}`, () => {
    const t = table(c);
    const s = c.serviceInfo;
    const external = s.nodePort !== undefined;
    const all = c.clusterEndpoints !== null && c.localEndpoints === null ? c.clusterEndpoints : c.localEndpoints !== null && c.clusterEndpoints === null ? c.localEndpoints : c.allEndpoints!;
    const hasAny = all.length > 0 || c.onlyRemoteEndpoints === true;
    const ask = (src: string, dst: string, port: number) => {
      const out = nodeRules(fabric, t, 'test-node', Addr.parse(src), 'tcp', Addr.parse(dst), port).output;
      return out.includes(':') ? out.split(', ').sort().join(', ') : out;
    };
    // kube-proxy's UsesClusterEndpoints and UsesLocalEndpoints.
    const usesCluster = !s.internalPolicyLocal || external;
    const usesLocal = s.internalPolicyLocal === true || (s.externalPolicyLocal === true && external);
    assert.equal(c.clusterEndpoints !== null, usesCluster, 'the fixture agrees with UsesClusterEndpoints');
    assert.equal(c.localEndpoints !== null, usesLocal, 'the fixture agrees with UsesLocalEndpoints');
    if (c.clusterEndpoints !== null) {
      const got = !s.internalPolicyLocal
        ? ask(POD, CLUSTER_IP, 80)
        : ask(s.externalPolicyLocal ? POD : OUTSIDE, NODE_IP, s.nodePort!);
      assert.equal(got, expected(c.clusterEndpoints, false), 'cluster endpoints');
    }
    if (c.localEndpoints !== null) {
      const got = s.internalPolicyLocal ? ask(POD, CLUSTER_IP, 80) : ask(OUTSIDE, NODE_IP, s.nodePort!);
      assert.equal(got, expected(c.localEndpoints, hasAny), 'local endpoints');
    }
  });
}

test('a trace through a Service with zone hints: the DNAT step names the zone and the endpoints of other zones', () => {
  const cluster = serviceCluster();
  cluster.nodes[0]!.labels = { [ZONE_LABEL]: 'zone-a' };
  cluster.nodes[1]!.labels = { [ZONE_LABEL]: 'zone-b' };
  const slice = cluster.endpointSlices![0]!;
  slice.endpoints = slice.endpoints!.map((e) => ({ ...e, hints: { forZones: [{ name: e.nodeName === 'node-a' ? 'zone-a' : 'zone-b' }] } }));
  const compiled = compileTopology(checkTopology({ cluster }));
  const answer = answerFlow(compiled, { name: 'zones', revision: 1 }, { from: 'client', to: 'svc/default/web', port: 80 } as never) as Record<string, any>;
  assert.equal(answer.disposition, 'DELIVERED');
  const dnat = answer.hops.flatMap((h: any) => h.steps.filter((s: any) => s.type === 'DNAT'))[0];
  assert.equal(dnat.zone, 'zone-a');
  assert.deepEqual(dnat.endpoints.byEligibility, { ready: 1, 'not-ready': 1, 'other-zone': 1 });
  assert.equal(dnat.to, '10.1.1.10:8080');
  assert.deepEqual(dnat.candidates.map((c: any) => [c.address, c.why]), [['10.1.1.10', 'ready'], ['10.1.2.10', 'other-zone'], ['10.1.2.11', 'not-ready']]);
  assert.match(dnat.explanation, /DNATs it to one of 1 endpoint of 3 \(1 not ready, 1 hinted for other zones\) \(topology-aware routing: the endpoints hinted for zone-a, node-a's zone\)/);
  // From node-b's client the other zone's endpoint; without hints on every ready endpoint, no filtering.
  const b = answerFlow(compiled, { name: 'zones', revision: 1 }, { from: 'client-b', to: 'svc/default/web', port: 80 } as never) as Record<string, any>;
  assert.equal(b.hops.flatMap((h: any) => h.steps.filter((s: any) => s.type === 'DNAT'))[0].to, '10.1.2.10:8080');
  delete (slice.endpoints![1] as Record<string, unknown>).hints;
  const unhinted = answerFlow(compileTopology(checkTopology({ cluster })), { name: 'zones', revision: 1 }, { from: 'client', to: 'svc/default/web', port: 80 } as never) as Record<string, any>;
  const step = unhinted.hops.flatMap((h: any) => h.steps.filter((s: any) => s.type === 'DNAT'))[0];
  assert.equal(step.zone, undefined);
  assert.equal(step.endpoints.candidates, 2);
});

// trafficDistribution PreferSameNode (kube-proxy's topologyModeFromHints with PreferSameTrafficDistribution, on by
// default since Kubernetes 1.34): node hints come first; the zone's only where they do not apply.
test('PreferSameNode: node hints keep a node\'s cluster traffic on its own endpoints; without a hint for every ready endpoint, or for this node, the zone decides', () => {
  const hinted = (mutate: (eps: NonNullable<ClusterDoc['endpointSlices']>[number]['endpoints']) => void) => {
    const cluster = serviceCluster();
    cluster.nodes[0]!.labels = { [ZONE_LABEL]: 'zone-a' };
    cluster.nodes[1]!.labels = { [ZONE_LABEL]: 'zone-a' };
    const slice = cluster.endpointSlices![0]!;
    // web-a on node-a, web-b on node-b (ready), web-c on node-b (not ready); each hinted for its node and for zone-a.
    slice.endpoints = slice.endpoints!.map((e) => ({ ...e, hints: { forNodes: [{ name: e.nodeName! }], forZones: [{ name: 'zone-a' }] } }));
    mutate(slice.endpoints);
    return compileTopology(checkTopology({ cluster }));
  };
  const dnatOf = (compiled: ReturnType<typeof compileTopology>, from: string) => {
    const answer = answerFlow(compiled, { name: 'same-node', revision: 1 }, { from, to: 'svc/default/web', port: 80 } as never) as Record<string, any>;
    assert.equal(answer.disposition, 'DELIVERED', answer.summary);
    return { answer, dnat: answer.hops.flatMap((h: any) => h.steps.filter((s: any) => s.type === 'DNAT'))[0] };
  };
  const both = hinted(() => {});
  let { answer, dnat } = dnatOf(both, 'client');
  assert.equal(dnat.sameNode, true);
  assert.equal(dnat.zone, undefined);
  assert.equal(answer.pathCount, undefined, 'one candidate, one path');
  assert.equal(dnat.to, '10.1.1.10:8080');
  assert.deepEqual(dnat.endpoints.byEligibility, { ready: 1, 'not-ready': 1, 'other-node': 1 });
  assert.deepEqual(dnat.candidates.map((c: any) => [c.address, c.why]), [['10.1.1.10', 'ready'], ['10.1.2.10', 'other-node'], ['10.1.2.11', 'not-ready']]);
  assert.match(dnat.explanation, /DNATs it to one of 1 endpoint of 3 \(1 not ready, 1 hinted for other nodes\) \(trafficDistribution PreferSameNode: the endpoints hinted for node-a\)/);
  ({ dnat } = dnatOf(both, 'client-b'));
  assert.equal(dnat.to, '10.1.2.10:8080');

  // A ready endpoint without a node hint: node hints are ignored and the zone hints (zone-a for all) decide.
  ({ answer, dnat } = dnatOf(hinted((eps) => (eps![1]!.hints = { forZones: [{ name: 'zone-a' }] })), 'client'));
  assert.equal(dnat.sameNode, undefined);
  assert.equal(dnat.zone, 'zone-a');
  assert.equal(answer.pathCount, 2);
  // The not-ready endpoint's hints do not count (only ready ones are asked); no ready endpoint hinted for node-a: the
  // zone again.
  ({ dnat } = dnatOf(hinted((eps) => (eps![2]!.hints = {})), 'client'));
  assert.equal(dnat.sameNode, true);
  ({ dnat } = dnatOf(hinted((eps) => (eps![0]!.hints = { forNodes: [{ name: 'node-b' }], forZones: [{ name: 'zone-a' }] })), 'client'));
  assert.equal(dnat.sameNode, undefined);
  assert.equal(dnat.zone, 'zone-a');
  assert.equal(dnat.endpoints.candidates, 2);
});
