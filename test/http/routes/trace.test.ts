import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { openTestApp, seedTwoNodes, type TestApp } from '../../helpers/app.js';
import { example } from '../../helpers/examples.js';
import { narrow } from '../../helpers/fabrics.js';

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

test('an unknown name is answered with the names a typo away, and the same pod in another namespace', async () => {
  const candidates = async (query: string) => {
    const res = await trace(query);
    assert.equal(res.statusCode, 404);
    return res.json().candidates;
  };
  // l for 1 (as far from pod-a2), a swapped pair, a letter missing: one edit from a name, which no substring finds.
  assert.deepEqual(await candidates('from=pod-al&to=pod-b1'), ['default/pod-a1', 'default/pod-a2']);
  // Nearest first: a swap away, then a swap and a letter.
  assert.deepEqual(await candidates('from=pod-a1&to=dfeault/pod-b1'), ['default/pod-b1', 'default/pod-a1', 'default/pod-a2']);
  assert.deepEqual(await candidates('from=node-&to=pod-b1'), ['node-a', 'node-b']);
  assert.deepEqual(await candidates('from=nodea&to=pod-b1'), ['node-a']);
  assert.deepEqual(await candidates('from=pod-a1&to=staging/pod-b1'), ['default/pod-b1']);
  assert.deepEqual(await candidates('from=kube-system/pod-a2&to=pod-b1'), ['default/pod-a2']);
  // Far from everything: no guess.
  const res = await trace('from=zzz-zzz&to=pod-b1');
  assert.equal(res.statusCode, 404);
  assert.equal(res.json().candidates, undefined);
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

// ---- family, ports and size ----

/** The seed's cluster in dual stack: every node and pod has an IPv4 and an IPv6 address, but for one IPv4-only pod. */
const dualStack = {
  name: 'dual-stack',
  cluster: {
    nodes: [
      { name: 'node-a', addresses: [{ type: 'InternalIP', address: '192.168.0.11' }, { type: 'InternalIP', address: 'fd00::11' }], podCIDRs: ['10.1.1.0/24', 'fd10:1::/64'] },
      { name: 'node-b', addresses: [{ type: 'InternalIP', address: '192.168.0.12' }, { type: 'InternalIP', address: 'fd00::12' }], podCIDRs: ['10.1.2.0/24', 'fd10:2::/64'] },
    ],
    pods: [
      { namespace: 'default', name: 'pod-a1', nodeName: 'node-a', podIPs: [{ ip: '10.1.1.2' }, { ip: 'fd10:1::2' }] },
      { namespace: 'default', name: 'pod-b1', nodeName: 'node-b', podIPs: [{ ip: '10.1.2.2' }, { ip: 'fd10:2::2' }] },
      { namespace: 'default', name: 'legacy', nodeName: 'node-b', podIPs: [{ ip: '10.1.2.3' }] },
    ],
    cni: { plugin: 'bridge', routes: 'host-gw' },
  },
};

const routesOf = (body: { hops: { netns: string; steps: { type: string; route?: { dst: string; gateway?: string } }[] }[] }) =>
  body.hops.flatMap((h) => h.steps.filter((s) => s.type === 'ROUTE').map((s) => `${h.netns}: ${s.route!.dst}${s.route!.gateway ? ` via ${s.route!.gateway}` : ''}`));

test('layout=list gives the markdown hops as a numbered list, for Slack; a layout that is neither is 400', async () => {
  const list = await trace('from=pod-a1&to=pod-b1&format=markdown&layout=list');
  assert.equal(list.statusCode, 200);
  assert.match(list.headers['content-type'] as string, /^text\/markdown/);
  assert.match(list.body, /^✅ \*\*DELIVERED\*\* — .*\n\n1\. `default\/pod-a1` \(– → eth0\) ROUTE: .*\n2\. `node-a` .*\n3\. `node-b` .*\n4\. `default\/pod-b1` \(eth0 → –\) DELIVER: .*\n$/);
  const table = await trace('from=pod-a1&to=pod-b1&format=markdown&layout=table');
  assert.equal(table.body, (await trace('from=pod-a1&to=pod-b1&format=markdown')).body);
  assert.match(table.body, /\n\| # \| netns \| in → out \| decision \|\n/);
  assert.equal((await trace('from=pod-a1&to=pod-b1&format=markdown&layout=grid')).statusCode, 400);
});

test('family: a dual-stack cluster is traced in the asked family, each in its own tables; IPv4 first without it', async () => {
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: dualStack })).statusCode, 201);
  const v6 = (await trace('from=pod-a1&to=pod-b1&family=6', 'dual-stack')).json();
  assert.equal(v6.disposition, 'DELIVERED');
  assert.deepEqual([v6.flow.src, v6.flow.dst, v6.source.address, v6.destination.address], ['fd10:1::2', 'fd10:2::2', 'fd10:1::2', 'fd10:2::2']);
  assert.deepEqual(netnsPath(v6), ['default/pod-a1', 'node-a', 'node-b', 'default/pod-b1']);
  assert.deepEqual(routesOf(v6), ['default/pod-a1: default via fd10:1::1', 'node-a: fd10:2::/64 via fd00::12', 'node-b: fd10:2::/64']);
  const v4 = (await trace('from=pod-a1&to=pod-b1&family=4', 'dual-stack')).json();
  assert.deepEqual([v4.flow.src, v4.flow.dst], ['10.1.1.2', '10.1.2.2']);
  assert.deepEqual(routesOf(v4), ['default/pod-a1: default via 10.1.1.1', 'node-a: 10.1.2.0/24 via 192.168.0.12', 'node-b: 10.1.2.0/24']);
  assert.deepEqual((await trace('from=pod-a1&to=pod-b1', 'dual-stack')).json().flow, v4.flow);
  // Nodes are names with both families too.
  assert.equal((await trace('from=node-a&to=node-b&family=6', 'dual-stack')).json().flow.dst, 'fd00::12');
});

test('family: an endpoint without the asked family, or an address of the other one, is a 400 naming family', async () => {
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: dualStack })).statusCode, 201);
  let res = await trace('from=pod-a1&to=legacy&family=6', 'dual-stack');
  assert.equal(res.statusCode, 400);
  assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(res.json().type, 'urn:pathtrace:problem:invalid-request');
  assert.equal(res.json().detail, 'cannot trace in IPv6: default/legacy has no IPv6 address (it has IPv4)');
  assert.deepEqual(res.json().errors, [{ parameter: 'family', detail: res.json().detail }]);
  res = await trace('from=pod-a1&to=10.1.2.2&family=6', 'dual-stack');
  assert.equal(res.statusCode, 400);
  assert.equal(res.json().detail, 'cannot trace in IPv6: 10.1.2.2 is an IPv4 address');
  // The seed's cluster is IPv4 only.
  res = await trace('from=pod-a1&to=pod-b1&family=6');
  assert.equal(res.statusCode, 400);
  assert.match(res.json().detail, /default\/pod-a1 has no IPv6 address \(it has IPv4\); default\/pod-b1 has no IPv6 address/);
  res = await trace('from=pod-a1&to=pod-b1&family=5');
  assert.equal(res.statusCode, 400);
  assert.equal(res.json().errors[0].parameter, 'family');
});

test('ports: srcPort and dstPort are echoed; port is dstPort by another name; ports need tcp or udp', async () => {
  let body = (await trace('from=pod-a1&to=pod-b1&protocol=udp&srcPort=5353&dstPort=53')).json();
  assert.deepEqual(body.flow, { src: '10.1.1.2', dst: '10.1.2.2', protocol: 'udp', srcPort: 5353, dstPort: 53, ttl: 64 });
  body = (await trace('from=pod-a1&to=pod-b1&protocol=tcp&port=80&dstPort=80')).json();
  assert.deepEqual([body.flow.dstPort, body.flow.port], [80, 80]);
  // port stands for dstPort wherever the port matters: the way back of a batch flow leaves from it.
  const batch = await t.app.inject({
    method: 'POST',
    url: '/v1/topologies/two-nodes/traces',
    payload: { bidirectional: true, flows: [{ from: 'pod-a1', to: 'pod-b1', protocol: 'tcp', srcPort: 40000, port: 80 }] },
  });
  assert.deepEqual(batch.json().traces[0].return.flow, { src: '10.1.2.2', dst: '10.1.1.2', protocol: 'tcp', srcPort: 80, dstPort: 40000, ttl: 64 });
  let res = await trace('from=pod-a1&to=pod-b1&protocol=tcp&port=80&dstPort=8080');
  assert.equal(res.statusCode, 400);
  assert.deepEqual(res.json().errors, [{ parameter: 'port', detail: 'differs from dstPort (8080)' }]);
  res = await trace('from=pod-a1&to=pod-b1&srcPort=1234&dstPort=80');
  assert.equal(res.statusCode, 400);
  assert.equal(res.json().detail, 'srcPort and dstPort go with protocol=tcp, udp or sctp');
  assert.equal((await trace('from=pod-a1&to=pod-b1&protocol=tcp&srcPort=0')).statusCode, 400);
  assert.equal((await trace('from=pod-a1&to=pod-b1&protocol=tcp&dstPort=65536')).statusCode, 400);
});

test('size: 1500 bytes fit the seed cluster, 1501 do not, and the text and markdown forms say so in one line', async () => {
  const fits = (await trace('from=pod-a1&to=pod-b1&size=1500')).json();
  assert.equal(fits.disposition, 'DELIVERED');
  assert.equal(fits.flow.size, 1500);
  assert.deepEqual(
    { ...fits.mtu, explanation: undefined },
    { smallest: 1500, netns: 'default/pod-a1', link: 'eth0', size: 1500, fits: true, explanation: undefined },
  );
  const big = (await trace('from=pod-a1&to=pod-b1&size=1501')).json();
  assert.equal(big.disposition, 'DELIVERED');
  assert.equal(big.mtu.fits, false);
  assert.match(big.mtu.explanation, /^a 1501-byte packet does not fit through eth0 of default\/pod-a1 \(MTU 1500\)/);
  const text = (await trace('from=pod-a1&to=pod-b1&size=1501&format=text')).body.trimEnd().split('\n');
  assert.deepEqual(text.filter((l) => l.startsWith('MTU: ')), [`MTU: ${big.mtu.explanation}`]);
  assert.equal((await trace('from=pod-a1&to=pod-b1&size=1500&format=text')).body.includes('MTU'), false);
  const md = (await trace('from=pod-a1&to=pod-b1&size=1501&format=markdown')).body;
  assert.match(md, /^> ⚠️ MTU: a 1501-byte packet does not fit through eth0 of default\/pod-a1 \(MTU 1500\)/m);
  // Without size the MTU is still reported.
  assert.deepEqual((await trace('from=pod-a1&to=pod-b1')).json().mtu, { smallest: 1500, netns: 'default/pod-a1', link: 'eth0' });
  assert.equal((await trace('from=pod-a1&to=pod-b1&size=67')).statusCode, 400);
});

test('size: a link of MTU 1400 on the way is where the packet does not fit, and the batch says so per flow', async () => {
  const doc = { name: 'narrow', fabric: narrow };
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: doc })).statusCode, 201);
  const body = (await trace('from=pod-a&to=node-b&protocol=tcp&dstPort=443&size=1500', 'narrow')).json();
  assert.equal(body.disposition, 'DELIVERED');
  assert.equal(
    body.mtu.explanation,
    'a 1500-byte packet does not fit through eth0 of node-a (MTU 1400): with DF set (TCP, ping -M do) the kernel drops it and ' +
      'answers ICMP fragmentation needed; without DF it is fragmented',
  );
  assert.deepEqual([body.mtu.smallest, body.mtu.netns, body.mtu.link, body.mtu.fits], [1400, 'node-a', 'eth0', false]);

  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/topologies/narrow/traces',
    payload: {
      bidirectional: true,
      flows: [
        { from: 'pod-a', to: 'node-b', protocol: 'tcp', srcPort: 40000, dstPort: 443, size: 1400 },
        { from: 'pod-a', to: 'node-b', family: 6 },
      ],
    },
  });
  assert.equal(res.statusCode, 200, res.body);
  const [ok, v6] = res.json().traces;
  assert.deepEqual([ok.trace.mtu.smallest, ok.trace.mtu.fits], [1400, true]);
  // The way back swaps the ports.
  assert.deepEqual([ok.return.flow.srcPort, ok.return.flow.dstPort], [443, 40000]);
  assert.equal(v6.error.status, 400);
  assert.deepEqual(v6.error.errors.map((e: { parameter: string }) => e.parameter), ['family']);
});
