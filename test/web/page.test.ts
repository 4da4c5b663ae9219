// The page at `/`, used the way a person uses it, in Chromium (playwright-core driving the distribution's browser),
// against the service listening on a real port and asking for a bearer token: paste the token, trace a pair and read
// the diagram and the text, open a hop, open a matrix cell, compare two revisions, run a what-if. Screenshots are kept
// under test-artifacts/web/ for a person to look at; the page must log no error on the way. The timeout leaves
// room for a busy host (47 s were measured with a load average of 25 on two cores).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { openTestApp, type TestApp } from '../helpers/app.js';
import { example } from '../helpers/examples.js';
import { launch, noBrowser } from '../helpers/browser.js';
import { TokenVerifier, parseTokens } from '../../src/auth/tokens.js';
import { compileTopology } from '../../src/engine/topology.js';
import { materialise } from '../../src/engine/materialise.js';
import { checkTopology } from '../../src/topology/validate.js';

const ARTIFACTS = new URL('../../test-artifacts/web/', import.meta.url).pathname;
const READER = 'web-test-reader-token-0123456789';
const WRITER = 'web-test-writer-token-0123456789';

let t: TestApp;
let base: string;
let browser: Browser;
let page: Page;
const problems: string[] = [];

before(async () => {
  if (noBrowser) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  t = await openTestApp({ auth: { tokens: new TokenVerifier(parseTokens(`reader:read:${READER},writer:write:${WRITER}`, 'AUTH_TOKENS'), undefined), jwt: undefined } });
  const write = { authorization: `Bearer ${WRITER}` };
  // Revision 1: the seed's two nodes, as the fabric they compile to; revision 2: node-a lost its route to node-b's pods.
  const doc = example('two-nodes');
  doc.cluster!.network = { cidr: '192.168.0.0/24', gateway: '192.168.0.1' };
  const fabric = materialise(compileTopology(checkTopology({ cluster: doc.cluster })).fabric);
  let res = await t.app.inject({ method: 'POST', url: '/v1/topologies', headers: write, payload: { name: 'two-nodes', fabric } });
  assert.equal(res.statusCode, 201, res.body);
  const broken = structuredClone(fabric);
  const nodeA = broken.netns.find((ns) => ns.name === 'node-a')!;
  nodeA.routes = nodeA.routes!.filter((r) => r.dst !== '10.1.2.0/24');
  res = await t.app.inject({ method: 'PUT', url: '/v1/topologies/two-nodes', headers: write, payload: { fabric: broken } });
  assert.equal(res.statusCode, 200, res.body);
  // Services behind kube-proxy, and a NetworkPolicy that admits to default's pods only default's own.
  const services = example('services');
  services.cluster!.networkPolicies = [
    { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'from-default', namespace: 'default' }, spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }] }] } },
  ];
  res = await t.app.inject({ method: 'POST', url: '/v1/topologies', headers: write, payload: { ...services, name: 'services' } });
  assert.equal(res.statusCode, 201, res.body);
  // More pods than the page draws one by one: 450 in nine namespaces on two nodes; in ns-8 the pods labelled db
  // (every other one) admit only their own namespace, so a block of the overview can be mixed.
  const many = example('two-nodes');
  many.cluster!.pods = Array.from({ length: 450 }, (_, k) => ({
    namespace: `ns-${k % 9}`,
    name: `p-${String(k).padStart(3, '0')}`,
    nodeName: k < 225 ? 'node-a' : 'node-b',
    podIPs: [{ ip: `10.1.${k < 225 ? 1 : 2}.${(k % 225) + 2}` }],
    ...(k % 9 === 8 && k % 2 === 0 ? { labels: { app: 'db' } } : {}),
  }));
  many.cluster!.networkPolicies = [
    { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'db', namespace: 'ns-8' }, spec: { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }] }] } },
  ];
  res = await t.app.inject({ method: 'POST', url: '/v1/topologies', headers: write, payload: { name: 'many', cluster: many.cluster } });
  assert.equal(res.statusCode, 201, res.body);
  base = await t.app.listen({ host: '127.0.0.1', port: 0 });

  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    // The first calls, before the token is pasted, are answered 401 on purpose; Chromium logs every such answer.
    if (/status of 401/.test(message.text())) return;
    problems.push(`console: ${message.text()}`);
  });
});

after(async () => {
  await browser?.close();
  await t?.close();
});

const shot = (name: string) => page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });

test('the page: token, trace, hop, matrix cell, diff and what-if, without a console error', { skip: noBrowser, timeout: 120_000 }, async () => {
  // Loaded without a token: the page says what it needs and puts the cursor in the token field.
  await page.goto(`${base}/?topology=two-nodes`);
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent() ?? '', /asks for a token/);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'token');
  await page.getByLabel('Bearer token').fill(READER);
  await page.getByRole('button', { name: 'Use token' }).click();
  await page.locator('#topology option[value="two-nodes"]').waitFor({ state: 'attached' });
  assert.equal(await alert.isHidden(), true);
  assert.equal(await page.evaluate((key) => sessionStorage.getItem(key), 'pathtrace-token'), READER);

  // Completion offers the topology's pods, nodes and addresses (once the topology's document has been read).
  await page.locator('#endpoints option[value="default/pod-a1"]').waitFor({ state: 'attached' });
  const names = await page.locator('#endpoints option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  for (const name of ['default/pod-a1', 'default/pod-b1', 'node-a', '10.1.2.2']) assert.ok(names.includes(name), `${name} is offered`);

  // A trace on revision 1: the diagram, the text, the URL.
  await page.getByLabel('Revision', { exact: true }).selectOption('1');
  await page.getByLabel('From', { exact: true }).fill('default/pod-a1');
  await page.getByLabel('To', { exact: true }).fill('default/pod-b1');
  await page.getByRole('button', { name: 'Trace', exact: true }).click();
  await page.locator('#diagram svg').waitFor();
  assert.match(await page.locator('#summary').textContent() ?? '', /^DELIVERED: default\/pod-a1 \(10\.1\.1\.2\) → default\/pod-b1/);
  assert.equal(await page.locator('#diagram g.hop').count(), 4);
  assert.match(await page.locator('#text').textContent() ?? '', /\n4\.\s+default\/pod-b1\s+eth0 → -\s+✓ /);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('from'), 'default/pod-a1');
  assert.equal(url.searchParams.get('revision'), '1');

  // A hop opened from the keyboard lists every step it took, each with its explanation.
  await page.locator('#diagram g.hop[data-hop="1"]').focus();
  await page.keyboard.press('Enter');
  const detail = page.locator('#hop-detail');
  assert.match(await detail.locator('h3').textContent() ?? '', /^Hop 2: node-a/);
  await detail.locator('li').first().waitFor();
  const steps = await detail.locator('li').allTextContents();
  assert.ok(steps.some((s) => /^ROUTE 10\.1\.2\.0\/24 via 192\.168\.0\.12 dev eth0 is the longest prefix/.test(s)), steps.join('\n'));
  await shot('1-trace');

  // The link holds the query: opened afresh, it shows the same trace.
  const shared = await browser.newPage();
  await shared.addInitScript((token) => sessionStorage.setItem('pathtrace-token', token), READER);
  await shared.goto(page.url());
  await shared.locator('#diagram svg').waitFor();
  assert.equal(await shared.locator('#summary').textContent(), await page.locator('#summary').textContent());
  await shared.close();

  // The matrix of revision 1, grouped by node: a letter in every cell, a label per cell; a cell opens its trace.
  await page.getByLabel('Group by').selectOption('node');
  await page.getByRole('button', { name: 'Show the matrix' }).click();
  const cells = page.locator('#matrix td');
  await cells.first().waitFor();
  assert.equal(await cells.count(), 9, '3 pods: in a fabric, kube-proxy-a is its node');
  assert.equal(await page.locator('#matrix th.group').count(), 2, 'a band per node');
  const toB1 = page.getByRole('gridcell', { name: 'default/pod-a2 → default/pod-b1: DELIVERED' });
  assert.equal(await toB1.textContent(), 'D');
  await toB1.hover();
  await page.locator('#cell-info').filter({ hasText: 'Decided by default/pod-a2 → node-a → node-b → default/pod-b1' }).waitFor();
  await shot('2-matrix');
  await toB1.click();
  await page.locator('#summary').filter({ hasText: 'default/pod-a2 (10.1.1.3) → default/pod-b1' }).waitFor();
  assert.equal(await page.getByLabel('From', { exact: true }).inputValue(), 'default/pod-a2');

  // The diff from revision 1 to 2: the pairs to node-b's pod now leave by the default route, listed and marked on the matrix.
  await page.getByLabel('From revision').selectOption('1');
  await page.getByLabel('to revision').selectOption('2');
  await page.getByRole('button', { name: 'Compare' }).click();
  const result = page.locator('#diff-result');
  await result.locator('h3').waitFor();
  assert.match(await result.locator('h3').textContent() ?? '', /^Revision 1 → 2: 2 pairs changed outcome/);
  const listed = await result.locator('li').allTextContents();
  assert.deepEqual(listed.sort(), ['default/pod-a1 → default/pod-b1: DELIVERED → EXITS_NETWORK', 'default/pod-a2 → default/pod-b1: DELIVERED → EXITS_NETWORK']);
  assert.equal(await page.locator('#matrix td.changed').count(), 2);
  assert.match(await page.locator('#matrix td.changed').first().getAttribute('aria-label') ?? '', /changed from DELIVERED \(revision 1\) to EXITS_NETWORK \(revision 2\)/);
  await shot('3-diff');

  // What if node-b's eth0 went down (on revision 1): every pair to or from node-b's pod changes.
  await page.getByLabel(/What if/).fill('[{"op": "link-down", "netns": "node-b", "link": "eth0"}]');
  await page.getByRole('button', { name: 'Run the what-if on the matrix' }).click();
  await result.locator('h3').filter({ hasText: 'What if' }).waitFor();
  assert.match(await result.locator('h3').textContent() ?? '', /^What if: 4 of 6 pairs would change outcome/);
  assert.equal(await page.locator('#matrix td.changed').count(), 4);
  await shot('4-whatif');

  assert.deepEqual(problems, []);
});

test('Services and NetworkPolicy: the DNAT drawn, the denial marked, DENIED cells apart; 450 pods as an overview opened from the keyboard', { skip: noBrowser, timeout: 120_000 }, async () => {
  await page.goto(`${base}/`);
  await page.evaluate(([key, token]) => sessionStorage.setItem(key!, token!), ['pathtrace-token', READER]);
  // The trace requests the page makes, to see what it fetches when.
  const traces: URL[] = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.pathname.endsWith('/trace')) traces.push(url);
  });

  // A pod to a Service, from a link: kube-proxy's DNAT is written in node-a's box.
  await page.goto(`${base}/?topology=services&from=default/pod-a1&to=svc/default/web&protocol=tcp&port=80`);
  await page.locator('#diagram svg').waitFor();
  assert.match(await page.locator('#summary').textContent() ?? '', /^DELIVERED: default\/pod-a1 \(10\.1\.1\.2\) → svc\/default\/web \(10\.96\.100\.1\)/);
  await page.locator('#endpoints option[value="svc/default/web"]').waitFor({ state: 'attached' });
  const names = await page.locator('#endpoints option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  for (const name of ['svc/default/web', '10.96.100.1', 'svc/kube-system/kube-dns']) assert.ok(names.includes(name), `${name} is offered`);
  assert.match(await page.locator('#diagram g.hop[data-hop="1"]').textContent() ?? '', /DNAT 10\.1\.2\.3:8080/);
  // What was fetched: the diagram, the text and the hops without their prose; the explanations come with the first hop
  // opened, once for every hop.
  const asked = () => traces.map((u) => u.searchParams.get('format') ?? `json ${u.searchParams.get('detail') ?? 'full'}`).sort();
  assert.deepEqual(asked(), ['json hops', 'svg', 'text']);
  await page.locator('#diagram g.hop[data-hop="1"]').click();
  const detail = page.locator('#hop-detail');
  await detail.locator('li').first().waitFor();
  assert.ok((await detail.locator('li').allTextContents()).some((li) => /^DNAT 10\.96\.100\.1:80 is the ClusterIP of default\/web:http \(TCP\)/.test(li)));
  await page.locator('#diagram g.hop[data-hop="2"]').click();
  await detail.locator('h3', { hasText: /^Hop 3: node-b/ }).waitFor();
  await detail.locator('li').first().waitFor();
  assert.deepEqual(asked(), ['json full', 'json hops', 'svg', 'text']);
  await shot('5-service');

  // From kube-system the Service's endpoint is refused by the policy: the drop box and the policy named under it.
  await page.getByLabel('From', { exact: true }).fill('kube-system/coredns-a');
  await page.getByRole('button', { name: 'Trace', exact: true }).click();
  await page.locator('#summary', { hasText: /^DENIED at default\/web-b1: / }).waitFor();
  assert.equal(await page.locator('#summary').getAttribute('class'), 'summary failed');
  const last = page.locator('#diagram g.hop').last();
  assert.equal(await last.locator('rect').getAttribute('fill'), '#fde0dc', 'the drop box');
  assert.ok((await page.locator('#diagram text').allTextContents()).some((t) => t.startsWith('ingress denied (default/from-def')), 'the policy under the box');
  await last.click();
  await detail.locator('li', { hasText: /^POLICY ingress: kube-system\/coredns-a → default\/web-b1 \(TCP\/8080\) is denied/ }).waitFor();
  await shot('6-denied');

  // The matrix of TCP to port 80: the denied pairs are P, in a colour of their own; a cell traces as the matrix asked.
  await page.locator('#m-protocol').selectOption('tcp');
  await page.locator('#m-port').fill('80');
  await page.getByLabel('Group by').selectOption('namespace');
  await page.getByRole('button', { name: 'Show the matrix' }).click();
  const denied = page.locator('#matrix td.o-P');
  await denied.first().waitFor();
  assert.equal(await denied.count(), 4, 'kube-system\'s two pods to default\'s two');
  assert.deepEqual(await denied.allTextContents(), ['P', 'P', 'P', 'P']);
  assert.match(await page.locator('#legend').textContent() ?? '', /DENIED \(4\)/);
  const colour = (cell: string) => page.locator(cell).first().evaluate((e) => getComputedStyle(e).backgroundColor);
  const deniedColour = await colour('#matrix td.o-P');
  assert.notEqual(deniedColour, await colour('#matrix td.o-D'));
  assert.notEqual(deniedColour, await colour('.legend .o-D'));
  const cell = page.getByRole('gridcell', { name: 'kube-system/coredns-b → default/pod-a1: DENIED' });
  await shot('7-matrix-denied');
  await cell.click();
  await page.locator('#summary', { hasText: /^DENIED at default\/pod-a1: kube-system\/coredns-b/ }).waitFor();
  assert.equal(await page.locator('#protocol').inputValue(), 'tcp');
  assert.equal(await page.locator('#port').inputValue(), '80');

  // 450 pods: an overview of namespaces, blocks counted by outcome, opened and closed from the keyboard.
  await page.locator('#topology').selectOption('many');
  await page.locator('#topology-info', { hasText: '450 pods' }).waitFor();
  await page.locator('#m-protocol').selectOption('icmp');
  await page.getByRole('button', { name: 'Show the matrix' }).click();
  const blocks = page.locator('#matrix table.overview td');
  await blocks.first().waitFor();
  assert.equal(await blocks.count(), 81);
  const mixed = page.getByRole('gridcell', { name: 'namespace ns-0 (50 pods) → namespace ns-8 (50 pods): 2500 pairs, 1250 DELIVERED, 1250 DENIED' });
  assert.equal(await mixed.textContent(), 'DP');
  assert.match(await mixed.getAttribute('class') ?? '', /\bmixed\b/);
  assert.equal(await page.getByRole('gridcell', { name: /^namespace ns-8 \(50 pods\) → namespace ns-8 \(50 pods\): 2450 pairs, 2450 DELIVERED$/ }).textContent(), 'D');
  await shot('8-overview');
  await blocks.first().focus();
  await page.keyboard.press('End');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), await mixed.getAttribute('aria-label'));
  await page.keyboard.press('Enter');
  await page.locator('#matrix-zoom', { hasText: 'Showing namespace ns-0 → namespace ns-8 (50 × 50 pods)' }).waitFor();
  assert.equal(await page.locator('#matrix td').count(), 50 * 50);
  assert.equal(await page.locator('#matrix td.o-P').count(), 50 * 25);
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-r')), '0', 'the first pair has the focus');
  await page.keyboard.press('ArrowDown');
  assert.match(await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? ''), /^ns-0\/p-009 → ns-8\/p-008: DENIED$/);
  await shot('9-zoomed');
  await page.keyboard.press('Escape');
  await blocks.first().waitFor();
  assert.equal(await blocks.count(), 81);
  // Grouped by node: two nodes, four blocks.
  await page.getByLabel('Group by').selectOption('node');
  assert.equal(await blocks.count(), 4);
  assert.match(await blocks.nth(1).getAttribute('aria-label') ?? '', /^node node-a \(225 pods\) → node node-b \(225 pods\): 50625 pairs, /);

  assert.deepEqual(problems, []);
});
