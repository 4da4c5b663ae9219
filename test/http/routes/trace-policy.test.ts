// NetworkPolicy over HTTP: a cluster with policies stored through the API, a denied trace with the policy and rule that
// decide, named ports and SCTP, the text and SVG renderings, the reachability matrix for a port with its DENIED cells,
// a what-if that adds a policy, and the problems a bad policy gets.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, type TestApp } from '../../helpers/app.js';

const cluster = {
  nodes: [
    { name: 'node-a', addresses: [{ type: 'InternalIP', address: '192.168.0.11' }], podCIDRs: ['10.1.1.0/24'] },
    { name: 'node-b', addresses: [{ type: 'InternalIP', address: '192.168.0.12' }], podCIDRs: ['10.1.2.0/24'] },
  ],
  namespaces: [{ name: 'shop', labels: { team: 'web' } }, { name: 'ops' }],
  pods: [
    { namespace: 'shop', name: 'web', nodeName: 'node-a', podIPs: ['10.1.1.2'], labels: { app: 'web' } },
    { namespace: 'shop', name: 'db', nodeName: 'node-b', podIPs: ['10.1.2.2'], labels: { app: 'db' }, ports: [{ name: 'pg', containerPort: 5432 }, { name: 'sync', containerPort: 7000, protocol: 'SCTP' }] },
    { namespace: 'ops', name: 'probe', nodeName: 'node-a', podIPs: ['10.1.1.3'], labels: { app: 'probe' } },
  ],
  networkPolicies: [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'db-from-web', namespace: 'shop', uid: '5b0e', creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: {
        podSelector: { matchLabels: { app: 'db' } },
        policyTypes: ['Ingress'],
        ingress: [
          { from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 'pg' }] },
          { ports: [{ protocol: 'SCTP', port: 7000 }] },
        ],
      },
    },
  ],
};

let t: TestApp;
before(async () => {
  t = await openTestApp();
  const res = await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: { name: 'shop', cluster } });
  assert.equal(res.statusCode, 201, res.body);
});
after(() => t.close());

const trace = (query: string) => t.app.inject(`/v1/topologies/shop/trace?${query}`);

test('a denied trace names the isolating policy and what the closest rule misses', async () => {
  const res = await trace('from=ops/probe&to=shop/db&protocol=tcp&port=5432');
  assert.equal(res.statusCode, 200);
  const a = res.json();
  assert.equal(a.disposition, 'DENIED');
  const steps = a.hops.flatMap((h: { steps: unknown[] }) => h.steps);
  const drop = steps.find((s: { type: string }) => s.type === 'DROP');
  assert.deepEqual({ disposition: drop.disposition, direction: drop.direction }, { disposition: 'DENIED', direction: 'ingress' });
  const ingress = steps.find((s: { type: string; direction: string }) => s.type === 'POLICY' && s.direction === 'ingress');
  assert.equal(ingress.verdict, 'DENIED');
  assert.deepEqual(ingress.isolatedBy, [{ namespace: 'shop', name: 'db-from-web' }]);
  // Rule 0 misses by two parts (the peer's namespace and labels), rule 1 by one (its SCTP port).
  assert.equal(ingress.closest.rule, 1);
  assert.deepEqual(ingress.closest.unmet, ['the port: TCP/5432 is not one of SCTP/7000']);
  const web = (await trace('from=shop/web&to=shop/db&protocol=tcp&port=5433')).json();
  const closest = web.hops.flatMap((h: { steps: unknown[] }) => h.steps).find((s: { type: string; direction: string }) => s.type === 'POLICY' && s.direction === 'ingress').closest;
  assert.equal(closest.rule, 0);
  assert.deepEqual(closest.unmet, ['the port: TCP/5433 is not one of TCP/pg']);
  const other = (await trace('from=ops/probe&to=shop/db&protocol=sctp&port=7001')).json();
  const both = other.hops.flatMap((h: { steps: unknown[] }) => h.steps).find((s: { type: string; direction: string }) => s.type === 'POLICY' && s.direction === 'ingress').closest;
  assert.deepEqual(both.unmet, ['the port: SCTP/7001 is not one of SCTP/7000']);
  const egress = steps.find((s: { type: string; direction: string }) => s.type === 'POLICY' && s.direction === 'egress');
  assert.equal(egress.verdict, 'NOT_ISOLATED');
});

test('an allowed trace by port name names the rule, peer and port; the number it resolved to is echoed', async () => {
  const a = (await trace('from=shop/web&to=shop/db&protocol=tcp&port=pg')).json();
  assert.equal(a.disposition, 'DELIVERED');
  assert.equal(a.flow.port, 5432);
  const ingress = a.hops.flatMap((h: { steps: unknown[] }) => h.steps).find((s: { type: string; direction: string }) => s.type === 'POLICY' && s.direction === 'ingress');
  assert.deepEqual(ingress.allowedBy, { policy: { namespace: 'shop', name: 'db-from-web' }, rule: 0, peer: 'pods app=web', peerIndex: 0, port: 'TCP/pg', portIndex: 0 });
});

test('SCTP is traced, and only the SCTP rule admits it', async () => {
  assert.equal((await trace('from=ops/probe&to=shop/db&protocol=sctp&port=7000')).json().disposition, 'DELIVERED');
  assert.equal((await trace('from=ops/probe&to=shop/db&protocol=tcp&port=7000')).json().disposition, 'DENIED');
  assert.equal((await trace('from=ops/probe&to=shop/db&protocol=sctp&port=sync')).json().flow.port, 7000);
});

test('a port name the destination pod does not have is a 400 saying so', async () => {
  const res = await trace('from=shop/web&to=shop/db&protocol=udp&port=pg');
  assert.equal(res.statusCode, 400);
  assert.deepEqual(res.json().errors, [{ parameter: 'port', detail: 'shop/db has no UDP container port named pg' }]);
});

test('text and SVG show the policy that denied', async () => {
  const text = (await trace('from=ops/probe&to=shop/db&protocol=tcp&port=5432&format=text')).body;
  assert.match(text, /✗ policy: ingress: ops\/probe → shop\/db \(TCP\/5432\) is denied: shop\/db is isolated for ingress by shop\/db-from-web/);
  const svg = (await trace('from=ops/probe&to=shop/db&protocol=tcp&port=5432&format=svg')).body;
  assert.match(svg, /ingress denied \(shop\/db-from-web\)/);
  const md = (await trace('from=shop/web&to=shop/db&protocol=tcp&port=5432&format=markdown')).body;
  assert.match(md, /POLICY: ingress: shop\/web → shop\/db \(TCP\/5432\) is allowed by shop\/db-from-web ingress rule 0/);
  const mermaid = (await trace('from=shop/web&to=shop/db&protocol=tcp&port=5432&format=mermaid')).body;
  assert.match(mermaid, /ingress allowed by shop\/db-from-web rule 0/);
});

test('the matrix for a port: DENIED cells are P, counted apart, and the SVG colours them', async () => {
  const m = (await t.app.inject('/v1/topologies/shop/reachability?protocol=tcp&port=5432')).json();
  assert.deepEqual(m.endpoints.map((e: { name: string }) => e.name), ['shop/web', 'shop/db', 'ops/probe']);
  assert.equal(m.legend.P, 'DENIED');
  assert.deepEqual(m.rows, ['-DD', 'D-D', 'DP-']);
  assert.deepEqual(m.counts, { DELIVERED: 5, DENIED: 1 });
  assert.equal(m.port, 5432);
  // ICMP (the default) matches no rule that lists ports: both web and probe are denied.
  assert.deepEqual((await t.app.inject('/v1/topologies/shop/reachability')).json().rows, ['-PD', 'D-D', 'DP-']);
  const svg = await t.app.inject({ url: '/v1/topologies/shop/reachability?protocol=tcp&port=5432', headers: { accept: 'image/svg+xml' } });
  assert.match(svg.body, /DENIED: 1 pairs?/);
  assert.match(svg.body, /fill="#ff7043"/);
  const bad = await t.app.inject('/v1/topologies/shop/reachability?port=80');
  assert.equal(bad.statusCode, 400);
});

test('the matrix names the policy that decided each pair: in the rows, the CSV and the SVG cell titles', async () => {
  const rows = (await t.app.inject('/v1/topologies/shop/reachability?protocol=tcp&port=5432&format=rows')).json();
  const decided = Object.fromEntries(rows.map((r: { from: string; to: string; decidedBy?: unknown }) => [`${r.from} → ${r.to}`, r.decidedBy]));
  assert.deepEqual(decided['ops/probe → shop/db'], [{ direction: 'ingress', verdict: 'DENIED', kind: 'NetworkPolicy', namespace: 'shop', name: 'db-from-web' }]);
  assert.deepEqual(decided['shop/web → shop/db'], [{ direction: 'ingress', verdict: 'ALLOWED', kind: 'NetworkPolicy', namespace: 'shop', name: 'db-from-web', rule: 0 }]);
  assert.equal(decided['shop/db → ops/probe'], undefined, 'no policy isolates ops/probe');
  // SCTP/7000 is rule 1's, from anywhere.
  const sctp = (await t.app.inject('/v1/topologies/shop/reachability?protocol=sctp&port=7000&format=rows')).json();
  assert.equal(sctp.find((r: { from: string; to: string }) => r.from === 'ops/probe' && r.to === 'shop/db').decidedBy[0].rule, 1);
  const csv = (await t.app.inject('/v1/topologies/shop/reachability?protocol=tcp&port=5432&format=csv')).body.split('\r\n');
  assert.equal(csv[0], 'from,fromNamespace,fromNode,fromAddress,to,toNamespace,toNode,toAddress,disposition,decidedBy');
  assert.ok(csv.includes('ops/probe,ops,node-a,10.1.1.3,shop/db,shop,node-b,10.1.2.2,DENIED,ingress DENIED by NetworkPolicy shop/db-from-web (no rule admits)'), csv.join('\n'));
  const svg = (await t.app.inject('/v1/topologies/shop/reachability?protocol=tcp&port=5432&format=svg')).body;
  assert.match(svg, /<title>ops\/probe → shop\/db: DENIED, ingress DENIED by NetworkPolicy shop\/db-from-web \(no rule admits\)<\/title>/);
  assert.match(svg, /<title>shop\/web → shop\/db: DELIVERED, ingress ALLOWED by NetworkPolicy shop\/db-from-web rule 0<\/title>/);
});

test('a policy the API server would refuse is a 422 with its JSON pointer', async () => {
  const policy = { ...cluster.networkPolicies[0]!, spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] } };
  const res = await t.app.inject({ method: 'PUT', url: '/v1/topologies/bad', payload: { cluster: { ...cluster, networkPolicies: [policy] } } });
  assert.equal(res.statusCode, 422, res.body);
  assert.deepEqual(res.json().errors.map((e: { pointer: string }) => e.pointer), ['/cluster/networkPolicies/0/spec/ingress/0/from/0/ipBlock']);
  const shape = await t.app.inject({ method: 'PUT', url: '/v1/topologies/bad', payload: { cluster: { ...cluster, networkPolicies: [{ metadata: { name: 'x' }, spec: { podSelector: {}, policyTypes: ['Sideways'] } }] } } });
  assert.equal(shape.statusCode, 400);
});

test('diff between revisions names the policies added and the pairs they deny', async () => {
  const deny = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'ops-no-egress', namespace: 'ops' }, spec: { podSelector: {}, policyTypes: ['Egress'] } };
  const next = { cluster: { ...cluster, networkPolicies: [...cluster.networkPolicies, deny] } };
  assert.equal((await t.app.inject({ method: 'PUT', url: '/v1/topologies/shop', payload: next })).statusCode, 200);
  const d = (await t.app.inject('/v1/topologies/shop/diff?from=1&to=2')).json();
  assert.deepEqual(d.changes.networkPolicies, { added: ['ops/ops-no-egress'], removed: [], changed: [] });
  // ICMP: probe → web was delivered and is now denied at probe's egress; probe → db was denied already.
  assert.deepEqual(d.reachability.changed, [{ from: 'ops/probe', to: 'shop/web', before: 'DELIVERED', after: 'DENIED' }]);
});

test('a bidirectional batch: the reply of an allowed connection is not checked against policies; a denied request\'s reverse is', async () => {
  // web is isolated for ingress and admits nobody: a new flow db → web is denied, but db's replies to web's connection pass.
  const webClosed = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'web-closed', namespace: 'shop' },
    spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'] },
  };
  const posted = await t.app.inject({
    method: 'POST',
    url: '/v1/topologies',
    payload: { name: 'shop-replies', cluster: { ...cluster, networkPolicies: [...cluster.networkPolicies, webClosed] } },
  });
  assert.equal(posted.statusCode, 201, posted.body);
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/topologies/shop-replies/traces',
    payload: {
      bidirectional: true,
      flows: [
        { from: 'shop/web', to: 'shop/db', protocol: 'tcp', srcPort: 40000, port: 5432 },
        { from: 'ops/probe', to: 'shop/db', protocol: 'tcp', srcPort: 40000, port: 5432 },
        { from: 'shop/db', to: 'shop/web', protocol: 'tcp', port: 8080 },
      ],
    },
  });
  assert.equal(res.statusCode, 200, res.body);
  const [allowed, denied, fresh] = res.json().traces;
  assert.equal(allowed.trace.disposition, 'DELIVERED');
  assert.equal(allowed.return.disposition, 'DELIVERED');
  assert.equal(allowed.returnFails, false);
  const returnSteps = allowed.return.hops.flatMap((h: { steps: { type: string }[] }) => h.steps.map((s) => s.type));
  assert.ok(!returnSteps.includes('POLICY'), returnSteps.join(' '));
  assert.ok(allowed.return.notes.some((n: string) => n.includes('within the connection the request opened')), allowed.return.notes.join('\n'));
  // The denied request opened no connection: its reverse (db → probe) is a flow of its own, and probe is not isolated.
  assert.equal(denied.trace.disposition, 'DENIED');
  assert.equal(denied.return.disposition, 'DELIVERED');
  assert.ok(denied.return.hops.some((h: { steps: { type: string }[] }) => h.steps.some((s) => s.type === 'POLICY')));
  // A connection db opens to web is denied by web-closed, and web's reply to it is not traced as allowed.
  assert.equal(fresh.trace.disposition, 'DENIED');
  assert.ok(!fresh.return.notes?.some((n: string) => n.includes('within the connection')));
});

// Last: the apps it opens with other limits share the database, and empty it.
test('a heat map that would pass MAX_ANSWER_BYTES with its cells\' policies is drawn without them, and past it even so is a 422', async () => {
  // Ten more database pods, each isolated by db-from-web: every cell into one names the policy.
  const dbs = Array.from({ length: 10 }, (_, k) => ({ ...cluster.pods[1]!, name: `db-${k}`, podIPs: [`10.1.2.${10 + k}`] }));
  const many = { ...cluster, pods: [...cluster.pods, ...dbs] };
  const url = '/v1/topologies/many/reachability?protocol=tcp&port=5432&format=svg';
  assert.equal((await t.app.inject({ method: 'PUT', url: '/v1/topologies/many', payload: { cluster: many } })).statusCode, 201);
  const full = (await t.app.inject(url)).body;
  assert.match(full, /<title>ops\/probe → shop\/db-3: DENIED, ingress DENIED by NetworkPolicy shop\/db-from-web \(no rule admits\)<\/title>/);
  const bare = /<title>ops\/probe → shop\/db-0 … shop\/db-9 \(10 pods\): DENIED<\/title>/;
  for (const [limit, expect] of [[Buffer.byteLength(full), 'full'], [Buffer.byteLength(full) - 1, 'bare'], [1000, 'refused']] as const) {
    const small = await openTestApp({ maxAnswerBytes: limit });
    try {
      assert.equal((await small.app.inject({ method: 'PUT', url: '/v1/topologies/many', payload: { cluster: many } })).statusCode, 201);
      const res = await small.app.inject(url);
      if (expect === 'refused') {
        assert.equal(res.statusCode, 422);
        assert.match(res.json().detail, /MAX_ANSWER_BYTES.*namespace=, node=/);
        continue;
      }
      assert.equal(res.statusCode, 200);
      assert.equal(res.body === full, expect === 'full');
      if (expect === 'bare') {
        assert.match(res.body, bare);
        assert.doesNotMatch(res.body, /DENIED by NetworkPolicy/);
        assert.match(res.body, /what decided each cell, the policies or kube-proxy&#39;s verdict, left out of the cells: with it the map passes MAX_ANSWER_BYTES/);
      }
    } finally {
      await small.close();
    }
  }
});
