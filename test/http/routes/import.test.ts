// @serial: a 500-node import is judged by how long it took (test/run.sh runs this file alone).
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import fc from 'fast-check';
import { openTestApp, type TestApp } from '../../helpers/app.js';
import { resetDb } from '../../helpers/db.js';
import { generateLargeList, largeNodeName, largePodIp } from '../../fixtures/kubernetes/generate.js';

type Obj = Record<string, any>;

let t: TestApp;
before(async () => {
  t = await openTestApp();
});
after(() => t.close());
beforeEach(() => resetDb(t.db));

const fixtureText = (name: string) => readFileSync(new URL(`../../fixtures/kubernetes/${name}.json`, import.meta.url), 'utf8');
const fixture = (name: string): Obj => JSON.parse(fixtureText(name));
const url = (name: string, query = '') => `/v1/topologies/${name}/import/kubernetes${query ? `?${query}` : ''}`;
const post = (name: string, body: unknown, query = '') =>
  t.app.inject({ method: 'POST', url: url(name, query), payload: typeof body === 'string' ? body : (body as object), headers: { 'content-type': 'application/json' } });
const put = (name: string, body: unknown, query = '', headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'PUT', url: url(name, query), payload: body as object, headers });
const get = (path: string) => t.app.inject({ method: 'GET', url: path });
const stored = async (name: string) => (await get(`/v1/topologies/${name}`)).json();
const trace = (name: string, from: string, to: string) =>
  get(`/v1/topologies/${name}/trace?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
const netnsPath = (body: { hops: { netns: string }[] }) => body.hops.map((h) => h.netns);
const noneSkipped = { noNode: 0, pending: 0, terminated: 0, unknownNode: 0, duplicateName: 0, duplicateIP: 0, outsidePodCIDR: 0 };

describe('flannel host-gw, imported as kubectl printed it', () => {
  test('POST detects flannel host-gw from the node annotations and stores the cluster', async () => {
    // Over real HTTP, with the file's bytes as kubectl wrote them.
    const res = await request(t.app.server)
      .post(url('prod'))
      .set('content-type', 'application/json')
      .send(fixtureText('flannel-host-gw'))
      .expect(201);
    assert.equal(res.headers.location, '/v1/topologies/prod');
    assert.equal(res.headers.etag, '"1"');
    const body = res.body;
    assert.equal(body.name, 'prod');
    assert.equal(body.revision, 1);
    assert.equal(body.form, 'cluster');
    assert.deepEqual(body.summary, { nodes: 3, pods: 17, netns: 10 });
    assert.deepEqual(body.counts, {
      nodes: 3,
      pods: 17,
      skipped: { ...noneSkipped, noNode: 1, pending: 1, terminated: 1 },
      skippedNodes: { noAddress: 0, duplicateName: 0 },
      ignored: {},
    });
    assert.equal(body.cni.plugin, 'flannel');
    assert.equal(body.cni.backend, 'host-gw');
    assert.equal(body.cni.detectedFrom, 'metadata.annotations["flannel.alpha.coreos.com/backend-type"] of node cp-1');
    assert.match(body.cni.note, /host-gw backend is traced as it programs the nodes/);
    // Every pod left out is explained; the nodes' gateway, which no object names, is assumed and said so.
    assert.deepEqual(body.warnings.map((w: Obj) => w.code), ['pod-terminated', 'pod-without-ip', 'pod-unscheduled', 'network-gateway-assumed']);

    const doc = await stored('prod');
    assert.equal(doc.description, 'Imported from Kubernetes objects: 3 nodes, 17 pods (3 left out), flannel (backend host-gw).');
    assert.deepEqual(doc.cluster.cni, { plugin: 'flannel', backend: 'host-gw' });
    assert.deepEqual(doc.cluster.nodes.map((n: Obj) => [n.name, n.addresses[0], n.podCIDRs]), [
      ['cp-1', { type: 'InternalIP', address: '192.168.56.10' }, ['10.244.0.0/24']],
      ['worker-1', { type: 'InternalIP', address: '192.168.56.11' }, ['10.244.1.0/24']],
      ['worker-2', { type: 'InternalIP', address: '192.168.56.12' }, ['10.244.2.0/24']],
    ]);
    const pods = doc.cluster.pods.map((p: Obj) => `${p.namespace}/${p.name}`);
    assert.equal(pods.length, 17);
    assert.ok(pods.includes('default/web-7d4b9c8f5-2xk8p'));
    for (const gone of ['batch/nightly-report-28590240-x7kq2', 'default/orders-api-5c9d8f7b6-c2n7m', 'default/web-7d4b9c8f5-zz6fd']) {
      assert.ok(!pods.includes(gone), gone);
    }
    assert.equal(doc.cluster.pods.filter((p: Obj) => p.hostNetwork).length, 10);
  });

  test('cni=canal&mode=vxlan: stored as flannel with pods: calico, and traced over flannel.1 from a cali veth', async () => {
    const res = await post('canal', fixture('flannel-host-gw'), 'cni=canal&mode=vxlan');
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual(res.json().cni.detectedFrom, 'given');
    assert.deepEqual((await stored('canal')).cluster.cni, { plugin: 'flannel', backend: 'vxlan', pods: 'calico' });
    const tr = (await trace('canal', 'default/web-7d4b9c8f5-2xk8p', 'default/web-7d4b9c8f5-9hm4t')).json();
    assert.equal(tr.disposition, 'DELIVERED', tr.summary);
    assert.deepEqual(netnsPath(tr), ['default/web-7d4b9c8f5-2xk8p', 'worker-1', 'worker-2', 'default/web-7d4b9c8f5-9hm4t']);
    // The pod's gateway is Calico's 169.254.1.1 (the cali veth answers by proxy ARP); worker-1 encapsulates on flannel.1.
    assert.equal(tr.hops[0].steps.find((s: Obj) => s.type === 'TRANSMIT').neighbor, '169.254.1.1');
    assert.deepEqual(tr.hops[1].steps.find((s: Obj) => s.type === 'ROUTE').route, { dst: '10.244.2.0/24', gateway: '10.244.2.0', dev: 'flannel.1', flags: ['onlink'] });
    assert.ok(tr.hops[1].steps.some((s: Obj) => s.type === 'ENCAPSULATE'));
    assert.match(tr.hops[2].steps.find((s: Obj) => s.type === 'ROUTE').route.dev, /^cali[0-9a-f]{11}$/);
  });

  test('PUT with cni=bridge and If-Match replaces it, and the cluster traces across nodes', async () => {
    assert.equal((await post('prod', fixture('flannel-host-gw'))).statusCode, 201);
    const stale = await put('prod', fixture('flannel-host-gw'), 'cni=bridge', { 'if-match': '"7"' });
    assert.equal(stale.statusCode, 412);
    assert.equal(stale.json().currentRevision, 1);

    const res = await put('prod', fixture('flannel-host-gw'), 'cni=bridge&description=lab%20cluster', { 'if-match': '"1"' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers.etag, '"2"');
    assert.equal(res.headers.location, undefined);
    const body = res.json();
    assert.equal(body.revision, 2);
    assert.equal(body.description, 'lab cluster');
    assert.deepEqual({ plugin: body.cni.plugin, routes: body.cni.routes, detectedFrom: body.cni.detectedFrom }, { plugin: 'bridge', routes: 'host-gw', detectedFrom: 'given' });
    assert.deepEqual(body.warnings.map((w: Obj) => w.code), ['cni-differs-from-detected', 'pod-terminated', 'pod-without-ip', 'pod-unscheduled', 'network-gateway-assumed']);
    assert.match(body.warnings[0].detail, /which programs the same routes: stored as given/);
    assert.deepEqual((await stored('prod')).cluster.cni, { plugin: 'bridge', routes: 'host-gw' });

    // web on worker-1 to web on worker-2: the seed's cross-node path.
    let tr = await trace('prod', 'web-7d4b9c8f5-2xk8p', 'default/web-7d4b9c8f5-9hm4t');
    assert.equal(tr.statusCode, 200, tr.body);
    assert.equal(tr.json().disposition, 'DELIVERED');
    assert.deepEqual(tr.json().flow, { src: '10.244.1.5', dst: '10.244.2.7', protocol: 'icmp', ttl: 64 });
    assert.deepEqual(netnsPath(tr.json()), ['default/web-7d4b9c8f5-2xk8p', 'worker-1', 'worker-2', 'default/web-7d4b9c8f5-9hm4t']);
    assert.deepEqual(tr.json().hops[1].steps.find((s: Obj) => s.type === 'ROUTE').route, { dst: '10.244.2.0/24', gateway: '192.168.56.12', dev: 'eth0' });
    // To coredns on the control plane, and to the cache pod that holds the finished Job's old IP.
    tr = await trace('prod', 'default/web-7d4b9c8f5-9hm4t', '10.244.0.2');
    assert.equal(tr.json().disposition, 'DELIVERED');
    assert.deepEqual(netnsPath(tr.json()), ['default/web-7d4b9c8f5-9hm4t', 'worker-2', 'cp-1', 'kube-system/coredns-76f75df574-ktwhp']);
    tr = await trace('prod', 'db-0', '10.244.1.4');
    assert.equal(tr.json().disposition, 'DELIVERED');
    assert.equal(tr.json().destination.netns, 'default/cache-6b8f9d7c4d-c5rnf');
    assert.deepEqual(netnsPath(tr.json()), ['default/db-0', 'worker-1', 'default/cache-6b8f9d7c4d-c5rnf']);
    // A hostNetwork pod lives in its node's namespace.
    tr = await trace('prod', 'kube-system/etcd-cp-1', 'default/db-0');
    assert.equal(tr.json().disposition, 'DELIVERED');
    assert.deepEqual(netnsPath(tr.json()), ['cp-1', 'worker-1', 'default/db-0']);
  });

  test('POST of an existing name is 409; PUT with If-None-Match: * does not replace', async () => {
    assert.equal((await post('prod', fixture('flannel-host-gw'))).statusCode, 201);
    const again = await post('prod', fixture('flannel-host-gw'));
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().type, 'urn:pathtrace:problem:conflict');
    assert.equal((await put('prod', fixture('flannel-host-gw'), '', { 'if-none-match': '*' })).statusCode, 412);
    const created = await put('new', fixture('flannel-host-gw'), '', { 'if-none-match': '*' });
    assert.equal(created.statusCode, 201);
    assert.equal(created.headers.location, '/v1/topologies/new');
    assert.equal(created.headers.etag, '"1"');
    assert.equal((await stored('prod')).revision, 1);
  });

  test('objects of other kinds in the List are counted and ignored (a Service is read); cni and description may ride along in the body', async () => {
    const body = fixture('flannel-host-gw');
    body.items.push(
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubernetes', namespace: 'default' }, spec: { clusterIP: '10.96.0.1', ports: [{ port: 443 }] } },
      { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'kube-proxy', namespace: 'kube-system' }, spec: {}, status: { numberReady: 3 } },
    );
    body.cni = { plugin: 'bridge', routes: 'host-gw' };
    body.description = 'from jq';
    const res = await post('prod', body);
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual(res.json().counts.ignored, { DaemonSet: 1 });
    assert.equal(res.json().description, 'from jq');
    assert.equal(res.json().cni.detectedFrom, 'given');
    assert.equal((await trace('prod', 'db-0', 'orders-api-5c9d8f7b6-q4wzt')).json().disposition, 'DELIVERED');
  });
});

describe('calico ipip', () => {
  test('detected from the IPIP tunnel address; IPAM-block IPs kept and reported; the stale duplicate left out', async () => {
    const res = await post('shop', fixture('calico-ipip'));
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json();
    assert.deepEqual({ plugin: body.cni.plugin, mode: body.cni.mode }, { plugin: 'calico', mode: 'ipip' });
    assert.equal(body.cni.detectedFrom, 'metadata.annotations["projectcalico.org/IPv4IPIPTunnelAddr"] of node k8s-master');
    assert.deepEqual(body.counts.skipped, { ...noneSkipped, pending: 1, duplicateIP: 1 });
    assert.deepEqual(
      body.warnings.map((w: Obj) => [w.code, w.count]),
      [
        ['node-not-ready', 1],
        ['node-without-pod-cidr', 1],
        ['pod-ip-outside-node-cidrs', 7],
        ['pod-ip-in-other-node-cidr', 2],
        ['pod-without-ip', 1],
        ['duplicate-ip', 1],
        ['network-gateway-assumed', 1],
      ],
    );
    const dup = body.warnings.find((w: Obj) => w.code === 'duplicate-ip');
    assert.equal(dup.examples[0].pointer, '/items/21/status/podIPs/0/ip');
    const doc = await stored('shop');
    assert.deepEqual(doc.cluster.cni, { plugin: 'calico', mode: 'ipip' });
    const ips = Object.fromEntries(doc.cluster.pods.map((p: Obj) => [p.name, p.podIPs]));
    assert.deepEqual(ips['payments-84d5b7c6f9-556nk'], ['192.168.169.130']);
    assert.equal(ips['checkout-6c8d7f9b4-45s2p'], undefined);
    assert.deepEqual(ips['frontend-7f6d8c9b5-xv282'], ['192.168.1.193']);
    assert.deepEqual(doc.cluster.nodes.find((n: Obj) => n.name === 'k8s-node-3').podCIDRs, []);
    // The imported cluster traces through Calico's IP-in-IP tunnel between its nodes, from the node's tunnel address.
    let tr = await trace('shop', 'k8s-node-1', 'frontend-7f6d8c9b5-xv282');
    assert.equal(tr.statusCode, 200, tr.body);
    assert.equal(tr.json().disposition, 'DELIVERED', tr.json().summary);
    assert.equal(tr.json().flow.src, '192.168.36.64');
    const encap = tr.json().hops.flatMap((h: Obj) => h.steps).find((s: Obj) => s.type === 'ENCAPSULATE');
    assert.deepEqual([encap.link, encap.outer.protocol], ['tunl0', 'ipip']);
    // Its pods reach each other and, through the assumed gateway, the internet.
    tr = await trace('shop', 'cart-5d7b9c8f6-wwkm4', 'frontend-7f6d8c9b5-xv282');
    assert.equal(tr.json().disposition, 'DELIVERED', tr.json().summary);
    tr = await trace('shop', 'cart-5d7b9c8f6-wwkm4', '8.8.8.8');
    assert.equal(tr.json().disposition, 'EXITS_NETWORK', tr.json().summary);
  });

  test('imported as bridge, the IPs outside their nodes\' pod CIDRs are left out instead', async () => {
    const body = (await post('shop', fixture('calico-ipip'), 'cni=bridge')).json();
    assert.equal(body.counts.skipped.outsidePodCIDR, 9);
    // The stale checkout pod is left out for its IP now, not as a duplicate.
    assert.equal(body.counts.pods, 14);
    assert.match(body.warnings.find((w: Obj) => w.code === 'pod-ip-outside-node-cidrs').detail, /bridge gives a pod an address from its own node's pod CIDR/);
  });
});

describe('a dual-stack kind cluster sent as {nodes, pods}', () => {
  test('without cni: kindnet, detected from its pods, stored and traced in IPv4 and IPv6', async () => {
    const res = await post('kind', fixture('dual-stack-split'));
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().cni.plugin, 'kindnet');
    assert.match(res.json().cni.evidence[0], /^kindnet: 3 agent pods such as kube-system\/kindnet-/);
    for (const to of ['echo-6d9f8b7c5c-wq7t2', 'fd00:10:244:2::3']) {
      const tr = (await trace('kind', 'echo-6d9f8b7c5c-4kq9p', to)).json();
      assert.equal(tr.disposition, 'DELIVERED', tr.summary);
      assert.deepEqual(netnsPath(tr), ['default/echo-6d9f8b7c5c-4kq9p', 'dual-worker', 'dual-worker2', 'default/echo-6d9f8b7c5c-wq7t2']);
    }
  });

  test('with cni=bridge&mode=host-gw: stored in both families and traced in IPv4 and IPv6', async () => {
    const res = await post('kind', fixture('dual-stack-split'), 'cni=bridge&mode=host-gw');
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual(res.json().counts.skipped, { ...noneSkipped, pending: 1 });
    const doc = await stored('kind');
    assert.deepEqual(doc.cluster.nodes[2].podCIDRs, ['10.244.2.0/24', 'fd00:10:244:2::/64']);
    assert.deepEqual(doc.cluster.pods.find((p: Obj) => p.name === 'echo-6d9f8b7c5c-wq7t2').podIPs, ['10.244.2.3', 'fd00:10:244:2::3']);

    let tr = await trace('kind', 'echo-6d9f8b7c5c-4kq9p', 'echo-6d9f8b7c5c-wq7t2');
    assert.equal(tr.json().disposition, 'DELIVERED');
    assert.deepEqual(netnsPath(tr.json()), ['default/echo-6d9f8b7c5c-4kq9p', 'dual-worker', 'dual-worker2', 'default/echo-6d9f8b7c5c-wq7t2']);
    tr = await trace('kind', 'echo-6d9f8b7c5c-4kq9p', 'fd00:10:244:2::3');
    assert.equal(tr.statusCode, 200, tr.body);
    assert.deepEqual(tr.json().flow, { src: 'fd00:10:244:1::2', dst: 'fd00:10:244:2::3', protocol: 'icmp', ttl: 64 });
    assert.equal(tr.json().disposition, 'DELIVERED');
    assert.deepEqual(netnsPath(tr.json()), ['default/echo-6d9f8b7c5c-4kq9p', 'dual-worker', 'dual-worker2', 'default/echo-6d9f8b7c5c-wq7t2']);
    assert.deepEqual(tr.json().hops[1].steps.find((s: Obj) => s.type === 'ROUTE').route.gateway, 'fc00:f853:ccd:e793::3');
  });
});

describe('cilium cluster-pool', () => {
  test("detected from the cilium-host annotation; pod CIDRs from Cilium's annotations", async () => {
    const res = await post('eks', fixture('cilium-cluster-pool'));
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json();
    assert.equal(body.cni.plugin, 'cilium');
    assert.equal(body.cni.detectedFrom, 'metadata.annotations["network.cilium.io/ipv4-cilium-host"] of node ip-10-20-1-15.eu-west-1.compute.internal');
    assert.deepEqual(body.warnings.map((w: Obj) => w.code), ['cni-mode-unknown', 'pod-cidr-from-cilium', 'network-gateway-assumed']);
    assert.deepEqual((await stored('eks')).cluster.nodes.map((n: Obj) => n.podCIDRs), [['10.0.0.0/24'], ['10.0.1.0/24']]);
    const given = await put('eks', fixture('cilium-cluster-pool'), 'cni=cilium&mode=vxlan');
    assert.equal(given.statusCode, 200);
    assert.deepEqual((await stored('eks')).cluster.cni, { plugin: 'cilium', routing: 'tunnel', tunnel: 'vxlan' });
    assert.deepEqual(given.json().warnings.map((w: Obj) => w.code), ['pod-cidr-from-cilium', 'network-gateway-assumed']);
  });
});

describe('bad input is a 400 problem with pointers, never a 500', () => {
  test('the schema checks what the import reads, at JSON pointers, and accepts every other field', async () => {
    const body = fixture('flannel-host-gw');
    body.items[0].status.addresses[0].address = 7;
    body.items[1].spec.podCIDRs = ['10.244.1.0/24', 'fd00::/64', '10.9.0.0/24'];
    body.items[5].status.podIPs = 'nope';
    body.items[6].spec.hostNetwork = 'yes';
    body.items[7].metadata = { namespace: 'default' };
    body.items[8].kind = 'Endpoints'; // now an object the import does not read: no error
    body.items[9].somethingNew = { a: 1 };
    const res = await post('prod', body, 'cni=bridge');
    assert.equal(res.statusCode, 400);
    const problem = res.json();
    assert.equal(problem.type, 'urn:pathtrace:problem:invalid-request');
    assert.deepEqual(problem.errors, [
      { pointer: '/items/0/status/addresses/0/address', detail: 'must be string' },
      { pointer: '/items/1/spec/podCIDRs', detail: 'must NOT have more than 2 items' },
      { pointer: '/items/5/status/podIPs', detail: 'must be array' },
      { pointer: '/items/6/spec/hostNetwork', detail: 'must be boolean' },
      { pointer: '/items/7/metadata/name', detail: 'is required' },
    ]);
  });

  test('values kubectl never prints are 400s at the place they are', async () => {
    const body = fixture('dual-stack-split');
    body.nodes.items[0].spec.podCIDRs = ['10.244.0.1/24', 'fd00:10:244::/64'];
    body.pods.items[3].status.podIPs = [{ ip: '172.18.0.999' }];
    const res = await post('kind', body, 'cni=bridge');
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json().errors, [
      { pointer: '/nodes/items/0/spec/podCIDRs/0', detail: '10.244.0.1/24 has host bits set (the prefix is 10.244.0.0/24; 10.244.0.1/24 is an interface address)' },
      { pointer: '/pods/items/3/status/podIPs/0/ip', detail: '"172.18.0.999" is not an IPv4 or IPv6 address' },
    ]);
  });

  test('a redacted support bundle gets one answer that lists every problem, with a true count', async () => {
    // Support-bundle tools replace addresses with ***HIDDEN***: the addresses, pod CIDRs and pod IPs all fail at once.
    const body = fixture('flannel-host-gw');
    let hidden = 0;
    for (const item of body.items) {
      if (item.kind === 'Node') {
        for (const a of item.status.addresses) if (a.type === 'InternalIP') (a.address = '***HIDDEN***'), hidden++;
        item.spec.podCIDR = '***HIDDEN***';
        item.spec.podCIDRs = ['***HIDDEN***'];
        hidden++;
      } else if (item.status?.podIPs !== undefined) {
        item.status.podIP = '***HIDDEN***';
        item.status.podIPs = item.status.podIPs.map(() => ({ ip: '***HIDDEN***' }));
        hidden += item.status.podIPs.length;
      }
    }
    const res = await post('prod', body, 'cni=bridge');
    assert.equal(res.statusCode, 400);
    const problem = res.json();
    assert.equal(problem.errors.length, hidden);
    assert.match(problem.detail, new RegExp(`\\(${hidden} problems\\)`));
    const kinds = new Set(problem.errors.map((e: { pointer: string }) => e.pointer.replace(/^\/items\/\d+/, '')));
    assert.deepEqual([...kinds].sort(), ['/spec/podCIDRs/0', '/status/addresses/0/address', '/status/podIPs/0/ip']);
    assert.equal(await (await get('/v1/topologies/prod')).statusCode, 404);
  });

  test('query parameters', async () => {
    let res = await post('prod', fixture('flannel-host-gw'), 'cni=kubenet');
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json().errors, [{ parameter: 'cni', detail: 'must be one of "bridge", "flannel", "canal", "calico", "cilium", "weave", "kindnet", "gke", "aws-vpc-cni", "azure-cni"' }]);
    res = await post('prod', fixture('flannel-host-gw'), 'cni=flannel&mode=ipip');
    assert.deepEqual(res.json().errors, [{ parameter: 'mode', detail: 'flannel takes mode vxlan or host-gw' }]);
    res = await post('prod', fixture('flannel-host-gw'), 'backend=vxlan');
    assert.equal(res.statusCode, 400);
    assert.equal((await get('/v1/topologies/prod')).statusCode, 404);
  });

  test('bodies that are not a List', async () => {
    const cases: [unknown, number, string?][] = [
      ['[]', 400],
      ['"kubectl"', 400],
      ['{"items": {}}', 400, '/items'],
      ['{"items": [{"kind": "Node"}]}', 400, '/items/0/metadata'],
      ['{"items": [{"metadata": {"name": "x"}}]}', 400, '/items/0/kind'],
      ['{"apiVersion": "v1", "kind": "List", "items": []}', 400, '/items'],
      ['{"nodes": {"items": [{"kind": "Pod", "metadata": {"name": "x"}}]}}', 400, '/nodes/items/0/kind'],
      ['{"kind": "List", "items": [', 400],
    ];
    for (const [payload, status, pointer] of cases) {
      const res = await post('x', payload);
      assert.equal(res.statusCode, status, `${payload}: ${res.body}`);
      assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
      if (pointer !== undefined) assert.ok(res.json().errors.some((e: Obj) => e.pointer === pointer), `${payload}: ${res.body}`);
    }
  });

  test('random damage to a real List is answered 2xx, 400 or 422, never 500', async () => {
    const base = fixture('dual-stack-split');
    const paths: (string | number)[][] = [];
    const walk = (v: unknown, path: (string | number)[]) => {
      if (path.length > 0 && path.length <= 6) paths.push(path);
      if (path.length >= 6 || v === null || typeof v !== 'object') return;
      for (const [k, x] of Object.entries(v)) walk(x, [...path, Array.isArray(v) ? Number(k) : k]);
    };
    walk(base, []);
    const interesting = paths.filter((p) => p.some((k) => ['metadata', 'spec', 'status', 'nodes', 'pods', 'items'].includes(String(k))));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...interesting), fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined), fc.ipV4(), fc.ipV6(), fc.constantFrom('10.244.1.0/24', '', 'Node', 'Pod', 'Running', 'Succeeded'))), {
          minLength: 1,
          maxLength: 4,
        }),
        async (edits) => {
          const body = structuredClone(base);
          for (const [path, value] of edits) {
            let node: any = body;
            for (const k of path.slice(0, -1)) node = node?.[k];
            if (node !== null && typeof node === 'object') {
              if (value === undefined) delete node[path.at(-1)!];
              else node[path.at(-1)!] = value;
            }
          }
          const res = await put('fuzz', body, 'cni=bridge');
          assert.ok([200, 201, 400, 422].includes(res.statusCode), `${res.statusCode} ${res.body.slice(0, 500)} after ${JSON.stringify(edits)}`);
          if (res.statusCode >= 400) assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
        },
      ),
      { numRuns: 150, seed: 8 },
    );
  });

  test('a body over the limit is 413', async () => {
    const small = await openTestApp({ bodyLimit: 64 * 1024 });
    try {
      const res = await small.app.inject({ method: 'POST', url: url('prod'), payload: fixtureText('calico-ipip'), headers: { 'content-type': 'application/json' } });
      assert.equal(res.statusCode, 413);
      assert.equal(res.json().type, 'urn:pathtrace:problem:payload-too-large');
    } finally {
      await small.close();
    }
  });
});

describe('a large generated cluster', () => {
  test('500 nodes × 30 pods: imported under the body limit, then traced from one end to the other', async (ctx) => {
    const list = generateLargeList({ nodes: 500, podsPerNode: 30 });
    const payload = JSON.stringify(list);
    assert.ok(payload.length > 20e6 && payload.length < 64 * 1024 * 1024, `${(payload.length / 1e6).toFixed(1)} MB`);
    const started = performance.now();
    const res = await post('large', payload, 'cni=bridge');
    const took = performance.now() - started;
    assert.equal(res.statusCode, 201, res.body.slice(0, 1000));
    const body = res.json();
    const pending = Math.floor((500 * 28) / 50);
    assert.deepEqual(body.counts, {
      nodes: 500,
      pods: 500 * 30 - pending,
      skipped: { ...noneSkipped, pending },
      skippedNodes: { noAddress: 0, duplicateName: 0 },
      ignored: {},
    });
    // flannel host-gw given as bridge, and the nodes' gateway assumed.
    assert.deepEqual(body.warnings.map((w: Obj) => w.code), ['cni-differs-from-detected', 'pod-without-ip', 'network-gateway-assumed'], JSON.stringify(body.warnings));
    ctx.diagnostic(`imported ${(payload.length / 1e6).toFixed(1)} MB (500 nodes, ${body.counts.pods} pods) in ${took.toFixed(0)} ms`);

    // Pod 27 of the last node is one of the pending ones; pod 26 runs.
    const tr = await trace('large', largePodIp(0, 0), largePodIp(499, 26));
    assert.equal(tr.statusCode, 200, tr.body);
    assert.equal(tr.json().disposition, 'DELIVERED');
    assert.deepEqual(netnsPath(tr.json()).slice(1, 3), [largeNodeName(0), largeNodeName(499)]);
  });
});
