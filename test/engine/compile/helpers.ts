// What the data-path tests share: compile an example (through the semantic validator, as the API would), read a netns's
// routes back in `ip -j route` form, and trace a pair down to the shape of its hops.
import assert from 'node:assert/strict';
import { compileTopology, type CompiledTopology } from '../../../src/engine/topology.js';
import { explain } from '../../../src/answer/explain.js';
import type { ExplanationView } from '../../helpers/explained.js';
import { materialise } from '../../../src/engine/materialise.js';
import { checkTopology } from '../../../src/topology/validate.js';
import type { ClusterDoc, NetnsDoc } from '../../../src/topology/schema.js';
import { example } from '../../helpers/examples.js';

export const compile = (doc: ClusterDoc): CompiledTopology => compileTopology(checkTopology({ cluster: doc }));

/**
 * Two nodes on 192.168.0.0/24 (pod CIDRs 10.244.1.0/24 and 10.244.2.0/24), pod `a` on node-a and `b` on node-b, the
 * data path `cni`, and the rest as given: the egress masquerade's tests.
 */
export function twoPods(cni: ClusterDoc['cni'], more: Partial<ClusterDoc> = {}): ClusterDoc {
  return {
    nodes: [
      { name: 'node-a', addresses: [{ type: 'InternalIP', address: '192.168.0.11' }], podCIDRs: ['10.244.1.0/24'] },
      { name: 'node-b', addresses: [{ type: 'InternalIP', address: '192.168.0.12' }], podCIDRs: ['10.244.2.0/24'] },
    ],
    pods: [
      { name: 'a', nodeName: 'node-a', podIPs: ['10.244.1.2'] },
      { name: 'b', nodeName: 'node-b', podIPs: ['10.244.2.2'] },
    ],
    cni,
    ...more,
  };
}

/** A copy of an example's cluster, to change before compiling. */
export const exampleCluster = (name: string): ClusterDoc => structuredClone(example(name).cluster!);

/**
 * A two-node example made dual-stack: node-a and node-b get fd00::11 and fd00::12 and the pod CIDRs fd01:0:0:1::/64 and
 * fd01:0:0:2::/64, and each pod the IPv6 address whose last group is the digits of its name (pod-a1 → fd01:0:0:1::1).
 */
export function dualStack(doc: ClusterDoc): ClusterDoc {
  doc.nodes.forEach((n, i) => {
    n.addresses.push({ type: 'InternalIP', address: `fd00::${11 + i}` });
    n.podCIDRs.push(`fd01:0:0:${i + 1}::/64`);
  });
  doc.pods!.forEach((p) => p.podIPs!.push(`fd01:0:0:${p.nodeName === 'node-a' ? 1 : 2}::${p.name.replace(/\D/g, '')}`));
  return doc;
}

/** The netns as a fabric document holds it: links and routes in `ip -j` field names (connected routes left out). */
export function netnsDoc(c: CompiledTopology, name: string): NetnsDoc {
  const ns = materialise(c.fabric).netns.find((n) => n.name === name);
  assert.ok(ns, `no netns ${name}`);
  return ns;
}

export function run(c: CompiledTopology, from: string, to: string): ExplanationView {
  const src = c.resolve(from, 'source');
  const dst = c.resolve(to, 'destination');
  return explain(c.fabric, c.trace(src, dst), { from: src.name, to: dst.name });
}

/** Each hop as "netns in→out: STEPS". */
export const hops = (r: ExplanationView) =>
  r.hops.map((h) => `${h.netns} ${h.in ?? '-'}→${h.out ?? '-'}: ${h.steps.map((s) => s.type).join(' ')}`);

/** Each hop as "netns: STEPS". */
export const stepTypes = (r: ExplanationView) => r.hops.map((h) => `${h.netns}: ${h.steps.map((s) => s.type).join(' ')}`);

/** The hops of a pod → pod trace through a tunnel between two nodes that route their pods (no bridge). */
export const tunnelled = (from: string, fromNode: string, toNode: string, to: string) => [
  `default/${from}: ORIGINATE ROUTE TRANSMIT`,
  `${fromNode}: RECEIVE ROUTE ENCAPSULATE ROUTE TRANSMIT`,
  `${toNode}: RECEIVE DECAPSULATE RECEIVE ROUTE TRANSMIT`,
  `default/${to}: RECEIVE DELIVER`,
];
