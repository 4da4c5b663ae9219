// What a user sees when a request is wrong: a problem document that says where and what, never a 500, and nothing stored.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { openTestApp, type TestApp } from '../helpers/app.js';
import { resetDb } from '../helpers/db.js';
import { example } from '../helpers/examples.js';

let t: TestApp;
before(async () => {
  t = await openTestApp({ bodyLimit: 64 * 1024 });
});
after(() => t.close());
beforeEach(() => resetDb(t.db));

const post = (payload: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  t.app.inject({
    method: 'POST',
    url: '/v1/topologies',
    payload: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
    headers,
  });

async function nothingStored() {
  const list = (await t.app.inject({ method: 'GET', url: '/v1/topologies' })).json();
  assert.deepEqual(list.items, []);
}

function assertProblem(res: { statusCode: number; headers: Record<string, unknown>; json(): any }, status: number, slug: string) {
  assert.equal(res.statusCode, status);
  assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  const body = res.json();
  assert.equal(body.type, `urn:pathtrace:problem:${slug}`);
  assert.equal(body.status, status);
  assert.equal(typeof body.title, 'string');
  assert.equal(typeof body.detail, 'string');
  assert.equal(body.stack, undefined);
  return body;
}

describe('schema errors: 400 with JSON pointers', () => {
  test('unknown properties are rejected, not stripped, at every depth', async () => {
    const doc = example('two-nodes');
    (doc as any).color = 'blue';
    (doc.cluster!.nodes[1] as any).zone = 'eu-1';
    const body = assertProblem(await post(doc), 400, 'invalid-request');
    assert.deepEqual(body.errors, [
      { pointer: '/color', detail: 'is not a known property' },
      { pointer: '/cluster/nodes/1/zone', detail: 'is not a known property' },
    ]);
    await nothingStored();
  });

  test('no type coercion: a string is not a boolean and a number is not a string', async () => {
    const doc = example('two-nodes');
    (doc.cluster!.pods![3] as any).hostNetwork = 'true';
    (doc.cluster!.nodes[0] as any).podCIDRs = '10.1.1.0/24';
    const body = assertProblem(await post(doc), 400, 'invalid-request');
    assert.deepEqual(body.errors, [
      { pointer: '/cluster/nodes/0/podCIDRs', detail: 'must be array' },
      { pointer: '/cluster/pods/3/hostNetwork', detail: 'must be boolean' },
    ]);
  });

  test('missing required fields and a bad name', async () => {
    const body = assertProblem(await post({ name: 'Prod_1', cluster: { nodes: [{ name: 'a', podCIDRs: [] }] } }), 400, 'invalid-request');
    assert.deepEqual(body.errors, [
      { pointer: '/name', detail: 'must match pattern "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"' },
      { pointer: '/cluster/nodes/0/addresses', detail: 'is required' },
    ]);
  });

  test('a union reports the branch the user meant: a wrong option of the chosen CNI, or the list of plugins', async () => {
    const doc = example('two-nodes');
    doc.cluster!.cni = { plugin: 'calico', mode: 'bgp', blockSize: 8 } as any;
    let body = assertProblem(await post(doc), 400, 'invalid-request');
    assert.deepEqual(body.errors, [{ pointer: '/cluster/cni/blockSize', detail: 'must be >= 16' }]);
    doc.cluster!.cni = { plugin: 'kubenet' } as any;
    body = assertProblem(await post(doc), 400, 'invalid-request');
    assert.deepEqual(body.errors, [
      {
        pointer: '/cluster/cni/plugin',
        detail: 'must be one of "bridge", "flannel", "calico", "cilium", "weave", "kindnet", "gke", "aws-vpc-cni", "azure-cni"',
      },
    ]);
  });

  test('exactly one of cluster or fabric', async () => {
    const doc = example('two-nodes');
    let body = assertProblem(await post({ name: 'x' }), 400, 'invalid-request');
    assert.equal(body.errors[0].pointer, '');
    body = assertProblem(await post({ ...doc, fabric: { netns: [{ name: 'n', kind: 'node', links: [] }] } }), 400, 'invalid-request');
    assert.deepEqual(body.errors, [{ pointer: '/fabric', detail: 'give exactly one of cluster or fabric' }]);
    await nothingStored();
  });
});

describe('semantic errors: 422, every problem at once', () => {
  test('cluster: overlapping CIDRs, pod outside its CIDR, duplicate IPs and names, unknown node, host bits', async () => {
    const doc = example('two-nodes');
    const c = doc.cluster!;
    c.nodes.push({ name: 'node-c', addresses: [{ type: 'InternalIP', address: '192.168.0.12' }], podCIDRs: ['10.1.0.0/16'] });
    c.nodes.push({ name: 'node-a', addresses: [{ type: 'InternalIP', address: '192.168.0.14' }], podCIDRs: ['10.9.0.5/24'] });
    c.pods!.push({ namespace: 'default', name: 'pod-a1', nodeName: 'node-a', podIPs: [{ ip: '10.1.1.9' }] });
    c.pods!.push({ namespace: 'default', name: 'stray', nodeName: 'node-a', podIPs: ['10.1.2.7'] });
    c.pods!.push({ namespace: 'default', name: 'twin', nodeName: 'node-b', podIPs: ['10.1.2.2'] });
    c.pods!.push({ namespace: 'default', name: 'ghost', nodeName: 'node-z', podIPs: ['10.1.1.50'] });
    c.pods!.push({ namespace: 'default', name: 'v6', nodeName: 'node-b', podIPs: ['10.1.2.9', 'fd00::9'] });
    const body = assertProblem(await post(doc), 422, 'invalid-topology');
    assert.deepEqual(body.errors, [
      { pointer: '/cluster/nodes/2/addresses/0/address', detail: '192.168.0.12 is also an address of node node-b' },
      {
        pointer: '/cluster/nodes/2/podCIDRs/0',
        detail: '10.1.0.0/16 overlaps 10.1.1.0/24, the pod CIDR of node node-a (/cluster/nodes/0/podCIDRs/0)',
      },
      {
        pointer: '/cluster/nodes/2/podCIDRs/0',
        detail: '10.1.0.0/16 overlaps 10.1.2.0/24, the pod CIDR of node node-b (/cluster/nodes/1/podCIDRs/0)',
      },
      { pointer: '/cluster/nodes/3/name', detail: 'another node is also named node-a' },
      {
        pointer: '/cluster/nodes/3/podCIDRs/0',
        detail: '10.9.0.5/24 has host bits set (the prefix is 10.9.0.0/24; 10.9.0.5/24 is an interface address)',
      },
      { pointer: '/cluster/pods/4/name', detail: 'another pod is also named default/pod-a1' },
      { pointer: '/cluster/pods/5/podIPs/0', detail: '10.1.2.7 is outside 10.1.1.0/24, the pod CIDR of node node-a' },
      { pointer: '/cluster/pods/6/podIPs/0', detail: '10.1.2.2 is also the address of pod default/pod-b1' },
      { pointer: '/cluster/pods/7/nodeName', detail: 'there is no node named node-z' },
      { pointer: '/cluster/pods/8/podIPs/1', detail: 'node node-b has no IPv6 pod CIDR for fd00::9' },
    ]);
    await nothingStored();
  });

  test('fabric: veth peers that do not exist or do not point back, unknown devs, mixed families, bad masters', async () => {
    const fabric = {
      netns: [
        {
          name: 'pod-1',
          kind: 'pod',
          links: [
            { name: 'eth0', kind: 'veth', addresses: ['10.0.0.2/24'], peer: { netns: 'node', link: 'veth1' } },
            { name: 'eth1', kind: 'veth', peer: { netns: 'nowhere', link: 'x' } },
            { name: 'eth2', kind: 'veth' },
          ],
          routes: [
            { dst: 'default', gateway: '10.0.0.1', dev: 'eth9' },
            { dst: '10.2.0.0/16', gateway: 'fd00::1', dev: 'eth0' },
            { dst: '10.3.0.1/16', dev: 'eth0' },
            { dst: '10.4.0.0/16', type: 'blackhole', gateway: '10.0.0.1' },
          ],
        },
        {
          name: 'node',
          kind: 'node',
          links: [
            { name: 'veth1', kind: 'veth', peer: { netns: 'pod-1', link: 'eth1' }, master: 'eth0' },
            { name: 'eth0', kind: 'physical', addresses: ['192.168.0.1/33'], segment: 'lan' },
            { name: 'br0', kind: 'bridge', segment: 'lan' },
          ],
        },
      ],
    };
    const body = assertProblem(await post({ name: 'broken', fabric }), 422, 'invalid-topology');
    assert.deepEqual(body.errors, [
      { pointer: '/fabric/netns/0/links/0/peer', detail: 'its peer node veth1 does not point back at pod-1 eth0' },
      { pointer: '/fabric/netns/0/links/1/peer/netns', detail: 'there is no netns named nowhere' },
      { pointer: '/fabric/netns/0/links/2/peer', detail: 'a veth has a peer: {netns, link} of its other end' },
      { pointer: '/fabric/netns/0/routes/0/dev', detail: 'netns pod-1 has no link named eth9' },
      { pointer: '/fabric/netns/0/routes/1/gateway', detail: 'fd00::1 is IPv6 but the route is for IPv4 10.2.0.0/16' },
      {
        pointer: '/fabric/netns/0/routes/2/dst',
        detail: '10.3.0.1/16 has host bits set (the prefix is 10.3.0.0/16; 10.3.0.1/16 is an interface address)',
      },
      { pointer: '/fabric/netns/0/routes/3/type', detail: 'a blackhole route has no gateway or next hops' },
      { pointer: '/fabric/netns/1/links/0/peer', detail: 'its peer pod-1 eth1 does not point back at node veth1' },
      { pointer: '/fabric/netns/1/links/0/master', detail: 'eth0 is a physical; a master is a bridge' },
      {
        pointer: '/fabric/netns/1/links/1/addresses/0',
        detail: 'invalid interface address "192.168.0.1/33": the length of an IPv4 prefix is 0..32',
      },
      { pointer: '/fabric/netns/1/links/2/segment', detail: 'only a physical link is plugged into a segment; br0 is a bridge' },
    ]);
  });

  test('fabric: "default" that nothing places in a family asks for family; an address can say noprefixroute', async () => {
    const host = (addresses: unknown[], routes: unknown[]) => ({
      netns: [{ name: 'h', kind: 'host', links: [{ name: 'eth0', kind: 'physical', addresses, segment: 'lan' }], routes }],
    });
    const dual = ['192.168.0.5/24', { address: 'fd00::5/64', noprefixroute: true }];
    const body = assertProblem(
      await post({ name: 'ambiguous', fabric: host(dual, [{ dst: 'default', type: 'unreachable' }, { dst: 'fd09::/64', family: 4, dev: 'eth0' }]) }),
      422,
      'invalid-topology',
    );
    assert.deepEqual(body.errors, [
      {
        pointer: '/fabric/netns/0/routes/0/family',
        detail: '"default" does not say its family, no gateway tells it, and netns h has addresses of both families: give family 4 or 6',
      },
      { pointer: '/fabric/netns/0/routes/1/dst', detail: 'route destination "fd09::/64" is not an IPv4 prefix' },
    ]);
    assertProblem(await post({ name: 'bare', fabric: host([], [{ dst: 'default', type: 'blackhole' }]) }), 422, 'invalid-topology');
    const bad = assertProblem(await post({ name: 'bad', fabric: host([{ address: 'fd00::5/129' }], []) }), 422, 'invalid-topology');
    assert.equal(bad.errors[0].pointer, '/fabric/netns/0/links/0/addresses/0/address');
    await nothingStored();
    // What places it: the family field, a gateway, or addresses of one family.
    for (const [addresses, route] of [
      [dual, { dst: 'default', type: 'unreachable', family: 6 }],
      [dual, { dst: 'default', gateway: 'fd00::1', dev: 'eth0' }],
      [['fd00::5/64'], { dst: 'default', dev: 'eth0' }],
    ] as const) {
      assert.equal((await post({ name: `ok-${route.dst}`, fabric: host([...addresses], [route]) })).statusCode, 201);
      await resetDb(t.db);
    }
  });
});

describe('transport errors', () => {
  test('a body over the limit is 413 and nothing is stored', async () => {
    const doc = example('two-nodes');
    doc.description = 'x'.repeat(1000);
    const pods = Array.from({ length: 2000 }, (_, i) => ({
      namespace: 'default',
      name: `p${i}`,
      nodeName: 'node-a',
      podIPs: [`10.1.1.${(i % 250) + 2}`],
    }));
    doc.cluster!.pods = pods;
    const body = assertProblem(await post(doc), 413, 'payload-too-large');
    assert.match(body.detail, /65536 bytes/);
    await nothingStored();
  });

  test('a body that is not JSON is 415; broken JSON and an empty body are 400', async () => {
    assertProblem(await post('name=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported-media-type');
    const broken = assertProblem(await post('{"name": "x", "cluster": {'), 400, 'invalid-request');
    assert.match(broken.detail, /not valid JSON/);
    assertProblem(await post(''), 400, 'invalid-request');
    await nothingStored();
  });

  test('an unknown route is a 404 problem that says where the routes are listed, and that list is there', async () => {
    const problem = assertProblem(await t.app.inject({ method: 'GET', url: '/v2/topologies?x=1' }), 404, 'not-found');
    assert.equal(problem.detail, 'there is no route GET /v2/topologies; GET /openapi.yaml lists them');
    assert.equal((await t.app.inject({ method: 'GET', url: '/openapi.yaml' })).statusCode, 200);
  });

  test('arbitrary JSON never produces a 500', async () => {
    const doc = example('two-nodes');
    const mutate = fc.record({
      path: fc.constantFrom('', '/cluster', '/cluster/nodes/0', '/cluster/pods/1', '/cluster/cni', '/cluster/nodes/1/podCIDRs'),
      key: fc.constantFrom('name', 'podCIDRs', 'addresses', 'podIPs', 'nodeName', 'cni', 'plugin', 'hostNetwork', '0', 'x'),
      value: fc.jsonValue({ maxDepth: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(mutate, { minLength: 1, maxLength: 4 }), async (mutations) => {
        const copy = structuredClone(doc) as any;
        copy.name = 'fuzz';
        for (const m of mutations) {
          let target = copy;
          for (const part of m.path.split('/').filter(Boolean)) target = target?.[part];
          if (target && typeof target === 'object') target[m.key] = m.value;
        }
        const res = await post(copy);
        assert.ok(res.statusCode < 500, `${res.statusCode} for ${JSON.stringify(mutations)}: ${res.body}`);
        if (res.statusCode === 201) {
          await t.app.inject({ method: 'DELETE', url: '/v1/topologies/fuzz' });
        } else {
          assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
        }
      }),
      { numRuns: 150 },
    );
  });
});
