// The reply of a flow the data path masqueraded on its way out (a bidirectional batch): it comes back to the node's
// address, where conntrack un-NATs it (an UNNAT step) and sends it on to the pod; entering where the request left the
// model when the destination is outside it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { traceFlows } from '../../src/answer/batch.js';
import { compileTopology } from '../../src/engine/topology.js';
import { checkTopologyBody } from '../../src/import/body.js';
import type { ClusterDoc } from '../../src/topology/schema.js';
import { twoPods } from '../engine/compile/helpers.js';

type Json = Record<string, any>;

const compiled = (cni: ClusterDoc['cni'], network: ClusterDoc['network']) =>
  compileTopology(checkTopologyBody({ cluster: twoPods(cni, network !== undefined ? { network } : {}) }).spec);

const batch = (c: ReturnType<typeof compiled>, flows: Json[], detail?: 'hops') =>
  traceFlows(c, { name: 't', revision: 1 }, flows as never, { bidirectional: true, maxBytes: 1 << 24, ...(detail ? { detail } : {}) }).traces as Json[];
const stepsOf = (hops: Json[], type: string): Json[] => hops.flatMap((h) => (h.steps as Json[]).filter((s) => s.type === type).map((s) => ({ netns: h.netns, ...s })));

test('a pod to the internet under flannel: the reply comes to the node\'s address, is un-NATed there and reaches the pod', () => {
  const c = compiled({ plugin: 'flannel' }, { cidr: '192.168.0.0/24', gateway: '192.168.0.1' });
  const [item] = batch(c, [{ from: 'a', to: '8.8.8.8', protocol: 'tcp', srcPort: 40000, dstPort: 443 }]);
  assert.equal(item!.trace.disposition, 'EXITS_NETWORK');
  const [snat] = stepsOf(item!.trace.hops, 'SNAT');
  assert.deepEqual([snat!.netns, snat!.from, snat!.to, snat!.reason, snat!.agent], ['node-a', '10.244.1.2', '192.168.0.11', 'egress', 'flannel']);
  assert.match(snat!.explanation, /masqueraded from 10\.244\.1\.2 to 192\.168\.0\.11: flanneld \(--ip-masq\) masquerades traffic from the flannel network/);
  const back = item!.return;
  assert.equal(back.disposition, 'DELIVERED');
  assert.equal(item!.returnFails, false);
  assert.deepEqual([back.flow.src, back.flow.srcPort, back.flow.dst, back.flow.dstPort], ['8.8.8.8', 443, '10.244.1.2', 40000]);
  assert.deepEqual(back.hops.map((h: Json) => h.netns), ['node-a', 'default/a']);
  const [unnat] = stepsOf(back.hops, 'UNNAT');
  assert.equal(unnat!.netns, 'node-a');
  assert.deepEqual(unnat!.dst, { from: '192.168.0.11', to: '10.244.1.2' });
  assert.equal(unnat!.service, undefined);
  assert.match(unnat!.explanation, /conntrack in node-a reverses flannel's masquerade of the request: the reply's destination 192\.168\.0\.11 becomes the pod's 10\.244\.1\.2 again/);
  // The node keeps nothing: conntrack sends the reply on.
  assert.deepEqual(back.hops[0].steps.map((s: Json) => s.type), ['RECEIVE', 'UNNAT', 'ROUTE', 'TRANSMIT', 'BRIDGE']);
  assert.match(back.summary, /the reply of 8\.8\.8\.8, un-NATed in node-a/);
  // detail=hops: the step without its sentence.
  const [lean] = batch(c, [{ from: 'a', to: '8.8.8.8', protocol: 'tcp', srcPort: 40000, dstPort: 443 }], 'hops');
  assert.equal(stepsOf(lean!.return.hops, 'UNNAT')[0]!.explanation, undefined);
});

test('on GKE the reply from the internet enters at the VPC router, where the request left, and comes back through the node', () => {
  const c = compiled({ plugin: 'gke' }, undefined);
  const [item] = batch(c, [{ from: 'a', to: '1.1.1.1', protocol: 'udp', srcPort: 5353, dstPort: 53 }]);
  assert.equal(item!.trace.disposition, 'EXITS_NETWORK');
  assert.equal(item!.trace.hops.at(-1).netns, 'vpc-router');
  assert.equal(stepsOf(item!.trace.hops, 'SNAT')[0]!.agent, 'ip-masq-agent');
  const back = item!.return;
  assert.deepEqual(back.hops.map((h: Json) => h.netns), ['vpc-router', 'node-a', 'default/a']);
  assert.equal(stepsOf(back.hops, 'UNNAT')[0]!.netns, 'node-a');
  assert.equal(back.disposition, 'DELIVERED');
  assert.equal(item!.asymmetric, false);
});

test('a pod to another node under kindnet: the node answers the masquerade address, un-NATed in the pod\'s node', () => {
  const c = compiled({ plugin: 'kindnet' }, undefined);
  const [item] = batch(c, [{ from: 'a', to: 'node-b', protocol: 'tcp', srcPort: 40000, dstPort: 10250 }]);
  assert.equal(item!.trace.disposition, 'DELIVERED');
  const back = item!.return;
  assert.equal(back.source.name, 'node-b');
  assert.deepEqual(back.hops.map((h: Json) => h.netns), ['node-b', 'node-a', 'default/a']);
  assert.deepEqual(stepsOf(back.hops, 'UNNAT')[0]!.dst, { from: '192.168.0.11', to: '10.244.1.2' });
  // Pod to pod is not masqueraded: the plain reply from the other pod.
  const [direct] = batch(c, [{ from: 'a', to: 'b', protocol: 'tcp', srcPort: 40000, dstPort: 80 }]);
  assert.equal(stepsOf(direct!.return.hops, 'UNNAT').length, 0);
  assert.equal(direct!.return.source.name, 'default/b');
});
