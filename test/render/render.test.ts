import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TraceAnswer } from '../../src/answer/schema.js';
import { renderText } from '../../src/render/text.js';
import { renderMarkdown } from '../../src/render/markdown.js';
import { renderMermaid } from '../../src/render/mermaid.js';
import { tracedAnswers } from '../helpers/traced.js';
import { example } from '../helpers/examples.js';
import { compileTopology } from '../../src/engine/topology.js';
import { checkTopology } from '../../src/topology/validate.js';
import { answerFlow } from '../../src/answer/flow.js';
import { traceFlows } from '../../src/answer/batch.js';
import { renderSvg } from '../../src/render/svg.js';

let delivered: TraceAnswer;
let dropped: TraceAnswer;
before(async () => {
  [delivered, dropped] = await tracedAnswers(['from=pod-a1&to=pod-b1', 'from=pod-a1&to=10.1.2.99']);
});

test('text: the summary first, then one line per hop with netns, in → out and the reason', () => {
  const lines = renderText(delivered).trimEnd().split('\n');
  assert.equal(lines[0], delivered.summary);
  assert.equal(lines.length, 1 + delivered.hops.length);
  assert.match(lines[1]!, /^1\.\s+default\/pod-a1\s+- → eth0\s+default via 10\.1\.1\.1 dev eth0/);
  assert.match(lines[2]!, /^2\.\s+node-a\s+veth\w+ → eth0\s+10\.1\.2\.0\/24 via 192\.168\.0\.12 dev eth0 is the longest prefix/);
  assert.match(lines[4]!, /^4\.\s+default\/pod-b1\s+eth0 → -\s+✓ 10\.1\.2\.2 is an address of default\/pod-b1/);
  const drop = renderText(dropped).trimEnd().split('\n');
  assert.match(drop[0]!, /^NEIGHBOR_UNREACHABLE at node-b/);
  assert.match(drop[3]!, /^3\.\s+node-b\s+eth0 → cbr0\s+✗ nobody on cbr0's layer-2 domain owns 10\.1\.2\.99/);
});

test('markdown: a bold verdict and a table whose cells cannot break out', () => {
  const md = renderMarkdown(dropped);
  const lines = md.trimEnd().split('\n');
  assert.match(lines[0]!, /^❌ \*\*NEIGHBOR_UNREACHABLE\*\* — /);
  assert.equal(lines[2], '| # | netns | in → out | decision |');
  assert.equal(lines.filter((l) => l.startsWith('| ')).length, 1 + dropped.hops.length);
  assert.match(lines[6]!, /^\| 3 \| `node-b` \| eth0 → cbr0 \| DROP: nobody on cbr0's layer-2 domain/);
  const hostile = structuredClone(delivered);
  hostile.hops[0]!.steps[1]!.explanation = 'a | b *c* `d`';
  assert.match(renderMarkdown(hostile), /a \\\| b \\\*c\\\* \\`d\\`/);
});

test('markdown as a list, for chats without tables: one numbered line per hop, nothing a table needs, as escaped', () => {
  const lines = renderMarkdown(dropped, 'list').trimEnd().split('\n');
  assert.equal(lines[0], renderMarkdown(dropped).split('\n')[0]);
  assert.equal(lines[1], '');
  assert.deepEqual(lines.slice(2).map((l) => l.slice(0, 3)), dropped.hops.map((_, i) => `${i + 1}. `));
  assert.match(lines[4]!, /^3\. `node-b` \(eth0 → cbr0\) DROP: nobody on cbr0's layer-2 domain/);
  assert.ok(lines.every((l) => !l.startsWith('|')));
  const hostile = structuredClone(delivered);
  hostile.hops[0]!.steps[1]!.explanation = 'a | b *c* `d`';
  assert.match(renderMarkdown(hostile, 'list'), /^1\. `default\/pod-a1` \(– → eth0\) ROUTE: a \\\| b \\\*c\\\* \\`d\\`/m);
});

test('mermaid: a flowchart grouped by node, with labelled links and the drop marked', () => {
  const m = renderMermaid(dropped);
  assert.match(m, /^flowchart LR\n/);
  assert.match(m, /subgraph g0\["node-a"\]\n\s+h0\["default\/pod-a1<br\/>route default"\]\n\s+h1\["node-a<br\/>route 10\.1\.2\.0\/24"\]\n\s+end/);
  assert.match(m, /subgraph g1\["node-b"\]\n\s+h2\["node-b<br\/>drop"\]/);
  assert.match(m, /h0 -- "eth0 → veth\w+" --> h1/);
  assert.match(m, /h1 -- "eth0 → eth0" --> h2/);
  assert.match(m, /h2 --- result\(\["NEIGHBOR_UNREACHABLE"\]\)/);
  assert.match(m, /class result drop\n\s+class h2 drop/);
  assert.match(renderMermaid(delivered), /class result ok/);
});

test('a tunnel: the text line, the markdown cell and a thick Mermaid arrow name the device and the outer header', () => {
  const doc = example('calico-vxlan-two-nodes');
  const c = compileTopology(checkTopology({ cluster: doc.cluster }));
  const a = answerFlow(c, { name: doc.name, revision: 1 }, { from: 'pod-a1', to: 'pod-b1' });
  assert.match(renderText(a).split('\n')[2]!, /⇒ vxlan\.calico: UDP 4789 VNI 4096 to 192\.168\.0\.12$/);
  assert.match(renderMarkdown(a), /\| 2 \| `node-a` \|.* ⇒ vxlan\.calico: UDP 4789 VNI 4096 to 192\.168\.0\.12 \|/);
  assert.match(renderMermaid(a), /h1 == "eth0 → eth0<br\/>vxlan\.calico: UDP 4789 VNI 4096 to 192\.168\.0\.12" ==> h2/);
});

test("a bidirectional batch's reply through a Service: every format shows conntrack's UNNAT in the node that translated", () => {
  const doc = example('services');
  const c = compileTopology(checkTopology({ cluster: doc.cluster }));
  const topology = { name: doc.name, revision: 1 };
  const options = { bidirectional: true, maxBytes: 1 << 20 };
  // A pod to a ClusterIP: the reply is un-NATed in the client's node (its source back to the Service's address).
  const [plain] = traceFlows(c, topology, [{ from: 'pod-a1', to: 'svc/kube-system/kube-dns', port: 'dns', endpoint: '10.1.2.53' }], options).traces;
  const back = plain!.return as TraceAnswer;
  const at = back.hops.findIndex((h) => h.netns === 'node-a');
  assert.ok(at > 0, JSON.stringify(back.hops.map((h) => h.netns)));
  const line = renderText(back).trimEnd().split('\n')[1 + at]!;
  assert.match(line, /^\d\.\s+node-a\s.*⇒ UNNAT from 10\.96\.0\.10:53$/);
  assert.match(renderMarkdown(back), new RegExp(`\\| ${at + 1} \\| \`node-a\` \\|.* ⇒ UNNAT from 10\\.96\\.0\\.10:53 \\|`));
  assert.match(renderMermaid(back), new RegExp(`h${at}\\["node-a<br/>unnat from 10\\.96\\.0\\.10:53"\\]`));
  assert.match(renderSvg(back), />UNNAT from 10\.96\.0\.10:53</);
  // A hop with no translation shows none.
  assert.doesNotMatch(renderText(back).split('\n')[1]!, /UNNAT/);
  // An outside client to a NodePort under Cluster policy, masqueraded: the reply's destination goes back to the client.
  const cluster = structuredClone(doc.cluster)!;
  cluster.services!.find((s) => s.metadata.name === 'web')!.spec.externalTrafficPolicy = 'Cluster';
  const c2 = compileTopology(checkTopology({ cluster }));
  const [masq] = traceFlows(c2, topology, [{ from: '203.0.113.7', enter: 'node-b', to: '192.168.0.12', protocol: 'tcp', port: 30080 }], options).traces;
  const reply = masq!.return as TraceAnswer;
  const unnat = reply.hops.flatMap((h) => h.steps).find((s) => s.type === 'UNNAT');
  assert.ok(unnat !== undefined && unnat.type === 'UNNAT' && unnat.src !== undefined && unnat.dst !== undefined, JSON.stringify(reply.hops));
  assert.deepEqual([unnat.src.to, unnat.dst.to], ['192.168.0.12:30080', '203.0.113.7']);
  assert.match(renderText(reply), /\n\d\.\s+node-b\s.*⇒ UNNAT from 192\.168\.0\.12:30080 to 203\.0\.113\.7/);
});
