// A pod's packet to a Service through the engine: kube-proxy's DNAT in its node, every endpoint a branch, the worst
// reported; masquerade where kube-proxy marks; REJECTED and DENIED where its rules reject or drop.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { compileTopology, type CompiledTopology } from '../../../src/engine/topology.js';
import { checkTopology } from '../../../src/topology/validate.js';
import { explain } from '../../../src/answer/explain.js';
import { answerFlow } from '../../../src/answer/flow.js';
import { Addr } from '../../../src/engine/addr.js';
import type { ClusterDoc } from '../../../src/topology/schema.js';
import { serviceCluster } from './clusters.js';

function compile(doc: ClusterDoc): CompiledTopology {
  return compileTopology(checkTopology({ cluster: doc }));
}

function traceTo(c: CompiledTopology, from: string, to: string, protocol: 'tcp' | 'udp', port: number, endpoint?: string) {
  const src = c.resolve(from, 'source');
  const dst = c.resolve(to, 'destination');
  const t = c.trace(src, dst, 64, undefined, { protocol, dstPort: port, ...(endpoint ? { endpoint: Addr.parse(endpoint) } : {}) });
  return { t, report: explain(c.fabric, t, { from: src.name, to: dst.name }) };
}

const dnatOf = (hops: readonly { steps: readonly { type: string }[] }[]) =>
  hops.flatMap((h) => h.steps).find((s) => s.type === 'DNAT') as Record<string, unknown> | undefined;

describe('ClusterIP', () => {
  test('a pod to a ClusterIP is DNATed in its node to each ready endpoint, one path per endpoint, both delivered', () => {
    const c = compile(serviceCluster());
    const { t, report } = traceTo(c, 'default/client', '10.96.0.10', 'tcp', 80);
    assert.equal(t.paths.length, 2);
    assert.deepEqual(t.paths.map((p) => p.disposition), ['DELIVERED', 'DELIVERED']);
    const ends = t.paths.map((p) => p.hops.at(-1)!.netns.name).sort();
    assert.deepEqual(ends, ['default/web-a', 'default/web-b']);
    const dnat = dnatOf(report.hops)!;
    assert.equal(report.hops[1]!.netns, 'node-a', 'the DNAT is in the client\'s node');
    assert.ok(report.hops[1]!.steps.some((s) => s.type === 'DNAT'));
    assert.equal(dnat.frontend, 'clusterIP');
    assert.equal(dnat.verdict, 'dnat');
    assert.equal(dnat.masquerade, 'none');
    const candidates = dnat.candidates as { address: string; candidate: boolean; why: string }[];
    assert.deepEqual(candidates.map((x) => [x.address, x.candidate, x.why]), [
      ['10.1.1.10', true, 'ready'],
      ['10.1.2.10', true, 'ready'],
      ['10.1.2.11', false, 'not-ready'],
    ]);
    assert.match(String(dnat.explanation), /10\.96\.0\.10:80 is the ClusterIP of default\/web/);
  });

  test('endpoint= traces only the endpoint asked for', () => {
    const c = compile(serviceCluster());
    const { t } = traceTo(c, 'default/client', '10.96.0.10', 'tcp', 80, '10.1.2.10');
    assert.equal(t.paths.length, 1);
    assert.equal(t.paths[0]!.hops.at(-1)!.netns.name, 'default/web-b');
  });

  test('a port the Service does not have is not translated', () => {
    const c = compile(serviceCluster());
    const { t } = traceTo(c, 'default/client', '10.96.0.10', 'tcp', 81);
    assert.equal(dnatOf(t.paths[0]!.hops), undefined);
    assert.notEqual(t.paths[0]!.disposition, 'DELIVERED');
  });

  test('a Service without a ready endpoint is REJECTED in the client\'s node', () => {
    const doc = serviceCluster();
    for (const ep of doc.endpointSlices![0]!.endpoints!) ep.conditions = { ready: false, serving: false };
    const { t, report } = traceTo(compile(doc), 'default/client', '10.96.0.10', 'tcp', 80);
    assert.equal(t.paths.length, 1);
    assert.equal(report.disposition, 'REJECTED');
    const drop = report.hops.at(-1)!.steps.at(-1)! as Record<string, unknown>;
    assert.equal(drop.rule, 'reject');
    assert.equal(report.hops.at(-1)!.netns, 'node-a');
  });

  test('serving and terminating endpoints are used when none is ready', () => {
    const doc = serviceCluster();
    for (const ep of doc.endpointSlices![0]!.endpoints!) ep.conditions = { ready: false, serving: true, terminating: true };
    const { t, report } = traceTo(compile(doc), 'default/client', '10.96.0.10', 'tcp', 80);
    assert.equal(t.paths.length, 3);
    const why = (dnatOf(report.hops)!.candidates as { why: string }[]).map((x) => x.why);
    assert.deepEqual(why, ['serving-terminating', 'serving-terminating', 'serving-terminating']);
  });

  test('internalTrafficPolicy Local without an endpoint on the client\'s node is DENIED', () => {
    const doc = serviceCluster();
    doc.services![0]!.spec.internalTrafficPolicy = 'Local';
    const { report } = traceTo(compile(doc), 'default/client-b', '10.96.0.10', 'tcp', 80);
    // client-b is on node-b, which has web-b: only it.
    assert.equal(report.disposition, 'DELIVERED');
    assert.equal(report.paths, undefined);
    const doc2 = serviceCluster();
    doc2.services![0]!.spec.internalTrafficPolicy = 'Local';
    doc2.endpointSlices![0]!.endpoints![0]!.nodeName = 'node-b';
    doc2.endpointSlices![0]!.endpoints![0]!.addresses = ['10.1.2.12'];
    const { report: r2 } = traceTo(compile(doc2), 'default/client', '10.96.0.10', 'tcp', 80);
    assert.equal(r2.disposition, 'DENIED');
  });

  test('the node itself to a ClusterIP is masqueraded when a clusterCIDR tells pods from the rest', () => {
    const doc = serviceCluster();
    doc.kubeProxy = { clusterCIDR: '10.1.0.0/16' };
    const { t, report } = traceTo(compile(doc), 'node-a', '10.96.0.10', 'tcp', 80, '10.1.2.10');
    assert.equal(t.paths[0]!.disposition, 'DELIVERED');
    const dnat = dnatOf(report.hops)!;
    assert.equal(dnat.masquerade, 'off-cluster');
    const snat = report.hops.flatMap((h) => h.steps).find((s) => s.type === 'SNAT') as Record<string, unknown>;
    assert.equal(snat.to, '192.168.0.11');
  });

  test('hairpin: a pod that reaches itself through its Service is masqueraded to its bridge address', () => {
    const doc = serviceCluster();
    const { t, report } = traceTo(compile(doc), 'default/web-a', '10.96.0.10', 'tcp', 80, '10.1.1.10');
    assert.equal(t.paths[0]!.disposition, 'DELIVERED');
    const snat = report.hops.flatMap((h) => h.steps).find((s) => s.type === 'SNAT') as Record<string, unknown>;
    assert.equal(snat.reason, 'hairpin');
    assert.equal(snat.to, '10.1.1.1');
  });
});

// kube-proxy's DNAT is a nat rule before routing, but its REJECT and DROP are filter rules (INPUT, FORWARD, OUTPUT) after
// it, and a node's own socket routes before OUTPUT: a node without a route to the service CIDR (no default route) ends
// such packets as the kernel does. test/kernel/services.test.ts shows the same against the kernel.
describe('routing comes before kube-proxy\'s filter rules', () => {
  const noDefaultRoute = () => {
    const doc = serviceCluster();
    delete doc.network;
    return doc;
  };

  test('a pod\'s packet to a ClusterIP without ready endpoints, at a node with no route to it: NO_ROUTE there, not REJECTED', () => {
    const doc = noDefaultRoute();
    for (const ep of doc.endpointSlices![0]!.endpoints!) ep.conditions = { ready: false, serving: false };
    const { report } = traceTo(compile(doc), 'default/client', '10.96.0.10', 'tcp', 80);
    assert.equal(report.disposition, 'NO_ROUTE');
    assert.equal(report.hops.at(-1)!.netns, 'node-a');
    assert.equal(dnatOf(report.hops), undefined, 'the filter rule never sees the packet');
    // With a default route the packet is routed, and kube-proxy's rule in FORWARD rejects it.
    const routed = serviceCluster();
    for (const ep of routed.endpointSlices![0]!.endpoints!) ep.conditions = { ready: false, serving: false };
    assert.equal(traceTo(compile(routed), 'default/client', '10.96.0.10', 'tcp', 80).report.disposition, 'REJECTED');
  });

  test('internalTrafficPolicy Local without a local endpoint, no route: NO_ROUTE rather than DENIED', () => {
    const doc = noDefaultRoute();
    doc.services![0]!.spec.internalTrafficPolicy = 'Local';
    doc.endpointSlices![0]!.endpoints![0]!.nodeName = 'node-b';
    doc.endpointSlices![0]!.endpoints![0]!.addresses = ['10.1.2.12'];
    const { report } = traceTo(compile(doc), 'default/client', '10.96.0.10', 'tcp', 80);
    assert.equal(report.disposition, 'NO_ROUTE');
    assert.equal(dnatOf(report.hops), undefined);
  });

  test('the node itself cannot send to a ClusterIP it has no route to: connect() fails before OUTPUT\'s DNAT', () => {
    const doc = noDefaultRoute();
    doc.kubeProxy = { clusterCIDR: '10.1.0.0/16' };
    const { t, report } = traceTo(compile(doc), 'node-a', '10.96.0.10', 'tcp', 80);
    assert.equal(t.paths.length, 1);
    assert.equal(report.disposition, 'NO_ROUTE');
    assert.equal(dnatOf(report.hops), undefined);
    // A pod's packet is DNATed in PREROUTING, before its node routes it: delivered, route or none.
    assert.equal(traceTo(compile(doc), 'default/client', '10.96.0.10', 'tcp', 80, '10.1.2.10').report.disposition, 'DELIVERED');
  });

});

// The nftables mode's cluster-ips-check (pkg/proxy/nftables/proxier.go, from filter-forward and filter-output-post-dnat):
// what no Service rule translated and is still addressed to a ClusterIP is rejected, and an address of the service CIDR
// that no Service holds is dropped. The iptables mode has neither rule.
describe('nftables mode: cluster-ips-check', () => {
  const nft = (mode: 'nftables' | 'iptables' = 'nftables') => {
    const doc = serviceCluster();
    doc.kubeProxy = { mode, clusterCIDR: '10.1.0.0/16' };
    doc.serviceCIDRs = ['10.96.0.0/12'];
    return compile(doc);
  };
  const lastStep = (report: ReturnType<typeof traceTo>['report']) => report.hops.at(-1)!.steps.at(-1)! as Record<string, unknown>;

  test('a port the ClusterIP does not serve is REJECTED where the node forwards it', () => {
    const { report } = traceTo(nft(), 'default/client', '10.96.0.10', 'tcp', 8081);
    assert.equal(report.disposition, 'REJECTED');
    assert.equal(report.hops.at(-1)!.netns, 'node-a');
    const drop = lastStep(report);
    assert.equal(drop.rule, 'cluster-ip-port');
    assert.equal((drop.service as { name: string }).name, 'web');
    assert.match(String(drop.explanation), /10\.96\.0\.10 is the ClusterIP of default\/web, which has no port 8081/);
    const answer = answerFlow(nft(), { name: 'x', revision: 1 }, { from: 'default/client', to: '10.96.0.10', protocol: 'tcp', port: 8081 });
    assert.match(answer.notes.join(' '), /no port 8081\/TCP \(its ports: 80\/TCP\): kube-proxy's nftables mode rejects it/);
    // The iptables mode routes it as any other address (here out by the default route).
    assert.equal(traceTo(nft('iptables'), 'default/client', '10.96.0.10', 'tcp', 8081).report.disposition, 'EXITS_NETWORK');
  });

  test('ICMP to a ClusterIP is rejected too (every new packet meets the rule)', () => {
    const c = nft();
    const t = c.trace(c.resolve('default/client', 'source'), c.resolve('10.96.0.10', 'destination'), 64, undefined, { protocol: 'icmp' });
    assert.equal(t.paths[0]!.disposition, 'REJECTED');
  });

  test('an address of the service CIDR no Service holds is DENIED, naming no Service', () => {
    const { report } = traceTo(nft(), 'default/client', '10.96.0.99', 'tcp', 80);
    assert.equal(report.disposition, 'DENIED');
    const drop = lastStep(report);
    assert.equal(drop.rule, 'unallocated-cluster-ip');
    assert.equal(drop.service, undefined);
    assert.match(String(drop.explanation), /10\.96\.0\.99 is in the service CIDR and no Service holds it/);
    assert.equal(traceTo(nft('iptables'), 'default/client', '10.96.0.99', 'tcp', 80).report.disposition, 'EXITS_NETWORK');
  });

  test('a translated packet and one the node delivers to itself are not checked', () => {
    const c = nft();
    assert.equal(traceTo(c, 'default/client', '10.96.0.10', 'tcp', 80, '10.1.2.10').report.disposition, 'DELIVERED');
    assert.equal(traceTo(c, 'default/client', '192.168.0.12', 'tcp', 22).report.disposition, 'DELIVERED');
  });
});

describe('kube-proxy in ipvs mode', () => {
  test('a ping or another port to a ClusterIP: the answer says the node would take it itself (kube-ipvs0), as iptables would not', () => {
    const iptables = compile(serviceCluster());
    const ipvs = compile({ ...serviceCluster(), kubeProxy: { mode: 'ipvs' } });
    const notes = (c: CompiledTopology, protocol: 'icmp' | 'tcp', port?: number) =>
      answerFlow(c, { name: 'ipvs', revision: 1 }, { from: 'client', to: '10.96.0.10', protocol, ...(port ? { dstPort: port } : {}) } as never).notes ?? [];
    assert.equal(notes(iptables, 'icmp').some((n) => n.includes('ipvs')), false);
    assert.match(notes(ipvs, 'icmp').join('\n'), /ipvs mode, which binds every Service address to the kube-ipvs0 device of every node: a node takes a packet to 10\.96\.0\.10 as its own, so it answers the ping itself/);
    assert.match(notes(ipvs, 'tcp', 8443).join('\n'), /it answers TCP to that port itself \(a reset, or ICMP port unreachable\)/);
    // The Service's own port is translated the same way in both modes.
    const dnat = (c: CompiledTopology) => dnatOf(traceTo(c, 'default/client', '10.96.0.10', 'tcp', 80).report.hops)!;
    assert.equal(dnat(ipvs).mode, 'ipvs');
    assert.deepEqual((dnat(ipvs).endpoints as object), dnat(iptables).endpoints);
  });
});
