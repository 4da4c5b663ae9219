// @serial: a refused diff is judged by how soon it was refused (test/run.sh runs this file alone).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, type TestApp } from '../../helpers/app.js';
import { example } from '../../helpers/examples.js';
import { generateCluster } from '../../../bench/cluster.js';

let t: TestApp;
before(async () => {
  t = await openTestApp();
});
after(() => t.close());

test('after a change: what changed in the topology and which pod pairs changed outcome', async () => {
  const doc = example('two-nodes');
  await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: doc });
  const next = example('two-nodes');
  // node-b moves to another pod CIDR, a pod arrives on it and pod-a2 leaves.
  next.cluster!.nodes[1]!.podCIDRs = ['10.1.3.0/24'];
  next.cluster!.pods = next.cluster!.pods!.filter((p) => p.name !== 'pod-a2' && p.name !== 'pod-b1');
  next.cluster!.pods.push({ namespace: 'default', name: 'pod-b1', nodeName: 'node-b', podIPs: ['10.1.3.2'] });
  next.cluster!.pods.push({ namespace: 'default', name: 'pod-b9', nodeName: 'node-b', podIPs: ['10.1.3.9'] });
  assert.equal((await t.app.inject({ method: 'PUT', url: '/v1/topologies/two-nodes', payload: next })).statusCode, 200);

  const res = await t.app.inject('/v1/topologies/two-nodes/diff');
  assert.equal(res.statusCode, 200);
  const d = res.json();
  assert.deepEqual([d.from, d.to], [1, 2]);
  assert.deepEqual(d.changes.nodes, { added: [], removed: [], changed: ['node-b'] });
  assert.deepEqual(d.changes.pods, { added: ['default/pod-b9'], removed: ['default/pod-a2'], changed: ['default/pod-b1'] });
  assert.deepEqual(d.changes.netns.added, ['default/pod-b9']);
  const nodeA = d.changes.routes.find((r: { netns: string }) => r.netns === 'node-a');
  assert.deepEqual(nodeA, {
    netns: 'node-a',
    added: ['{"dst":"10.1.3.0/24","gateway":"192.168.0.12","dev":"eth0"}'],
    removed: ['{"dst":"10.1.2.0/24","gateway":"192.168.0.12","dev":"eth0"}'],
  });
  // The pods in both revisions (pod-a1, pod-b1, kube-proxy-a) still reach each other: no pair changed.
  assert.equal(d.reachability.pods, 3);
  assert.equal(d.reachability.changedCount, 0);
});

test('a fault shows up as pairs that changed outcome', async () => {
  const fabric = {
    netns: [
      { name: 'a', kind: 'pod', links: [{ name: 'eth0', kind: 'physical', addresses: ['192.168.0.1/24'], segment: 'lan' }] },
      { name: 'b', kind: 'pod', links: [{ name: 'eth0', kind: 'physical', addresses: ['192.168.0.2/24'], segment: 'lan' }] },
    ],
  };
  await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: { name: 'lab', fabric } });
  const broken = structuredClone(fabric) as typeof fabric & { netns: { routes?: object[] }[] };
  broken.netns[1]!.routes = [{ dst: '192.168.0.1', type: 'blackhole' }];
  await t.app.inject({ method: 'PUT', url: '/v1/topologies/lab', payload: { fabric: broken } });
  const d = (await t.app.inject('/v1/topologies/lab/diff?from=1&to=2')).json();
  assert.deepEqual(d.changes.routes, [{ netns: 'b', added: ['{"type":"blackhole","dst":"192.168.0.1"}'], removed: [] }]);
  assert.deepEqual(d.reachability, { pods: 2, changedCount: 1, changed: [{ from: 'b', to: 'a', before: 'DELIVERED', after: 'BLACKHOLED' }] });
  assert.equal((await t.app.inject('/v1/topologies/lab/diff?from=1&to=9')).statusCode, 404);
});

test('the pairs compared can be limited to the pods of a namespace or a node, and the answer says so', async () => {
  const doc = example('two-nodes');
  doc.name = 'filtered';
  await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: doc });
  const next = structuredClone(doc.cluster!);
  next.pods = next.pods!.filter((p) => p.name !== 'pod-a2');
  await t.app.inject({ method: 'PUT', url: '/v1/topologies/filtered', payload: { cluster: next } });

  const byNode = (await t.app.inject('/v1/topologies/filtered/diff?node=node-a')).json();
  // pod-a1 and kube-proxy-a are on node-a in both revisions; pod-b1 is left out.
  assert.equal(byNode.reachability.pods, 2);
  assert.deepEqual(byNode.reachability.filter, { node: 'node-a' });
  // The structural changes are the whole topology's.
  assert.deepEqual(byNode.changes.pods.removed, ['default/pod-a2']);

  const byNamespace = (await t.app.inject('/v1/topologies/filtered/diff?namespace=kube-system')).json();
  assert.equal(byNamespace.reachability.pods, 1);
  assert.deepEqual(byNamespace.reachability.filter, { namespace: 'kube-system' });

  const all = (await t.app.inject('/v1/topologies/filtered/diff')).json();
  assert.equal(all.reachability.pods, 3);
  assert.equal(all.reachability.filter, undefined);
});

test('a diff of more pods than it compares is refused at once, with the limit and the filters to ask for less', async () => {
  const cluster = generateCluster(200, 30); // 6,000 pods
  await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: { name: 'large', cluster } });
  const next = structuredClone(cluster);
  next.pods!.pop();
  assert.equal((await t.app.inject({ method: 'PUT', url: '/v1/topologies/large', payload: { cluster: next } })).statusCode, 200);

  const started = performance.now();
  const res = await t.app.inject('/v1/topologies/large/diff');
  const ms = performance.now() - started;
  assert.equal(res.statusCode, 413);
  assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  const problem = res.json();
  assert.equal(problem.type, 'urn:pathtrace:problem:payload-too-large');
  assert.match(problem.detail, /5999 pods .* at most 5000; .*namespace=, node=/);
  assert.ok(ms < 2000, `answered in ${Math.round(ms)} ms`);

  // Asking for one node's pods answers: the structural changes of the whole cluster, the pairs of that node's 30 pods.
  const d = (await t.app.inject('/v1/topologies/large/diff?node=node-7')).json();
  assert.equal(d.reachability.pods, 30);
  assert.deepEqual(d.changes.pods.removed, ['default/pod-199-29']);
  assert.deepEqual(d.changes.netns.removed, ['default/pod-199-29']);
});

test('protocol and port: a policy that opens PostgreSQL to another namespace changes those pairs only for TCP/5432', async () => {
  const doc = example('network-policy');
  await t.app.inject({ method: 'PUT', url: '/v1/topologies/np-diff', payload: { cluster: doc.cluster } });
  doc.cluster!.networkPolicies![0]!.spec.ingress![0]!.from!.push({ namespaceSelector: { matchLabels: { team: 'sre' } } });
  assert.equal((await t.app.inject({ method: 'PUT', url: '/v1/topologies/np-diff', payload: { cluster: doc.cluster } })).statusCode, 200);
  const tcp = (await t.app.inject('/v1/topologies/np-diff/diff?protocol=tcp&port=5432')).json();
  assert.deepEqual(tcp.changes.networkPolicies, { added: [], removed: [], changed: ['shop/db-from-web'] });
  assert.deepEqual(tcp.reachability, {
    pods: 3,
    protocol: 'tcp',
    port: 5432,
    changedCount: 1,
    changed: [{ from: 'ops/probe', to: 'shop/db', before: 'DENIED', after: 'DELIVERED' }],
  });
  const icmp = (await t.app.inject('/v1/topologies/np-diff/diff')).json();
  assert.deepEqual(icmp.reachability, { pods: 3, changedCount: 0, changed: [] });
  const port = await t.app.inject('/v1/topologies/np-diff/diff?port=5432');
  assert.equal(port.statusCode, 400);
  assert.deepEqual(port.json().errors, [{ parameter: 'port', detail: 'needs protocol tcp, udp or sctp' }]);
});

test('Services: a Service whose endpoints or spec changed is listed; a slice renamed with the same endpoints is not', async () => {
  const doc = example('services');
  await t.app.inject({ method: 'PUT', url: '/v1/topologies/svc-diff', payload: { cluster: doc.cluster } });
  const next = structuredClone(doc.cluster!);
  next.endpointSlices!.find((s) => s.metadata.name.startsWith('web-'))!.endpoints = [];
  // The same endpoints of kube-dns, in another slice name and order.
  const dns = next.endpointSlices!.find((s) => s.metadata.name.startsWith('kube-dns-'))!;
  dns.metadata.name = 'kube-dns-zz9x1';
  dns.endpoints!.reverse();
  assert.equal((await t.app.inject({ method: 'PUT', url: '/v1/topologies/svc-diff', payload: { cluster: next } })).statusCode, 200);
  const d = (await t.app.inject('/v1/topologies/svc-diff/diff')).json();
  assert.deepEqual(d.changes.services, { added: [], removed: [], changed: ['default/web'] });
  assert.equal(d.reachability.changedCount, 0, 'pod pairs do not go through Services');
});
