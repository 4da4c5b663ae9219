// Services in a batch: flows take the single trace's `enter`, `src` and `endpoint` and Service targets, and a
// bidirectional batch traces the reply from the endpoint, un-NATed by conntrack in the node that translated the request
// (an UNNAT step there; through the masquerade address and on to the client when the request was masqueraded).
// The topology is examples/services.json, and a copy whose `web` Service has externalTrafficPolicy Cluster.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, type TestApp } from '../../helpers/app.js';
import { resetDb } from '../../helpers/db.js';
import { example } from '../../helpers/examples.js';

type Json = Record<string, any>;

let t: TestApp;
before(async () => {
  t = await openTestApp();
  await resetDb(t.db);
  const services = example('services') as Json;
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: services })).statusCode, 201);
  const cluster = structuredClone(services);
  cluster.name = 'services-cluster';
  cluster.cluster.services.find((s: Json) => s.metadata.name === 'web').spec.externalTrafficPolicy = 'Cluster';
  // No default route: its nodes reach the cluster's own prefixes only, and a reply to a client outside goes nowhere.
  delete cluster.cluster.network;
  const res = await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: cluster });
  assert.equal(res.statusCode, 201, res.body);
});
after(() => t.close());

const batch = async (flows: Json[], bidirectional = true, topology = 'services', query = '') => {
  const res = await t.app.inject({ method: 'POST', url: `/v1/topologies/${topology}/traces${query}`, payload: { bidirectional, flows } });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().traces as Json[];
};
const single = async (query: string, topology = 'services') => (await t.app.inject(`/v1/topologies/${topology}/trace?${query}`)).json();
const stepsOf = (hops: Json[], type: string): Json[] => hops.flatMap((h) => (h.steps as Json[]).filter((s) => s.type === type).map((s) => ({ netns: h.netns, ...s })));

test('a batch flow takes to=svc/…, port by name, endpoint, enter and src, and answers as the single trace does', async () => {
  const flows = [
    { from: 'pod-a1', to: 'svc/kube-system/kube-dns', port: 'dns', endpoint: '10.1.2.53' },
    { from: '203.0.113.7', enter: 'node-b', to: '192.168.0.12', protocol: 'tcp', port: 30080 },
    { from: 'node-a', src: '127.0.0.1', to: '127.0.0.1', protocol: 'tcp', port: 30080 },
  ];
  const traces = await batch(flows, false);
  const queries = [
    'from=pod-a1&to=svc/kube-system/kube-dns&port=dns&endpoint=10.1.2.53',
    'from=203.0.113.7&enter=node-b&to=192.168.0.12&protocol=tcp&port=30080',
    'from=node-a&src=127.0.0.1&to=127.0.0.1&protocol=tcp&port=30080',
  ];
  for (const [i, q] of queries.entries()) {
    const { topology: _, ...one } = await single(q);
    assert.equal(traces[i]!.error, undefined, JSON.stringify(traces[i]!.error));
    assert.deepEqual(traces[i]!.trace, one, q);
  }
  assert.equal(stepsOf(traces[0]!.trace.hops, 'DNAT')[0].to, '10.1.2.53:53');
  // A bad `enter` is that flow's problem, not the batch's.
  const [bad] = await batch([{ from: '203.0.113.7', enter: 'node-z', to: '192.168.0.12' }], false);
  assert.equal(bad!.error.status, 404);
});

test('bidirectional, a pod to a ClusterIP: the reply comes from the endpoint and is un-NATed in the client\'s node', async () => {
  const [item] = await batch([{ from: 'pod-a1', to: 'svc/kube-system/kube-dns', port: 'dns', srcPort: 40000, endpoint: '10.1.2.53' }]);
  assert.equal(item!.trace.disposition, 'DELIVERED');
  const back = item!.return;
  assert.equal(back.disposition, 'DELIVERED');
  assert.equal(item!.returnFails, false);
  assert.equal(item!.asymmetric, false);
  // What the client receives: from the ClusterIP and port it sent to.
  assert.deepEqual([back.flow.src, back.flow.srcPort, back.flow.dst, back.flow.dstPort], ['10.96.0.10', 53, '10.1.1.2', 40000]);
  assert.equal(back.source.name, 'kube-system/coredns-b');
  assert.equal(back.hops.at(-1).netns, 'default/pod-a1');
  const [unnat] = stepsOf(back.hops, 'UNNAT');
  assert.equal(unnat.netns, 'node-a');
  assert.deepEqual(unnat.src, { from: '10.1.2.53:53', to: '10.96.0.10:53' });
  assert.equal(unnat.dst, undefined);
  assert.equal(unnat.service.name, 'kube-dns');
  assert.match(unnat.explanation, /conntrack in node-a reverses kube-proxy's translation of the request: the reply's source 10\.1\.2\.53:53 becomes 10\.96\.0\.10:53/);
  assert.match(back.summary, /conntrack un-NATs it in node-a: from 10\.96\.0\.10:53/);
  // detail=hops: the step without its sentence.
  const [lean] = await batch([{ from: 'pod-a1', to: 'svc/kube-system/kube-dns', port: 'dns', endpoint: '10.1.2.53' }], true, 'services', '?detail=hops');
  const [leanStep] = stepsOf(lean!.return.hops, 'UNNAT');
  assert.equal(leanStep.explanation, undefined);
  assert.deepEqual(leanStep.src, { from: '10.1.2.53:53', to: '10.96.0.10:53' });
});

test('bidirectional, an outside client to a NodePort under Cluster policy: the reply goes back through the masquerading node', async () => {
  const [item] = await batch([{ from: '203.0.113.7', enter: 'node-a', to: '192.168.0.11', protocol: 'tcp', port: 30080, srcPort: 50000 }], true, 'services-cluster');
  const snat = stepsOf(item!.trace.hops, 'SNAT')[0];
  assert.equal(snat.reason, 'external-cluster-policy');
  assert.equal(snat.to, '192.168.0.11');
  const back = item!.return;
  // From web-b1 to node-a (the masquerade address), un-NATed there, and on to the client outside.
  assert.deepEqual(back.hops.map((h: Json) => h.netns), ['default/web-b1', 'node-b', 'node-a']);
  const [unnat] = stepsOf(back.hops, 'UNNAT');
  assert.equal(unnat.netns, 'node-a');
  assert.deepEqual(unnat.src, { from: '10.1.2.3:8080', to: '192.168.0.11:30080' });
  assert.deepEqual(unnat.dst, { from: '192.168.0.11', to: '203.0.113.7' });
  assert.equal(stepsOf(back.hops, 'DELIVER').length, 0, 'the node does not keep the reply: conntrack sends it on');
  // services-cluster's nodes route nothing but the cluster's own prefixes: node-a has no way back to the internet client,
  // and the batch says so (the request got in: it entered by a link the trace was told of).
  assert.equal(back.disposition, 'NO_ROUTE');
  assert.match(back.summary, /^NO_ROUTE at node-a: /);
  assert.deepEqual(back.hops.at(-1).steps.map((s: Json) => s.type), ['RECEIVE', 'UNNAT', 'ROUTE', 'DROP']);
  assert.equal(item!.returnFails, true);
  assert.deepEqual([back.flow.src, back.flow.srcPort, back.flow.dst, back.flow.dstPort], ['192.168.0.11', 30080, '203.0.113.7', 50000]);
  assert.match(back.summary, /the reply of default\/web-b1, un-NATed in node-a/);
});

test('bidirectional, a node to its own NodePort (masqueraded as itself): the reply ends in the node, un-NATed', async () => {
  const [item] = await batch([{ from: 'node-a', to: '192.168.0.11', protocol: 'tcp', port: 30080 }]);
  assert.equal(item!.trace.disposition, 'DELIVERED');
  const back = item!.return;
  assert.equal(back.disposition, 'DELIVERED');
  assert.equal(back.hops.at(-1).netns, 'node-a');
  const [unnat] = stepsOf(back.hops, 'UNNAT');
  assert.equal(unnat.netns, 'node-a');
  assert.deepEqual(stepsOf(back.hops, 'DELIVER').map((s) => s.netns), ['node-a']);
  assert.equal(item!.returnFails, false);
});
