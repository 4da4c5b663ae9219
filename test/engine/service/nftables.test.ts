// The nftables proxier's cluster-ips-check through the walk and the answer: a packet to a ClusterIP on a port its
// Service does not have is REJECTED at the node (any protocol, a ping included), one to an address of the service
// CIDR that no Service holds is DENIED; the iptables proxier has neither rule and routes both on.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { compileTopology, type CompiledTopology } from '../../../src/engine/topology.js';
import { checkTopology } from '../../../src/topology/validate.js';
import { explain } from '../../../src/answer/explain.js';
import type { ClusterDoc } from '../../../src/topology/schema.js';
import { Addr } from '../../../src/engine/addr.js';
import { untranslatedNotes } from '../../../src/engine/service/resolve.js';
import { serviceCluster } from './clusters.js';

function cluster(mode: 'iptables' | 'nftables'): CompiledTopology {
  const doc: ClusterDoc = { ...serviceCluster(), kubeProxy: { mode, clusterCIDR: '10.1.0.0/16' }, serviceCIDRs: ['10.96.0.0/16'] };
  return compileTopology(checkTopology({ cluster: doc }));
}

function traceTo(c: CompiledTopology, to: string, protocol: 'tcp' | 'udp' | 'icmp', port: number | undefined) {
  const src = c.resolve('default/client', 'source');
  const dst = c.resolve(to, 'destination');
  const t = c.trace(src, dst, 64, undefined, { protocol, ...(port === undefined ? {} : { dstPort: port }) });
  return explain(c.fabric, t, { from: src.name, to: dst.name });
}

const lastStep = (report: ReturnType<typeof traceTo>) => ({ netns: report.hops.at(-1)!.netns, step: report.hops.at(-1)!.steps.at(-1)! as Record<string, unknown> });

describe('nftables cluster-ips-check', () => {
  test("a ClusterIP's port its Service does not have is REJECTED in the client's node, naming the Service", () => {
    for (const protocol of ['tcp', 'udp'] as const) {
      const report = traceTo(cluster('nftables'), '10.96.0.10', protocol, 81);
      assert.equal(report.disposition, 'REJECTED', protocol);
      const { netns, step } = lastStep(report);
      assert.equal(netns, 'node-a');
      assert.deepEqual([step.type, step.rule, (step.service as { name: string }).name], ['DROP', 'cluster-ip-port', 'web']);
      assert.match(String(step.explanation), /10\.96\.0\.10 is the ClusterIP of default\/web, which has no port 81 for it/);
      assert.ok(!report.hops.some((h) => h.steps.some((s) => s.type === 'DNAT')), 'no Service rule translated it');
    }
  });

  test('a ping to a ClusterIP is REJECTED too: the check matches any protocol', () => {
    const report = traceTo(cluster('nftables'), '10.96.0.10', 'icmp', undefined);
    assert.equal(report.disposition, 'REJECTED');
    assert.equal(lastStep(report).step.rule, 'cluster-ip-port');
  });

  test('an address of the service CIDR that no Service holds is DENIED', () => {
    const report = traceTo(cluster('nftables'), '10.96.7.7', 'tcp', 80);
    assert.equal(report.disposition, 'DENIED');
    const { netns, step } = lastStep(report);
    assert.equal(netns, 'node-a');
    assert.deepEqual([step.rule, step.service], ['unallocated-cluster-ip', undefined]);
    assert.match(String(step.explanation), /10\.96\.7\.7 is in the service CIDR and no Service holds it/);
    const c = cluster('nftables');
    for (const note of untranslatedNotes(c.services, Addr.parse('10.96.7.7'), 'tcp', 80)) assert.match(note, /nftables mode drops it/, 'no note contradicts the DROP step');
  });

  test('with no Service at all, the service CIDR is still dropped', () => {
    const doc: ClusterDoc = { ...serviceCluster(), services: [], endpointSlices: [], kubeProxy: { mode: 'nftables' }, serviceCIDRs: ['10.96.0.0/16'] };
    const c = compileTopology(checkTopology({ cluster: doc }));
    const report = traceTo(c, '10.96.0.10', 'tcp', 80);
    assert.equal(report.disposition, 'DENIED');
    assert.equal(lastStep(report).step.rule, 'unallocated-cluster-ip');
  });

  test("the Service's own port is still DNATed, and iptables mode routes the other packets on", () => {
    assert.equal(traceTo(cluster('nftables'), '10.96.0.10', 'tcp', 80).disposition, 'DELIVERED');
    for (const [to, port] of [['10.96.0.10', 81], ['10.96.7.7', 80]] as const) {
      const c = cluster('iptables');
      const report = traceTo(c, to, 'tcp', port);
      assert.ok(!['REJECTED', 'DENIED'].includes(report.disposition), `${to}:${port} ${report.disposition}`);
      assert.match(untranslatedNotes(c.services, Addr.parse(to), 'tcp', port)[0] ?? '', new RegExp(to.replaceAll('.', '\\.')), 'a note says why it was not translated');
    }
  });
});
