import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { openTestApp, seedTwoNodes, type TestApp } from '../../helpers/app.js';
import { example } from '../../helpers/examples.js';

let t: TestApp;
before(async () => {
  t = await openTestApp();
});
after(() => t.close());
beforeEach(() => seedTwoNodes(t));

const trace = (query: string, name = 'two-nodes') => t.app.inject({ method: 'GET', url: `/v1/topologies/${name}/trace?${query}` });
const netnsPath = (body: { hops: { netns: string }[] }) => body.hops.map((h) => h.netns);

test('cross-node pod to pod over real HTTP: path, decisions and a one-line summary', async () => {
  const res = await request(t.app.server).get('/v1/topologies/two-nodes/trace').query({ from: 'pod-a1', to: 'default/pod-b1' }).expect(200);
  const body = res.body;
  assert.deepEqual(body.topology, { name: 'two-nodes', revision: 1 });
  assert.deepEqual(body.flow, { src: '10.1.1.2', dst: '10.1.2.2', protocol: 'icmp', ttl: 64 });
  assert.deepEqual(body.source, { name: 'default/pod-a1', kind: 'pod', netns: 'default/pod-a1', address: '10.1.1.2' });
  assert.equal(body.disposition, 'DELIVERED');
  assert.deepEqual(netnsPath(body), ['default/pod-a1', 'node-a', 'node-b', 'default/pod-b1']);
  const nodeA = body.hops[1];
  assert.deepEqual(nodeA.steps.map((s: { type: string }) => s.type), ['BRIDGE', 'RECEIVE', 'ROUTE', 'TRANSMIT']);
  const route = nodeA.steps[2];
  assert.deepEqual(route.route, { dst: '10.1.2.0/24', gateway: '192.168.0.12', dev: 'eth0' });
  assert.equal(route.table, 'main');
  assert.match(route.explanation, /10\.1\.2\.0\/24 via 192\.168\.0\.12 dev eth0/);
  assert.deepEqual(body.hops[2].steps[1].route, { dst: '10.1.2.0/24', dev: 'cbr0', protocol: 'kernel', scope: 'link', prefsrc: '10.1.2.1' });
  assert.equal(body.summary, 'DELIVERED: default/pod-a1 (10.1.1.2) → default/pod-b1 (10.1.2.2) via default/pod-a1 → node-a → node-b → default/pod-b1');
  assert.deepEqual(body.notes, []);
});

test('an unassigned pod IP ends NEIGHBOR_UNREACHABLE on the node that owns the CIDR', async () => {
  const body = (await trace('from=pod-a1&to=10.1.2.99')).json();
  assert.equal(body.disposition, 'NEIGHBOR_UNREACHABLE');
  assert.deepEqual(netnsPath(body), ['default/pod-a1', 'node-a', 'node-b']);
  assert.equal(body.destination.netns, null);
  assert.match(body.summary, /^NEIGHBOR_UNREACHABLE at node-b: /);
});

test('unknown and ambiguous endpoints are problems that list candidates', async () => {
  let res = await trace('from=pod-zz&to=pod-b1');
  assert.equal(res.statusCode, 404);
  assert.equal(res.json().type, 'urn:pathtrace:problem:unknown-endpoint');
  assert.deepEqual(res.json().errors, [{ parameter: 'from', detail: 'there is no pod, node or netns named pod-zz in this topology' }]);
  res = await trace('from=pod&to=pod-b1');
  assert.equal(res.statusCode, 404);
  assert.deepEqual(res.json().candidates, ['default/pod-a1', 'default/pod-a2', 'default/pod-b1']);

  const doc = example('two-nodes');
  doc.cluster!.pods!.push({ namespace: 'staging', name: 'pod-b1', nodeName: 'node-a', podIPs: ['10.1.1.40'] });
  await t.app.inject({ method: 'PUT', url: '/v1/topologies/two-nodes', payload: doc });
  res = await trace('from=pod-a1&to=pod-b1');
  assert.equal(res.statusCode, 400);
  assert.equal(res.json().type, 'urn:pathtrace:problem:ambiguous-endpoint');
  assert.deepEqual(res.json().candidates, ['default/pod-b1', 'staging/pod-b1']);
  assert.equal((await trace('from=pod-a1&to=staging/pod-b1')).json().disposition, 'DELIVERED');
});

test('a source outside the topology, mixed families and a port without tcp/udp are 400; an unknown topology is 404', async () => {
  let res = await trace('from=10.9.9.9&to=pod-b1');
  assert.equal(res.statusCode, 400);
  assert.match(res.json().detail, /10\.9\.9\.9 is not an address of any pod, node or netns/);
  res = await trace('from=pod-a1&to=fd00::1');
  assert.equal(res.statusCode, 400);
  assert.match(res.json().detail, /no address family to trace in/);
  res = await trace('from=pod-a1&to=pod-b1&port=80');
  assert.equal(res.statusCode, 400);
  assert.equal((await trace('from=pod-a1&to=pod-b1&protocol=tcp&port=80')).json().flow.port, 80);
  res = await trace('from=pod-a1&to=pod-b1', 'nope');
  assert.equal(res.statusCode, 404);
  assert.equal(res.json().detail, 'there is no topology named nope');
  assert.equal((await trace('from=pod-a1')).statusCode, 400);
});

test('a write is visible to the next trace, and revision= traces an older revision', async () => {
  const doc = example('two-nodes');
  doc.cluster!.network = { cidr: '192.168.0.0/24', gateway: '192.168.0.1' };
  assert.equal((await trace('from=pod-a1&to=8.8.8.8')).json().disposition, 'NO_ROUTE');
  await t.app.inject({ method: 'PUT', url: '/v1/topologies/two-nodes', payload: doc });
  const now = (await trace('from=pod-a1&to=8.8.8.8')).json();
  assert.equal(now.disposition, 'EXITS_NETWORK');
  assert.equal(now.topology.revision, 2);
  const then = (await trace('from=pod-a1&to=8.8.8.8&revision=1')).json();
  assert.equal(then.disposition, 'NO_ROUTE');
  assert.equal(then.topology.revision, 1);
});

test('a data path the engine cannot trace yet is a 422 problem, not a wrong answer', async () => {
  const doc = example('two-nodes');
  doc.cluster!.cni = { plugin: 'calico', mode: 'ipip' };
  await t.app.inject({ method: 'PUT', url: '/v1/topologies/two-nodes', payload: doc });
  const res = await trace('from=pod-a1&to=pod-b1');
  assert.equal(res.statusCode, 422);
  assert.equal(res.json().type, 'urn:pathtrace:problem:unsupported-data-path');
  assert.match(res.json().detail, /calico data path cannot be traced yet/);
});

test('formats: format= or Accept picks text, markdown, Mermaid or SVG; an unacceptable Accept is 406', async () => {
  const url = '/v1/topologies/two-nodes/trace?from=pod-a1&to=pod-b1';
  const json = (await t.app.inject(url)).json();
  let res = await t.app.inject(`${url}&format=text`);
  assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(res.body.split('\n')[0], json.summary);
  res = await t.app.inject({ url, headers: { accept: 'text/markdown' } });
  assert.equal(res.headers['content-type'], 'text/markdown; charset=utf-8');
  assert.match(res.body, /^✅ \*\*DELIVERED\*\*/);
  res = await t.app.inject({ url, headers: { accept: 'text/vnd.mermaid' } });
  assert.match(res.body, /^flowchart LR/);
  res = await t.app.inject({ url, headers: { accept: 'application/json;q=0.5, image/svg+xml' } });
  assert.equal(res.headers['content-type'], 'image/svg+xml; charset=utf-8');
  assert.match(res.body, /^<svg /);
  assert.equal(res.headers.vary, 'Accept');
  res = await t.app.inject({ url, headers: { accept: 'text/html, */*;q=0.1' } });
  assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  res = await t.app.inject({ url, headers: { accept: 'application/xml' } });
  assert.equal(res.statusCode, 406);
  assert.equal(res.json().type, 'urn:pathtrace:problem:not-acceptable');
  assert.equal((await t.app.inject(`${url}&format=pdf`)).statusCode, 400);
});
