// The pods × Services matrix's rows, CSV and heat map: every cell names what a single trace of that pod to that Service
// port shows on its worst path — kube-proxy's refusal in the DNAT step (no usable endpoint, Local traffic policy without
// a local endpoint) and the NetworkPolicies that allowed or denied on the way — and the endpoint that path was sent to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTopology } from '../../src/engine/topology.js';
import { checkTopology } from '../../src/topology/validate.js';
import { answerFlow } from '../../src/answer/flow.js';
import {
  checkServiceTableSize,
  selectPods,
  serviceColumns,
  serviceMatrixAnswer,
  serviceMatrixTable,
} from '../../src/answer/matrix.js';
import { renderHeatmap } from '../../src/render/heatmap.js';
import { Problem } from '../../src/answer/problem.js';
import { servicesRefusing } from '../helpers/services.js';
import { parseXml } from '../helpers/xml.js';

type Json = Record<string, any>;

/** servicesRefusing() with kube-system's pods taking DNS only from their own namespace, and default's pods admitting port 8080. */
function servicesWithPolicies(): Json {
  const body = servicesRefusing();
  body.cluster.networkPolicies = [
    {
      metadata: { namespace: 'kube-system', name: 'dns-from-system' },
      spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }], ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] }] },
    },
    { metadata: { namespace: 'default', name: 'web-in' }, spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 8080 }] }] } },
  ];
  return body;
}

/** What the trace answer's steps say decided, as a matrix row's decidedBy names it (read from the JSON a user sees). */
function fromAnswer(hops: Json[]): { decidedBy: Json[]; endpoint: string | null } {
  const decidedBy: Json[] = [];
  let endpoint: string | null = null;
  for (const s of hops.flatMap((h) => h.steps)) {
    if (s.type === 'DNAT') {
      if (s.verdict !== 'dnat') {
        decidedBy.push({ kind: 'Service', verdict: s.verdict === 'reject' ? 'REJECTED' : 'DENIED', namespace: s.service.namespace, name: s.service.name, dnat: s.verdict, node: hops.find((h) => h.steps.includes(s))!.netns });
      }
      endpoint = s.to ?? null;
    }
    if (s.type === 'POLICY' && (s.verdict === 'ALLOWED' || s.verdict === 'DENIED')) {
      const head = { direction: s.direction, verdict: s.verdict, kind: 'NetworkPolicy' };
      if (s.allowedBy !== undefined) decidedBy.push({ ...head, ...s.allowedBy.policy, rule: s.allowedBy.rule });
      else decidedBy.push(...s.isolatedBy.map((p: Json) => ({ ...head, ...p })));
    }
  }
  return { decidedBy, endpoint };
}

const compiled = compileTopology(checkTopology(servicesWithPolicies() as never));
const pods = selectPods(compiled, {});
const columns = serviceColumns(compiled, {});
const answer = serviceMatrixAnswer(compiled, { name: 'services', revision: 1 }, pods, columns, {}, { decided: true });
const rows = JSON.parse(serviceMatrixTable(answer, 'rows', 1e7)) as Json[];

test('every row says what the single trace of its pod to its Service port says: outcome, endpoint and what decided', () => {
  assert.equal(rows.length, pods.length * columns.length);
  const kinds = new Set<string>();
  for (const row of rows) {
    const one = answerFlow(compiled, { name: 'services', revision: 1 }, { from: row.from, to: `svc/${row.service}`, port: row.port, protocol: row.protocol.toLowerCase() }) as Json;
    const label = `${row.from} → ${row.service}:${row.port}/${row.protocol}`;
    assert.equal(row.disposition, one.disposition, label);
    const { decidedBy, endpoint } = fromAnswer(one.hops);
    assert.deepEqual(row.decidedBy ?? [], decidedBy, label);
    assert.equal(row.endpoint, endpoint, label);
    for (const e of decidedBy) kinds.add(`${e.kind} ${e.verdict}`);
  }
  // The cluster has each kind of refusal and each policy verdict.
  assert.deepEqual([...kinds].sort(), ['NetworkPolicy ALLOWED', 'NetworkPolicy DENIED', 'Service DENIED', 'Service REJECTED']);
});

test('the rows name kube-proxy refusing, the policy that denies, and the rule that admits', () => {
  const row = (from: string, service: string, protocol = 'TCP') => rows.find((r) => r.from === from && r.service === service && r.protocol === protocol)!;
  assert.deepEqual(row('default/pod-a1', 'default/web'), {
    from: 'default/pod-a1', fromNamespace: 'default', fromNode: 'node-a', fromAddress: '10.1.1.2',
    service: 'default/web', serviceNamespace: 'default', clusterIP: '10.96.100.1', port: 80, portName: 'http', protocol: 'TCP',
    endpoint: null, disposition: 'DENIED',
    decidedBy: [{ kind: 'Service', verdict: 'DENIED', namespace: 'default', name: 'web', dnat: 'no-local-endpoints', node: 'node-a' }],
  });
  const empty = row('kube-system/coredns-b', 'default/empty');
  assert.equal(empty.disposition, 'REJECTED');
  assert.equal(empty.portName, null);
  assert.deepEqual(empty.decidedBy, [{ kind: 'Service', verdict: 'REJECTED', namespace: 'default', name: 'empty', dnat: 'reject', node: 'node-b' }]);
  // kube-dns's endpoints take DNS only from kube-system: the worst path is denied at its endpoint's ingress.
  const dns = row('default/pod-a1', 'kube-system/kube-dns', 'UDP');
  assert.equal(dns.disposition, 'DENIED');
  assert.deepEqual(dns.decidedBy, [{ direction: 'ingress', verdict: 'DENIED', kind: 'NetworkPolicy', namespace: 'kube-system', name: 'dns-from-system' }]);
  assert.match(dns.endpoint, /^10\.1\.\d\.53:53$/);
  assert.equal(row('kube-system/coredns-a', 'kube-system/kube-dns', 'UDP').disposition, 'DELIVERED');
  const web = row('kube-system/coredns-b', 'default/web');
  assert.equal(web.disposition, 'DELIVERED');
  assert.equal(web.endpoint, '10.1.2.3:8080');
  assert.deepEqual(web.decidedBy, [{ direction: 'ingress', verdict: 'ALLOWED', kind: 'NetworkPolicy', namespace: 'default', name: 'web-in', rule: 0 }]);
});

test('the CSV has a header and the same cells, what decided in one column', () => {
  const lines = serviceMatrixTable(answer, 'csv', 1e7).split('\r\n');
  assert.equal(lines[0], 'from,fromNamespace,fromNode,fromAddress,service,serviceNamespace,clusterIP,port,portName,protocol,endpoint,disposition,decidedBy');
  assert.equal(lines.length, 1 + rows.length + 1);
  assert.ok(lines.includes('default/pod-a1,default,node-a,10.1.1.2,default/web,default,10.96.100.1,80,http,TCP,,DENIED,DENIED by Service default/web (Local traffic policy and no usable endpoint on node-a)'));
  assert.ok(lines.includes('kube-system/coredns-b,kube-system,node-b,10.1.2.53,default/empty,default,10.96.0.99,443,,TCP,,REJECTED,REJECTED by Service default/empty (no usable endpoint)'));
  const denied = /^default\/pod-a1,.*,UDP,10\.1\.[12]\.53:53,DENIED,ingress DENIED by NetworkPolicy kube-system\/dns-from-system \(no rule admits\)$/;
  assert.ok(lines.some((l) => denied.test(l)));
});

test('the heat map: a column per Service port, each run titled with its pod, its Service ports, the outcome and what decided', () => {
  const svg = renderHeatmap({
    ...answer,
    title: 'services',
    columns: columns.map((c) => ({ name: `${c.name.slice(4)} ${c.portName ?? c.port}/${c.protocol}` })),
    decidedBy: answer.cells,
  });
  parseXml(svg);
  const titles = [...svg.matchAll(/<rect [^>]*><title>([^<]*)<\/title><\/rect>/g)].map((t) => t[1]!.replace(/&gt;/g, '>'));
  assert.ok(titles.includes('default/pod-a1 → default/web http/TCP: DENIED, DENIED by Service default/web (Local traffic policy and no usable endpoint on node-a)'), titles.join('\n'));
  assert.ok(titles.some((t) => t.startsWith('kube-system/coredns-b → ') && t.endsWith('default/empty 443/TCP: REJECTED, REJECTED by Service default/empty (no usable endpoint)')));
  // One letter per cell: no cell is a pod to itself.
  const letters = [...svg.matchAll(/<text [^>]*aria-hidden="true">(\w)<\/text>/g)].map((l) => l[1]);
  assert.equal(letters.length, pods.length * columns.length);
  assert.deepEqual(letters.join(''), answer.rows.join(''));
  // Column labels are the Service ports, row labels the pods.
  assert.match(svg, /rotate\(-90[^>]*>kube-system\/kube-dns dns-tcp\/TCP</);
  assert.match(svg, /text-anchor="end" fill="#37474f">default\/pod-a1</);
});

test('rows or CSV that cannot fit are refused before any cell is traced, never ones that fit', () => {
  for (const format of ['rows', 'csv'] as const) {
    const table = serviceMatrixTable(answer, format, 1e7);
    const bytes = Buffer.byteLength(format === 'rows' ? table.slice(1, -1) : table.slice(table.indexOf('\r\n') + 2));
    checkServiceTableSize(pods, columns, format, bytes);
    assert.throws(() => serviceMatrixTable(answer, format, bytes - 1), (e: unknown) => e instanceof Problem && e.status === 422);
    assert.throws(
      () => checkServiceTableSize(pods, columns, format, Math.floor(bytes / 4)),
      (e: unknown) => e instanceof Problem && e.status === 422 && /MAX_ANSWER_BYTES.*namespace=, node=.*protocol=, port=/.test(e.message),
    );
  }
});
