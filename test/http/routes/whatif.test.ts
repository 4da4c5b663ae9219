import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, seedTwoNodes, type TestApp } from '../../helpers/app.js';
import { example } from '../../helpers/examples.js';

let t: TestApp;
before(async () => {
  t = await openTestApp();
});
after(() => t.close());
beforeEach(() => seedTwoNodes(t));

const whatIf = (payload: object) => t.app.inject({ method: 'POST', url: '/v1/traces', payload });
const dispositions = (body: { traces: { trace?: { disposition: string } }[] }) => body.traces.map((x) => x.trace?.disposition);
const stored = async () => (await t.app.inject('/v1/topologies/two-nodes')).json();

test('an inline topology is traced and nothing is stored', async () => {
  const res = await whatIf({ topology: { cluster: example('two-nodes').cluster }, flows: [{ from: 'pod-a1', to: 'pod-b1' }] });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().base, null);
  assert.deepEqual(dispositions(res.json()), ['DELIVERED']);
  assert.equal((await t.app.inject('/v1/topologies')).json().items.length, 1);
});

test('changes on top of a stored topology: a deleted route and a downed link, without touching the stored one', async () => {
  const res = await whatIf({
    base: 'two-nodes',
    changes: [
      { op: 'delete-route', netns: 'node-a', dst: '10.1.2.0/24' },
      { op: 'link-down', netns: 'default/pod-a2', link: 'eth0' },
    ],
    flows: [
      { from: 'pod-a1', to: 'pod-b1' },
      { from: 'pod-b1', to: 'pod-a1' },
      { from: 'pod-a1', to: 'pod-a2' },
    ],
  });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.deepEqual(body.base, { name: 'two-nodes', revision: 1 });
  assert.deepEqual(dispositions(body), ['NO_ROUTE', 'DELIVERED', 'NEIGHBOR_UNREACHABLE']);
  assert.deepEqual(body.traces[0].trace.hops.map((h: { netns: string }) => h.netns), ['default/pod-a1', 'node-a']);
  assert.equal((await stored()).revision, 1);
  const again = await t.app.inject('/v1/topologies/two-nodes/trace?from=pod-a1&to=pod-b1');
  assert.equal(again.json().disposition, 'DELIVERED');
});

test('a merge patch of the stored document: a gateway added to the cluster network', async () => {
  const res = await whatIf({
    base: 'two-nodes',
    patch: { cluster: { network: { cidr: '192.168.0.0/24', gateway: '192.168.0.1' } } },
    flows: [{ from: 'pod-a1', to: '8.8.8.8' }],
  });
  assert.deepEqual(dispositions(res.json()), ['EXITS_NETWORK']);
});

test('bad what-ifs are problems: both or neither form, changes that do not apply, an inconsistent result', async () => {
  let res = await whatIf({ flows: [{ from: 'a', to: 'b' }] });
  assert.equal(res.statusCode, 400);
  res = await whatIf({ base: 'two-nodes', changes: [{ op: 'link-down', netns: 'node-z', link: 'eth0' }], flows: [{ from: 'pod-a1', to: 'pod-b1' }] });
  assert.equal(res.statusCode, 422);
  assert.deepEqual(res.json().errors, [{ pointer: '/changes/0/netns', detail: 'there is no netns named node-z; did you mean node-a, node-b?' }]);
  res = await whatIf({ base: 'two-nodes', changes: [{ op: 'link-down', netns: 'router-9', link: 'eth0' }], flows: [{ from: 'pod-a1', to: 'pod-b1' }] });
  assert.deepEqual(res.json().errors, [{ pointer: '/changes/0/netns', detail: 'there is no netns named router-9' }]);
  // The patched base is checked as a body sent whole: no nodes is a schema error (400), as for POST.
  res = await whatIf({ base: 'two-nodes', patch: { cluster: { nodes: [] } }, flows: [{ from: 'pod-a1', to: 'pod-b1' }] });
  assert.equal(res.statusCode, 400);
  assert.deepEqual(res.json().errors, [{ pointer: '/patch/cluster/nodes', detail: 'must NOT have fewer than 1 items' }]);
  // An inconsistent result (a pod on a node that is not there) is still a 422.
  res = await whatIf({ base: 'two-nodes', patch: { cluster: { pods: [{ name: 'p', nodeName: 'node-z', podIPs: ['10.1.1.9'] }] } }, flows: [{ from: 'pod-a1', to: 'pod-b1' }] });
  assert.equal(res.statusCode, 422, res.body);
  res = await whatIf({ base: 'nope', flows: [{ from: 'pod-a1', to: 'pod-b1' }] });
  assert.equal(res.statusCode, 404);
  res = await whatIf({ topology: { cluster: example('two-nodes').cluster }, changes: [], flows: [{ from: 'pod-a1', to: 'pod-b1' }] });
  assert.equal(res.statusCode, 400);
});

test('compare: a policy change before anyone applies it, as the pairs whose outcome it changes for a protocol and port', async () => {
  const doc = example('network-policy');
  const put = await t.app.inject({ method: 'PUT', url: '/v1/topologies/network-policy', payload: { cluster: doc.cluster } });
  assert.equal(put.statusCode, 201, put.body);
  // The database also takes PostgreSQL from the ops namespace.
  const widened = structuredClone(doc.cluster!.networkPolicies!);
  widened[0]!.spec.ingress![0]!.from!.push({ namespaceSelector: { matchLabels: { team: 'sre' } } });
  const change = { base: 'network-policy', patch: { cluster: { networkPolicies: widened } } };
  const res = await whatIf({ ...change, compare: { protocol: 'tcp', port: 5432 } });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.deepEqual(body.count, { flows: 0, errors: 0, byDisposition: {} });
  assert.deepEqual(body.diff.changes.networkPolicies, { added: [], removed: [], changed: ['shop/db-from-web'] });
  assert.deepEqual(body.diff.reachability, {
    pods: 3,
    protocol: 'tcp',
    port: 5432,
    changedCount: 1,
    changed: [{ from: 'ops/probe', to: 'shop/db', before: 'DENIED', after: 'DELIVERED' }],
  });
  // For ICMP nothing changes: the rule admits TCP/5432 only.
  const icmp = (await whatIf({ ...change, compare: {} })).json();
  assert.deepEqual(icmp.diff.reachability, { pods: 3, changedCount: 0, changed: [] });
  // Flows are traced through the changed topology alongside, and nothing is stored.
  const both = (await whatIf({ ...change, compare: { namespace: 'shop', protocol: 'tcp', port: 5432 }, flows: [{ from: 'ops/probe', to: 'shop/db', protocol: 'tcp', port: 5432 }] })).json();
  assert.deepEqual(dispositions(both), ['DELIVERED']);
  assert.deepEqual(both.diff.reachability, { pods: 2, filter: { namespace: 'shop' }, protocol: 'tcp', port: 5432, changedCount: 0, changed: [] });
  assert.equal((await t.app.inject('/v1/topologies/network-policy')).json().revision, 1);
});

test('compare is refused without a base, with a port but no protocol, and neither flows nor compare is a 400', async () => {
  const inline = await whatIf({ topology: { cluster: example('two-nodes').cluster }, compare: {} });
  assert.equal(inline.statusCode, 400);
  assert.deepEqual(inline.json().errors, [{ pointer: '/compare', detail: 'only with base' }]);
  const port = await whatIf({ base: 'two-nodes', compare: { port: 80 } });
  assert.equal(port.statusCode, 400);
  assert.deepEqual(port.json().errors, [{ pointer: '/compare/port', detail: 'needs protocol tcp, udp or sctp' }]);
  const none = await whatIf({ base: 'two-nodes' });
  assert.equal(none.statusCode, 400);
  assert.equal(none.json().detail, 'give flows to trace, or compare (the pairs of pods before and after the change), or both');
});

test('Services in a what-if: the backends scaled to zero, and externalTrafficPolicy flipped to Cluster', async () => {
  const doc = example('services');
  assert.equal((await t.app.inject({ method: 'PUT', url: '/v1/topologies/services', payload: { cluster: doc.cluster } })).statusCode, 201);
  const toWeb = { from: 'pod-a1', to: 'svc/default/web', protocol: 'tcp', port: 'http' };
  // From outside the cluster, to node-a's NodePort: web's only endpoint is on node-b.
  const fromOutside = { from: '203.0.113.7', enter: 'node-a', to: '192.168.0.11', protocol: 'tcp', port: 30080 };
  const base = (await whatIf({ base: 'services', flows: [toWeb, fromOutside] })).json();
  assert.deepEqual(dispositions(base), ['DELIVERED', 'DENIED']);
  const slices = structuredClone(doc.cluster!.endpointSlices!);
  slices.find((s) => s.metadata.name.startsWith('web-'))!.endpoints = [];
  const scaled = (await whatIf({ base: 'services', patch: { cluster: { endpointSlices: slices } }, flows: [toWeb] })).json();
  assert.deepEqual(dispositions(scaled), ['REJECTED']);
  const services = structuredClone(doc.cluster!.services!);
  services.find((s) => s.metadata.name === 'web')!.spec!.externalTrafficPolicy = 'Cluster';
  const flipped = (await whatIf({ base: 'services', patch: { cluster: { services } }, flows: [fromOutside] })).json();
  assert.deepEqual(dispositions(flipped), ['DELIVERED']);
  const hops = flipped.traces[0].trace.hops.map((h: { netns: string }) => h.netns);
  assert.deepEqual([hops[0], hops.at(-1)], ['node-a', 'default/web-b1']);
  assert.ok(flipped.traces[0].trace.hops[0].steps.some((s: { type: string }) => s.type === 'SNAT'), 'masqueraded: the client is outside the cluster');
});
