// Services through the API: `to=svc/<namespace>/<name>` with a port name, a ClusterIP, a NodePort on a node address;
// `endpoint=`; the DNAT and SNAT steps in JSON and in the other formats; REJECTED and DENIED; the notes for a Service
// address that was not translated. The topology is examples/services.json, the README's.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, type TestApp } from '../../helpers/app.js';
import { resetDb } from '../../helpers/db.js';
import { example } from '../../helpers/examples.js';

let t: TestApp;
before(async () => {
  t = await openTestApp();
  await resetDb(t.db);
  const res = await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: example('services') });
  assert.equal(res.statusCode, 201, res.body);
});
after(() => t.close());

const get = (query: string, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'GET', url: `/v1/topologies/services/trace?${query}`, headers });

type Json = Record<string, any>;
const steps = (a: Json) => (a.hops as Json[]).flatMap((h) => h.steps as Json[]);

test('to=svc/<namespace>/<name>&port=<name>: the port\'s protocol, the DNAT in the client\'s node, one path per endpoint', async () => {
  const res = await get('from=pod-a1&to=svc/kube-system/kube-dns&port=dns');
  assert.equal(res.statusCode, 200, res.body);
  const a = res.json();
  assert.equal(a.flow.protocol, 'udp');
  assert.equal(a.flow.dst, '10.96.0.10');
  assert.equal(a.flow.port, 53);
  assert.deepEqual(a.destination, { name: 'svc/kube-system/kube-dns', kind: 'service', netns: null, address: '10.96.0.10' });
  assert.equal(a.disposition, 'DELIVERED');
  assert.equal(a.pathCount, 2);
  const ends = (a.paths as Json[]).map((p) => p.hops.at(-1).netns).sort();
  assert.deepEqual(ends, ['kube-system/coredns-a', 'kube-system/coredns-b']);
  const dnat = steps(a).find((s) => s.type === 'DNAT')!;
  assert.equal(a.hops[1].netns, 'node-a');
  assert.deepEqual(
    { frontend: dnat.frontend, matched: dnat.matched, verdict: dnat.verdict, chain: dnat.chain, service: dnat.service.name, protocol: dnat.service.protocol },
    { frontend: 'clusterIP', matched: '10.96.0.10:53', verdict: 'dnat', chain: 'cluster', service: 'kube-dns', protocol: 'UDP' },
  );
  assert.deepEqual(dnat.candidates.map((c: Json) => [c.address, c.node, c.candidate]), [
    ['10.1.1.53', 'node-a', true],
    ['10.1.2.53', 'node-b', true],
  ]);
  // After the DNAT the route lookups are for the endpoint.
  const route = a.hops[1].steps.find((s: Json) => s.type === 'ROUTE');
  assert.match(route.explanation, new RegExp(`contains ${dnat.to.split(':')[0].replaceAll('.', '\\.')}`));
});

test('endpoint= traces one endpoint; one that is not a candidate is a 400 naming the candidates', async () => {
  const one = (await get('from=pod-a1&to=10.96.0.10&protocol=tcp&port=53&endpoint=10.1.2.53')).json();
  assert.equal(one.pathCount, undefined);
  assert.equal(one.hops.at(-1).netns, 'kube-system/coredns-b');
  const bad = await get('from=pod-a1&to=10.96.0.10&protocol=tcp&port=53&endpoint=10.1.2.99');
  assert.equal(bad.statusCode, 400);
  assert.deepEqual(bad.json().candidates, ['10.1.1.53', '10.1.2.53']);
  assert.equal(bad.json().errors[0].parameter, 'endpoint');
});

test('a NodePort under externalTrafficPolicy Local: the node without an endpoint drops, the one with it delivers', async () => {
  // The node itself sends to its own NodePort: short-circuited to every endpoint and masqueraded.
  const self = (await get('from=node-a&to=192.168.0.11&protocol=tcp&port=30080')).json();
  const dnat = steps(self).find((s) => s.type === 'DNAT')!;
  assert.equal(dnat.frontend, 'nodePort');
  assert.equal(dnat.route, 'node-short-circuit');
  assert.equal(self.disposition, 'DELIVERED');
  const snat = steps(self).find((s) => s.type === 'SNAT')!;
  assert.equal(snat.reason, 'node-source');
  // From a pod on node-a to node-b's NodePort: node-a has no rule for another node's address; node-b has the endpoint.
  const across = (await get('from=pod-a1&to=192.168.0.12&protocol=tcp&port=30080')).json();
  assert.equal(across.disposition, 'DELIVERED');
  const at = across.hops.find((h: Json) => h.steps.some((s: Json) => s.type === 'DNAT'));
  assert.equal(at.netns, 'node-b');
  assert.equal(across.hops.at(-1).netns, 'default/web-b1');
  // kube-dns's pod on node-b to node-a's NodePort: node-a has no local endpoint, but a pod's traffic is short-circuited.
  const fromPod = (await get('from=kube-system/coredns-b&to=192.168.0.11&protocol=tcp&port=30080')).json();
  assert.equal(fromPod.disposition, 'DELIVERED');
});

test('REJECTED for a Service whose endpoints are gone; the DROP names the rule', async () => {
  const doc = example('services');
  doc.name = 'services-empty';
  doc.cluster!.endpointSlices![1]!.endpoints = [];
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: doc })).statusCode, 201);
  const res = await t.app.inject({ method: 'GET', url: '/v1/topologies/services-empty/trace?from=pod-a1&to=svc/default/web' });
  const a = res.json();
  assert.equal(a.disposition, 'REJECTED');
  const drop = a.hops.at(-1).steps.at(-1);
  assert.deepEqual([drop.type, drop.rule, drop.service.name], ['DROP', 'reject', 'web']);
  assert.match(a.summary, /^REJECTED at node-a: .*kube-proxy rejects the packet: default\/web:http has no usable endpoint/);
});

test('the text, markdown, mermaid and SVG answers show the DNAT', async () => {
  const q = 'from=pod-a1&to=svc/kube-system/kube-dns&port=dns-tcp&endpoint=10.1.2.53';
  const text = (await get(`${q}&format=text`)).body;
  assert.match(text, /DNATs it to one of 2 endpoints/);
  const md = (await get(`${q}&format=markdown`)).body;
  assert.match(md, /DNAT: 10\.96\.0\.10:53 is the ClusterIP of kube-system\/kube-dns:dns-tcp/);
  const mermaid = (await get(`${q}&format=mermaid`)).body;
  assert.match(mermaid, /dnat 10\.1\.2\.53:53/);
  const svg = (await get(`${q}&format=svg`)).body;
  assert.match(svg, /DNAT 10\.1\.2\.53:53/);
});

test('a Service address it does not translate, and an address of the service CIDR no Service holds, are noted', async () => {
  const ping = (await get('from=pod-a1&to=10.96.0.10')).json();
  assert.match(ping.notes.join('\n'), /10\.96\.0\.10 is an address of Service kube-system\/kube-dns; kube-proxy translates only 53\/UDP, 53\/TCP/);
  const port = (await get('from=pod-a1&to=10.96.0.10&protocol=tcp&port=8080')).json();
  assert.match(port.notes.join('\n'), /has no port 8080\/TCP/);
  const none = (await get('from=pod-a1&to=10.96.7.7&protocol=tcp&port=80')).json();
  assert.match(none.notes.join('\n'), /10\.96\.7\.7 is in the service CIDR 10\.96\.0\.0\/12, and no Service holds it/);
});

test('nftables mode: the same packets are REJECTED and DENIED at node-a, the DROP naming the Service, in JSON and text', async () => {
  const doc = example('services');
  doc.name = 'services-nft';
  doc.cluster!.kubeProxy = { ...doc.cluster!.kubeProxy, mode: 'nftables' };
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: doc })).statusCode, 201);
  const nft = (query: string) => t.app.inject({ method: 'GET', url: `/v1/topologies/services-nft/trace?${query}` });
  for (const q of ['from=pod-a1&to=10.96.0.10', 'from=pod-a1&to=10.96.0.10&protocol=tcp&port=8080']) {
    const a = (await nft(q)).json();
    assert.equal(a.disposition, 'REJECTED', q);
    const drop = a.hops.at(-1).steps.at(-1);
    assert.deepEqual([a.hops.at(-1).netns, drop.rule, `${drop.service.namespace}/${drop.service.name}`], ['node-a', 'cluster-ip-port', 'kube-system/kube-dns'], q);
    assert.ok(!a.notes.some((n: string) => /left as it is|leaves it/.test(n)), 'no note says the packet is left alone');
  }
  const none = (await nft('from=pod-a1&to=10.96.7.7&protocol=tcp&port=80')).json();
  assert.equal(none.disposition, 'DENIED');
  assert.equal(none.hops.at(-1).steps.at(-1).rule, 'unallocated-cluster-ip');
  const text = (await nft('from=pod-a1&to=10.96.7.7&protocol=tcp&port=80&format=text')).body;
  assert.match(text, /10\.96\.7\.7 is in the service CIDR and no Service holds it/);
  assert.equal((await nft('from=pod-a1&to=svc/kube-system/kube-dns&port=dns')).json().disposition, 'DELIVERED', "the Service's own port is DNATed");
});

test('an unknown Service is a 404 with the Services like it; a port it lacks is a 400 listing its ports', async () => {
  const unknown = await get('from=pod-a1&to=svc/kube-system/kube-dn');
  assert.equal(unknown.statusCode, 404);
  assert.deepEqual(unknown.json().candidates, ['svc/kube-system/kube-dns']);
  const port = await get('from=pod-a1&to=svc/kube-system/kube-dns&port=http');
  assert.equal(port.statusCode, 400);
  assert.deepEqual(port.json().candidates, ['dns 53/UDP', 'dns-tcp 53/TCP']);
  const name = await get('from=pod-a1&to=10.96.0.10&port=dns');
  assert.equal(name.statusCode, 400);
});

test('from outside: a client entering node-a (no local endpoint, externalTrafficPolicy Local) is DENIED, entering node-b it is delivered unmasqueraded', async () => {
  const a = (await get('from=203.0.113.7&enter=node-a&to=192.168.0.11&protocol=tcp&port=30080')).json();
  assert.equal(a.disposition, 'DENIED');
  assert.equal(a.source.netns, null);
  assert.equal(a.hops[0].netns, 'node-a');
  assert.equal(a.hops[0].in, 'eth0');
  const drop = a.hops[0].steps.at(-1);
  assert.deepEqual([drop.type, drop.rule], ['DROP', 'no-local-endpoints']);
  const b = (await get('from=203.0.113.7&enter=node-b&to=192.168.0.12&protocol=tcp&port=30080')).json();
  assert.equal(b.disposition, 'DELIVERED');
  const dnat = steps(b).find((s) => s.type === 'DNAT')!;
  assert.deepEqual([dnat.chain, dnat.masquerade], ['local', 'none']);
  assert.equal(steps(b).find((s) => s.type === 'SNAT'), undefined);
  const bad = await get('from=203.0.113.7&enter=default/pod-a1&to=192.168.0.12&protocol=tcp&port=30080');
  assert.equal(bad.statusCode, 404);
});

test('src=127.0.0.1: a node to its own localhost NodePort is short-circuited and masqueraded to its uplink address', async () => {
  const a = (await get('from=node-a&src=127.0.0.1&to=127.0.0.1&protocol=tcp&port=30080')).json();
  assert.equal(a.flow.src, '127.0.0.1');
  assert.equal(a.disposition, 'DELIVERED');
  const dnat = steps(a).find((s) => s.type === 'DNAT')!;
  assert.deepEqual([dnat.frontend, dnat.route], ['nodePort', 'node-short-circuit']);
  const snat = steps(a).find((s) => s.type === 'SNAT')!;
  assert.deepEqual([snat.from, snat.to], ['127.0.0.1', '192.168.0.11']);
  const notOwn = await get('from=node-a&src=192.168.0.12&to=10.96.0.10&protocol=udp&port=53');
  assert.equal(notOwn.statusCode, 400);
  assert.equal(notOwn.json().errors[0].parameter, 'src');
});

test('a node sends to loopback from 127.0.0.1 and to its own address from that address, as its local table says', async () => {
  // `ip route get 127.0.0.1`: local 127.0.0.1 dev lo src 127.0.0.1 (the main table's default route would give eth0's).
  const lo = (await get('from=node-a&to=127.0.0.1&protocol=tcp&port=30080')).json();
  const pinned = (await get('from=node-a&src=127.0.0.1&to=127.0.0.1&protocol=tcp&port=30080')).json();
  assert.equal(lo.flow.src, '127.0.0.1');
  assert.deepEqual(lo.hops, pinned.hops);
  const own = (await get('from=node-a&to=192.168.0.11&protocol=tcp&port=30080')).json();
  assert.equal(own.flow.src, '192.168.0.11');
  assert.equal(own.disposition, 'DELIVERED');
});

test('sessionAffinity ClientIP is in the Service of the DNAT step and its sentence; every endpoint is still traced', async () => {
  const doc = example('services');
  const dns = doc.cluster!.services!.find((s) => s.metadata.name === 'kube-dns')!;
  dns.spec.sessionAffinity = 'ClientIP';
  const put = await t.app.inject({ method: 'PUT', url: '/v1/topologies/affinity', payload: { cluster: doc.cluster } });
  assert.equal(put.statusCode, 201, put.body);
  const trace = async (query: string) => (await t.app.inject(`/v1/topologies/affinity/trace?${query}`)).json();
  let a = await trace('from=pod-a1&to=svc/kube-system/kube-dns&port=dns');
  assert.equal(a.pathCount, 2);
  let dnat = steps(a).find((s) => s.type === 'DNAT')!;
  assert.deepEqual(dnat.service.sessionAffinity, { type: 'ClientIP', timeoutSeconds: 10800 });
  assert.match(dnat.explanation, /; sessionAffinity ClientIP: kube-proxy keeps sending this client to the endpoint it took first, for 10800 s after its last packet$/);
  // A Service without it says nothing of it.
  const plain = steps(await trace('from=pod-a1&to=svc/default/web&port=http')).find((s) => s.type === 'DNAT')!;
  assert.equal(plain.service.sessionAffinity, undefined);
  assert.doesNotMatch(plain.explanation, /sessionAffinity/);
  // The timeout as configured; a value Kubernetes refuses is a 400 with its pointer.
  dns.spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 60 } };
  assert.equal((await t.app.inject({ method: 'PUT', url: '/v1/topologies/affinity', payload: { cluster: doc.cluster } })).statusCode, 200);
  a = await trace('from=pod-a1&to=svc/kube-system/kube-dns&port=dns');
  dnat = steps(a).find((s) => s.type === 'DNAT')!;
  assert.deepEqual(dnat.service.sessionAffinity, { type: 'ClientIP', timeoutSeconds: 60 });
  dns.spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 86401 } };
  const refused = await t.app.inject({ method: 'PUT', url: '/v1/topologies/affinity', payload: { cluster: doc.cluster } });
  assert.equal(refused.statusCode, 400);
  assert.ok(refused.json().errors.some((e: Json) => /\/sessionAffinityConfig\/clientIP\/timeoutSeconds$/.test(e.pointer)), refused.body);
});
