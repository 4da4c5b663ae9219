import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, seedTwoNodes, type TestApp } from '../../helpers/app.js';

let t: TestApp;
before(async () => {
  t = await openTestApp();
});
after(() => t.close());
beforeEach(() => seedTwoNodes(t));

const batch = (payload: object, query = '') =>
  t.app.inject({ method: 'POST', url: `/v1/topologies/two-nodes/traces${query}`, payload });

test('a batch answers every flow, counts dispositions, and reports a flow it cannot trace without failing the rest', async () => {
  const res = await batch({
    flows: [
      { from: 'pod-a1', to: 'pod-b1' },
      { from: 'pod-a1', to: '10.1.2.99' },
      { from: 'pod-zz', to: 'pod-b1' },
      { from: 'node-a', to: 'pod-a2', protocol: 'tcp', port: 443 },
    ],
  });
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.deepEqual(body.topology, { name: 'two-nodes', revision: 1 });
  assert.deepEqual(body.count, { flows: 4, errors: 1, byDisposition: { DELIVERED: 2, NEIGHBOR_UNREACHABLE: 1 } });
  assert.deepEqual(body.traces.map((x: { trace?: { disposition: string } }) => x.trace?.disposition ?? null), ['DELIVERED', 'NEIGHBOR_UNREACHABLE', null, 'DELIVERED']);
  assert.deepEqual(body.traces[0].trace.hops.map((h: { netns: string }) => h.netns), ['default/pod-a1', 'node-a', 'node-b', 'default/pod-b1']);
  assert.equal(body.traces[2].error.type, 'urn:pathtrace:problem:unknown-endpoint');
  assert.equal(body.traces[2].error.status, 404);
  // A node speaks to its own pods from its bridge's address, as `ip route get` picks it (src of the connected route).
  assert.deepEqual(body.traces[3].trace.flow, { src: '10.1.1.1', dst: '10.1.1.3', protocol: 'tcp', port: 443, ttl: 64 });
});

test('bidirectional: the way back is traced, and an asymmetric or failing return is flagged', async () => {
  let body = (await batch({ flows: [{ from: 'pod-a1', to: 'pod-b1' }, { from: 'pod-a1', to: '8.8.8.8' }], bidirectional: true })).json();
  assert.equal(body.traces[0].return.disposition, 'DELIVERED');
  assert.deepEqual(body.traces[0].return.hops.map((h: { netns: string }) => h.netns), ['default/pod-b1', 'node-b', 'node-a', 'default/pod-a1']);
  assert.equal(body.traces[0].asymmetric, false);
  assert.equal(body.traces[0].returnFails, false);
  assert.equal(body.traces[1].return, null, 'no way back from an address outside the topology');

  // b blackholes a's address: the way there works, the way back does not.
  const fabric = {
    netns: [
      { name: 'a', kind: 'node', links: [{ name: 'eth0', kind: 'physical', addresses: ['192.168.0.1/24'], segment: 'lan' }] },
      {
        name: 'b',
        kind: 'node',
        links: [{ name: 'eth0', kind: 'physical', addresses: ['192.168.0.2/24'], segment: 'lan' }],
        routes: [{ dst: '192.168.0.1', type: 'blackhole' }],
      },
    ],
  };
  await t.app.inject({ method: 'PUT', url: '/v1/topologies/two-nodes', payload: { fabric } });
  body = (await batch({ flows: [{ from: 'a', to: 'b' }], bidirectional: true })).json();
  assert.equal(body.traces[0].trace.disposition, 'DELIVERED');
  assert.equal(body.traces[0].return.disposition, 'BLACKHOLED');
  assert.equal(body.traces[0].returnFails, true);
  assert.equal(body.traces[0].asymmetric, true);
});

test('text: one summary line per flow; more than 10,000 flows is a 413', async () => {
  const res = await batch({ flows: [{ from: 'pod-a1', to: 'pod-b1' }, { from: 'pod-a1', to: 'nope' }] }, '?format=text');
  assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
  const lines = res.body.trimEnd().split('\n');
  assert.match(lines[0]!, /^1\. DELIVERED: default\/pod-a1/);
  assert.match(lines[1]!, /^2\. ERROR pod-a1 → nope: there is no pod, node or netns named nope/);
  const many = Array.from({ length: 10_001 }, () => ({ from: 'pod-a1', to: 'pod-b1' }));
  const big = await batch({ flows: many });
  assert.equal(big.statusCode, 413);
  assert.match(big.json().detail, /10001 flows in one request; the limit is 10000/);
  assert.equal((await batch({ flows: [] })).statusCode, 400);
});

test('a batch body past 4 MB is refused before it is parsed, naming the limit; 10,000 flows of long names fit', async () => {
  const long = 'x'.repeat(200);
  const fits = Array.from({ length: 10_000 }, () => ({ from: 'pod-a1', to: `pod-${long}` }));
  assert.ok(JSON.stringify({ flows: fits }).length < 4 * 2 ** 20);
  const ok = await batch({ flows: fits }, '?format=text');
  assert.equal(ok.statusCode, 200);
  const huge = await t.app.inject({
    method: 'POST',
    url: '/v1/topologies/two-nodes/traces',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ flows: [{ from: 'pod-a1', to: 'pod-b1' }], padding: ' '.repeat(4 * 2 ** 20) }),
  });
  assert.equal(huge.statusCode, 413);
  assert.equal(huge.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.match(huge.json().detail, /^the request body is larger than the limit of 4194304 bytes: send a smaller body \(a batch: fewer flows per request/);
});

test('a large batch (read by a worker) answers as a small one: the same traces, revision, 400 pointers and 413', async () => {
  const pad = (doc: object) => `${JSON.stringify(doc)}${' '.repeat(200_000)}`;
  const send = (text: string) => t.app.inject({ method: 'POST', url: '/v1/topologies/two-nodes/traces', headers: { 'content-type': 'application/json' }, payload: text });
  const flows = [{ from: 'pod-a1', to: 'pod-b1' }, { from: 'pod-a1', to: 'nope' }];
  const [small, large] = [await batch({ flows }), await send(pad({ flows }))];
  assert.equal(large.statusCode, 200, large.body);
  assert.deepEqual(large.json(), small.json());
  // A second revision without pod-b1: the body's revision 1 still has it.
  const doc = (await t.app.inject('/v1/topologies/two-nodes')).json();
  doc.cluster.pods = doc.cluster.pods.filter((p: { name: string }) => p.name !== 'pod-b1');
  assert.equal((await t.app.inject({ method: 'PUT', url: '/v1/topologies/two-nodes', payload: { cluster: doc.cluster } })).statusCode, 200);
  const [newest, first] = [(await send(pad({ flows }))).json(), (await send(pad({ flows, revision: 1 }))).json()];
  assert.deepEqual([newest.topology.revision, first.topology.revision], [2, 1]);
  assert.equal(newest.traces[0].error.status, 404);
  assert.equal(first.traces[0].trace.disposition, 'DELIVERED');
  const bad = { flows: [{ from: 'pod-a1', to: 'pod-b1', ttl: 0 }] };
  const [badSmall, badLarge] = [await batch(bad), await send(pad(bad))];
  assert.equal(badLarge.statusCode, 400);
  assert.deepEqual(badLarge.json().errors, badSmall.json().errors);
  const many = await send(JSON.stringify({ flows: Array.from({ length: 10_001 }, () => ({ from: 'pod-a1', to: 'pod-b1' })) }));
  assert.equal(many.statusCode, 413);
  assert.match(many.json().detail, /10001 flows in one request; the limit is 10000/);
  assert.equal((await send(pad({ flows: [] }))).statusCode, 400);
  // Refused as a small body is: a revision that does not exist, a topology that does not exist, and a bad body first.
  const to = (name: string, text: string) => t.app.inject({ method: 'POST', url: `/v1/topologies/${name}/traces`, headers: { 'content-type': 'application/json' }, payload: text });
  for (const [name, doc, status] of [['two-nodes', { flows, revision: 9 }, 404], ['nope', { flows }, 404], ['nope', { flows: [] }, 400]] as const) {
    const [s, l] = [await to(name, JSON.stringify(doc)), await to(name, pad(doc))];
    assert.deepEqual([s.statusCode, l.statusCode], [status, status], `${name} ${JSON.stringify(doc)}`);
    assert.deepEqual(l.json(), s.json());
  }
});

test('a batch answer of several megabytes comes over a socket whole, in the chunks it was written in, its length said up front', async () => {
  const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
  const flows = Array.from({ length: 3000 }, (_, i) => (i % 2 === 0 ? { from: 'pod-a1', to: 'pod-b1' } : { from: 'pod-b1', to: 'pod-a2', protocol: 'tcp' as const, dstPort: 443 }));
  const res = await fetch(`${address}/v1/topologies/two-nodes/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ flows }) });
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.equal(res.status, 200);
  // Past Utf8Chunks' megabyte: more than one chunk went out, with the length of them all and no chunked encoding.
  assert.ok(bytes.length > 3 * 2 ** 20, `${bytes.length} bytes`);
  assert.equal(Number(res.headers.get('content-length')), bytes.length);
  assert.equal(res.headers.get('transfer-encoding'), null);
  const body = JSON.parse(bytes.toString('utf8'));
  assert.deepEqual(body.count, { flows: 3000, errors: 0, byDisposition: { DELIVERED: 3000 } });
  const [one, two] = (await batch({ flows: flows.slice(0, 2) })).json().traces;
  assert.ok(body.traces.every((x: object, i: number) => assert.deepEqual(x, i % 2 === 0 ? one : two) === undefined));
});
