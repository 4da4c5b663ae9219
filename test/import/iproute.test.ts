// The import of iproute2 dumps (src/import/iproute.ts), on dumps taken from real namespaces (test/fixtures/iproute, made by
// capture.ts there), and through the HTTP API as the third form of a topology.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkDumps, importIproute } from '../../src/import/iproute.js';
import { DataError } from '../../src/topology/data-error.js';
import { compileTopology, type CompiledTopology } from '../../src/engine/topology.js';
import type { Path, Trace } from '../../src/engine/trace.js';
import type { ClusterDoc, DumpsDoc, FabricDoc, NetnsDoc } from '../../src/topology/schema.js';
import { openTestApp, type TestApp } from '../helpers/app.js';
import { resetDb } from '../helpers/db.js';

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../fixtures/iproute/${name}.json`, import.meta.url), 'utf8'));
const twoNodes = () => fixture<{ cluster: ClusterDoc; dumps: DumpsDoc }>('two-nodes');
const kitchenSink = () => fixture<{ dumps: DumpsDoc }>('kitchen-sink').dumps;

const netns = (f: FabricDoc, name: string): NetnsDoc => f.netns.find((n) => n.name === name)!;
const link = (f: FabricDoc, ns: string, name: string) => netns(f, ns).links.find((l) => l.name === name)!;
const codes = (ws: { code: string }[]) => ws.map((w) => w.code).sort();

/** What the kernel can be asked about a path: the routing decisions (netns, device, gateway) and how it ends. */
function signature(path: Path): string {
  const decisions = path.hops.flatMap((hop) =>
    hop.steps.flatMap((s) => {
      if (s.type !== 'ROUTE') return [];
      const nh = s.route?.nexthops[s.nexthop];
      return [`${hop.netns.name}: ${nh ? `dev ${hop.netns.links[nh.dev]!.name}${nh.gateway ? ` via ${nh.gateway}` : ''}` : '-'}`];
    }),
  );
  return `${decisions.join(' → ')} ⇒ ${path.disposition} at ${path.hops.at(-1)!.netns.name}`;
}
const signatures = (t: Trace) => t.paths.map(signature);
const traceOf = (c: CompiledTopology, from: string, to: string) => c.trace(c.resolve(from, 'source'), c.resolve(to, 'destination'));

function conversionError(fn: () => unknown): DataError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DataError, `not a DataError: ${err}`);
    return err;
  }
  assert.fail('no error');
}

describe('a bridge cluster dumped from its kernels', () => {
  test('becomes the fabric the cluster compiles to: veth peers by node, bridge ports, routes, the underlay and its router', () => {
    const { fabric, warnings } = importIproute(twoNodes().dumps);
    assert.deepEqual(
      fabric.netns.map((n) => [n.name, n.kind, n.node, n.forwarding]),
      [
        ['node-a', 'node', undefined, true],
        ['node-b', 'node', undefined, true],
        ['default/pod-a1', 'pod', 'node-a', false],
        ['default/pod-a2', 'pod', 'node-a', false],
        ['default/pod-b1', 'pod', 'node-b', false],
      ],
    );
    for (const pod of ['default/pod-a1', 'default/pod-a2', 'default/pod-b1']) {
      const eth0 = link(fabric, pod, 'eth0');
      assert.equal(eth0.kind, 'veth');
      const hostSide = link(fabric, eth0.peer!.netns, eth0.peer!.link);
      assert.equal(eth0.peer!.netns, netns(fabric, pod).node);
      assert.deepEqual(hostSide.peer, { netns: pod, link: 'eth0' });
      assert.equal(hostSide.master, 'cbr0');
      assert.deepEqual(netns(fabric, pod).routes, [{ dst: 'default', gateway: `10.1.${pod.endsWith('b1') ? 2 : 1}.1`, dev: 'eth0' }]);
    }
    // The uplink is a veth into the realiser's switch, which was not dumped: a physical link on the subnet it shares.
    assert.deepEqual(link(fabric, 'node-a', 'eth0').segment, '192.168.0.0/24');
    assert.deepEqual(link(fabric, 'node-a', 'cbr0').addresses, ['10.1.1.1/24']);
    assert.deepEqual(fabric.segments, [{ name: '192.168.0.0/24', cidr: '192.168.0.0/24', external: ['192.168.0.1'] }]);
    // No connected route (proto kernel), nothing of table local: the compiler derives those.
    assert.deepEqual(netns(fabric, 'node-a').routes, [
      { dst: 'default', gateway: '192.168.0.1', dev: 'eth0' },
      { dst: '10.1.2.0/24', gateway: '192.168.0.12', dev: 'eth0' },
    ]);
    assert.deepEqual(codes(warnings), ['external-from-neighbour', 'segment-inferred', 'veth-peer-outside']);
    const outside = warnings.find((w) => w.code === 'veth-peer-outside')!;
    assert.equal(outside.count, 2);
    assert.equal(outside.examples[0]!.pointer, '/dumps/netns/0/link/2');
  });

  test('is traced exactly as the cluster it was realised from', () => {
    const { cluster, dumps } = twoNodes();
    const fromCluster = compileTopology({ form: 'cluster', cluster });
    const imported = compileTopology(checkDumps(dumps).spec);
    const pods = ['default/pod-a1', 'default/pod-a2', 'default/pod-b1'];
    const targets = [...pods, '10.1.1.200', '10.1.2.200', '192.168.0.11', '192.168.0.12', '8.8.8.8', '192.168.0.99'];
    const seen = new Set<string>();
    for (const from of pods) {
      for (const to of targets) {
        if (from === to) continue;
        const want = signatures(traceOf(fromCluster, from, to));
        assert.deepEqual(signatures(traceOf(imported, from, to)), want, `${from} → ${to}`);
        for (const p of traceOf(imported, from, to).paths) seen.add(p.disposition);
      }
    }
    assert.deepEqual([...seen].sort(), ['DELIVERED', 'EXITS_NETWORK', 'NEIGHBOR_UNREACHABLE']);
  });

  test('without the pods\' nodes, the veth peers are ambiguous: 422 at each link, and peers settle them', () => {
    const { dumps } = twoNodes();
    const expected = importIproute(dumps).fabric;
    for (const n of dumps.netns) delete n.node;
    const err = conversionError(() => importIproute(dumps));
    assert.equal(err.status, 422);
    assert.ok(err.errors.length > 0);
    for (const e of err.errors) {
      assert.match(e.pointer!, /^\/dumps\/netns\/\d+\/link\/\d+$/);
      assert.match(e.detail, /which could be .* give it in \/dumps\/netns\/\d+\/peers/);
    }
    // An operator who knows which veth is whose says so.
    for (const pod of ['default/pod-a1', 'default/pod-a2', 'default/pod-b1']) {
      const peer = link(expected, pod, 'eth0').peer!;
      dumps.netns.find((n) => n.name === pod)!.peers = [{ link: 'eth0', netns: peer.netns, peerLink: peer.link }];
    }
    const { fabric } = importIproute(dumps);
    for (const n of expected.netns) delete n.node;
    assert.deepEqual(fabric, expected);
  });
});

describe('a router and a host wired by hand', () => {
  test('link kinds, peers within and across namespaces, vxlan, proxy_arp, forwarding', () => {
    const { fabric, warnings } = importIproute(kitchenSink());
    const router = netns(fabric, 'router');
    assert.equal(router.forwarding, true);
    assert.equal(netns(fabric, 'host').forwarding, false);
    assert.deepEqual(
      router.links.map((l) => [l.name, l.kind, l.peer ? `${l.peer.netns} ${l.peer.link}` : l.master ?? '']),
      [
        ['eth1', 'veth', 'host eth9'],
        ['eth2', 'veth', 'host eth8'],
        ['vb', 'veth', 'router va'],
        ['va', 'veth', 'router vb'],
        ['br0', 'bridge', ''],
        ['vx0', 'vxlan', ''],
      ],
    );
    assert.equal(link(fabric, 'router', 'vb').master, 'br0');
    assert.deepEqual(link(fabric, 'router', 'eth1').addresses, ['172.16.0.1/24', '172.16.0.9/24']);
    assert.deepEqual(link(fabric, 'router', 'eth2').addresses, ['10.9.0.1/24', 'fd00::1/64']);
    const vx = link(fabric, 'router', 'vx0');
    assert.deepEqual([vx.vni, vx.port, vx.local, vx.underlay, vx.addresses], [42, 4789, '172.16.0.1', 'eth1', ['10.244.0.0/32']]);
    assert.deepEqual(router.links.filter((l) => l.proxyArp).map((l) => l.name), ['eth2']);
    assert.deepEqual(router.neigh, [{ dst: '172.16.0.254', lladdr: '02:00:00:00:00:01', dev: 'eth1' }]);
    assert.equal(fabric.segments, undefined);
    assert.deepEqual(codes(warnings), ['route-table-skipped', 'sysctl-not-modelled']);
  });

  test('routes: the main table of both families, once, without what the kernel derives', () => {
    const { fabric } = importIproute(kitchenSink());
    assert.deepEqual(netns(fabric, 'router').routes, [
      { dst: 'default', gateway: '172.16.0.2', dev: 'eth1' },
      { dst: '10.50.0.0/16', type: 'blackhole' },
      { dst: '10.51.0.0/16', type: 'unreachable' },
      { dst: '10.52.0.0/16', type: 'prohibit', metric: 5 },
      { dst: '10.60.0.0/16', nexthops: [{ gateway: '172.16.0.2', dev: 'eth1', weight: 2 }, { gateway: '10.9.0.2', dev: 'eth2', weight: 1 }] },
      { dst: '10.61.0.0/16', gateway: '172.16.0.3', dev: 'eth1', metric: 100, protocol: 'static', prefsrc: '172.16.0.1' },
      { dst: '10.62.0.0/16', dev: 'eth2', scope: 'link' },
      { dst: '10.244.1.0/24', gateway: '10.244.1.0', dev: 'vx0', flags: ['onlink'] },
      { dst: 'fd50::/64', nexthops: [{ gateway: 'fd00::3', dev: 'eth2', weight: 1 }, { gateway: 'fd00::4', dev: 'eth2', weight: 1 }], metric: 1024 },
      { dst: 'fd99::/64', type: 'blackhole', metric: 1024 },
      { dst: '::/0', gateway: 'fd00::2', dev: 'eth2', metric: 1024 },
      { dst: '::/0', type: 'unreachable', metric: 2000 },
    ]);
  });

  test('is traced as the kernel routes it', () => {
    const c = compileTopology(checkDumps(kitchenSink()).spec);
    const end = (from: string, to: string) => traceOf(c, from, to).paths.map((p) => p.disposition);
    assert.deepEqual(end('router', '10.50.0.1'), ['BLACKHOLED']);
    assert.deepEqual(end('router', '10.51.0.1'), ['UNREACHABLE']);
    assert.deepEqual(end('router', '10.52.0.1'), ['UNREACHABLE']);
    // ECMP over both links to the host, which does not forward.
    assert.deepEqual(signatures(traceOf(c, 'router', '10.60.0.1')), [
      'router: dev eth1 via 172.16.0.2 → host: dev eth9 via 172.16.0.1 ⇒ FORWARDING_DISABLED at host',
      'router: dev eth2 via 10.9.0.2 → host: dev eth9 via 172.16.0.1 ⇒ FORWARDING_DISABLED at host',
    ]);
    assert.deepEqual(end('router', '10.61.0.1'), ['NEIGHBOR_UNREACHABLE']);
    assert.deepEqual(end('router', '10.9.0.2'), ['DELIVERED']);
    assert.deepEqual(end('router', 'fd00::2'), ['DELIVERED']);
    assert.deepEqual(end('router', 'fd99::1'), ['BLACKHOLED']);
    assert.deepEqual(signatures(traceOf(c, 'host', '10.3.0.1')), ['host: dev eth9 via 172.16.0.1 ⇒ DELIVERED at router']);
  });
});

describe('what the import refuses, and where it says so', () => {
  test('a route through a link the namespace lacks, an address that does not parse, a peer that does not exist', () => {
    const dumps = kitchenSink();
    const router = dumps.netns[0]!;
    const r = router.route.findIndex((x) => x.dst === '10.62.0.0/16');
    router.route[r]!.dev = 'eth7';
    const a = router.addr.findIndex((x) => x.ifname === 'eth1');
    router.addr[a]!.addr_info![0]!.local = '172.16.0.300';
    router.peers = [{ link: 'eth1', netns: 'nowhere', peerLink: 'eth9' }];
    const err = conversionError(() => importIproute(dumps));
    assert.deepEqual(
      err.errors.map((e) => e.pointer).sort(),
      ['/dumps/netns/0/addr/' + a + '/addr_info/0/local', '/dumps/netns/0/peers/0/netns', `/dumps/netns/0/route/${r}/dev`].sort(),
    );
  });

  test('the converted fabric is checked like a given one, with pointers into the dumps', () => {
    const { dumps } = twoNodes();
    dumps.segments = [{ name: 'underlay', cidr: '192.168.0.0/24', external: ['10.0.0.1'] }];
    const err = conversionError(() => checkDumps(dumps));
    assert.deepEqual(err.errors, [{ pointer: '/dumps/segments/0/external/0', detail: '10.0.0.1 is outside the segment\'s 192.168.0.0/24' }]);
  });

  test('two namespaces of one name', () => {
    const dumps = kitchenSink();
    dumps.netns[1]!.name = 'router';
    assert.deepEqual(conversionError(() => importIproute(dumps)).errors[0], { pointer: '/dumps/netns/1/name', detail: 'another netns is also named router' });
  });
});

describe('POST and PUT /v1/topologies with dumps', () => {
  let t: TestApp;
  before(async () => {
    t = await openTestApp();
  });
  after(() => t.close());
  beforeEach(() => resetDb(t.db));

  test('are stored as the fabric they convert to, answered with the warnings, and traced', async () => {
    const { dumps } = twoNodes();
    const res = await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: { name: 'lab', description: 'from ip -j', dumps } });
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json();
    assert.equal(body.form, 'fabric');
    assert.deepEqual(body.summary, { nodes: 2, pods: 3, netns: 5 });
    assert.deepEqual(codes(body.warnings), ['external-from-neighbour', 'segment-inferred', 'veth-peer-outside']);
    const stored = (await t.app.inject({ method: 'GET', url: '/v1/topologies/lab' })).json();
    assert.deepEqual(stored.fabric, importIproute(dumps).fabric);
    assert.equal(stored.dumps, undefined);

    const trace = await t.app.inject({ method: 'GET', url: '/v1/topologies/lab/trace?from=default/pod-a1&to=default/pod-b1' });
    assert.equal(trace.statusCode, 200, trace.body);
    assert.equal(trace.json().disposition, 'DELIVERED');

    const put = await t.app.inject({ method: 'PUT', url: '/v1/topologies/lab', payload: { dumps: kitchenSink() } });
    assert.equal(put.statusCode, 200, put.body);
    assert.equal(put.json().revision, 2);
    assert.deepEqual(codes(put.json().warnings), ['route-table-skipped', 'sysctl-not-modelled']);
    // A fabric or a cluster is answered without warnings.
    const plain = await t.app.inject({ method: 'PUT', url: '/v1/topologies/lab', payload: { fabric: stored.fabric } });
    assert.equal(plain.statusCode, 200, plain.body);
    assert.equal(plain.json().warnings, undefined);
  });

  test('exactly one of cluster, fabric or dumps; dumps are open inside the outputs and closed around them', async () => {
    const { cluster, dumps } = twoNodes();
    const post = (payload: object) => t.app.inject({ method: 'POST', url: '/v1/topologies', payload });
    let res = await post({ name: 'x', cluster, dumps });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json().errors, [{ pointer: '/dumps', detail: 'give exactly one of cluster, fabric or dumps' }]);

    const typo = structuredClone(dumps) as unknown as { netns: Record<string, unknown>[] };
    typo.netns[0]!.routes = typo.netns[0]!.route;
    res = await post({ name: 'x', dumps: typo });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json().errors, [{ pointer: '/dumps/netns/0/routes', detail: 'is not a known property' }]);

    const wrong = structuredClone(dumps);
    (wrong.netns[0]!.link[1] as { ifindex: unknown }).ifindex = 'two';
    res = await post({ name: 'x', dumps: wrong });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json().errors, [{ pointer: '/dumps/netns/0/link/1/ifindex', detail: 'must be integer' }]);

    const inconsistent = structuredClone(dumps);
    inconsistent.netns[0]!.route[0]!.dev = 'eth7';
    res = await post({ name: 'x', dumps: inconsistent });
    assert.equal(res.statusCode, 422);
    assert.deepEqual(res.json().errors, [{ pointer: '/dumps/netns/0/route/0/dev', detail: 'netns node-a has no link named eth7' }]);
  });
});

describe('tunnel links', () => {
  test('ipip and geneve are kept as tunnels, with their facts; an ipip remote is reported', () => {
    const dumps = kitchenSink();
    const router = dumps.netns.find((n) => n.name === 'router')!;
    router.link.push(
      { ifindex: 40, ifname: 'tunl0', flags: ['NOARP', 'UP', 'LOWER_UP'], mtu: 1480, linkinfo: { info_kind: 'ipip', info_data: { remote: 'any', local: 'any' } } },
      { ifindex: 41, ifname: 'gn0', flags: ['UP', 'LOWER_UP'], mtu: 1450, linkinfo: { info_kind: 'geneve', info_data: { id: 7, port: 6081 } } },
      { ifindex: 42, ifname: 'ip9', flags: ['NOARP', 'UP', 'LOWER_UP'], linkinfo: { info_kind: 'ipip', info_data: { remote: '172.16.0.9' } } },
    );
    const { fabric, warnings } = importIproute(dumps);
    assert.deepEqual(link(fabric, 'router', 'tunl0'), { name: 'tunl0', kind: 'ipip', mtu: 1480 });
    const gn = link(fabric, 'router', 'gn0');
    assert.deepEqual([gn.kind, gn.vni, gn.port], ['geneve', 7, 6081]);
    const w = warnings.find((x) => x.code === 'ipip-remote-not-modelled')!;
    assert.equal(w.count, 1);
    assert.match(w.examples[0]!.detail, /ip9 has the remote 172\.16\.0\.9/);
  });
});

describe('a connected route the dumped table does not hold', () => {
  /** The two-node dumps with node-a's table changed as `change` says, imported and compiled. */
  function nodeA(change: (routes: DumpsDoc['netns'][number]['route']) => void) {
    const { dumps } = twoNodes();
    const a = dumps.netns.find((n) => n.name === 'node-a')!;
    const connected = a.route.findIndex((r) => r.dst === '10.1.1.0/24' && r.protocol === 'kernel');
    a.route.splice(connected, 1);
    change(a.route);
    const { spec, warnings } = checkDumps(dumps);
    assert.ok(spec.form === 'fabric');
    return { fabric: spec.fabric, warnings, c: compileTopology(spec) };
  }

  test('deleted (ip route del): the address is stored noprefixroute, and node-a no longer reaches its pods', () => {
    const { fabric, warnings, c } = nodeA(() => {});
    assert.deepEqual(link(fabric, 'node-a', 'cbr0').addresses, [{ address: '10.1.1.1/24', noprefixroute: true }]);
    assert.deepEqual(link(fabric, 'node-b', 'cbr0').addresses, ['10.1.2.1/24']);
    assert.ok(!codes(warnings).includes('connected-route-missing'));
    // The kernel of node-a sends 10.1.1.10 to its default gateway, outside the dumps.
    assert.deepEqual(signatures(traceOf(c, 'default/pod-b1', 'default/pod-a1')), [
      'default/pod-b1: dev eth0 via 10.1.2.1 → node-b: dev eth0 via 192.168.0.11 → node-a: dev eth0 via 192.168.0.1 ⇒ EXITS_NETWORK at node-a',
    ]);
  });

  test('replaced (ip route replace via node-b): the listed route takes its place, and the packet loops', () => {
    const { fabric, c } = nodeA((routes) => routes.push({ dst: '10.1.1.0/24', gateway: '192.168.0.12', dev: 'eth0', flags: [] }));
    assert.deepEqual(link(fabric, 'node-a', 'cbr0').addresses, ['10.1.1.1/24']);
    const [path] = signatures(traceOf(c, 'default/pod-b1', 'default/pod-a1'));
    assert.match(path!, /^default\/pod-b1: dev eth0 via 10\.1\.2\.1 → node-b: dev eth0 via 192\.168\.0\.11 → node-a: dev eth0 via 192\.168\.0\.12 → node-b: .* ⇒ LOOP/);
  });
});
