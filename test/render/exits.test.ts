// A packet that leaves the modelled network through its gateway is no failure: no renderer may show it with the marks
// of a drop (a red "dropped" box, ✗, ❌, :x:), while a real drop keeps them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TraceAnswer } from '../../src/answer/schema.js';
import { renderText } from '../../src/render/text.js';
import { renderMarkdown } from '../../src/render/markdown.js';
import { renderMermaid } from '../../src/render/mermaid.js';
import { renderSvg } from '../../src/render/svg.js';
import { openTestApp, type TestApp } from '../helpers/app.js';
import { example } from '../helpers/examples.js';
import { slackCommand } from '../helpers/slack.js';

const SECRET = 'exits-test-signing-secret-0123456789';
let t: TestApp;
let exits: TraceAnswer;
let dropped: TraceAnswer;
before(async () => {
  t = await openTestApp({ slackSigningSecret: SECRET });
  const doc = example('two-nodes');
  doc.cluster!.network = { cidr: '192.168.0.0/24', gateway: '192.168.0.1' };
  await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: doc });
  exits = (await t.app.inject('/v1/topologies/two-nodes/trace?from=pod-a1&to=8.8.8.8')).json();
  dropped = (await t.app.inject('/v1/topologies/two-nodes/trace?from=pod-a1&to=10.1.2.99')).json();
  assert.equal(exits.disposition, 'EXITS_NETWORK');
  assert.equal(dropped.disposition, 'NEIGHBOR_UNREACHABLE');
});
after(() => t.close());

test('text: the hop where the packet leaves is marked ↗, not ✗', () => {
  const last = renderText(exits).trimEnd().split('\n').at(-1)!;
  assert.match(last, /^2\.\s+node-a\s+veth\w+ → eth0\s+↗ the packet leaves the modelled network through 192\.168\.0\.1$/);
  assert.doesNotMatch(renderText(exits), /✗/);
  assert.match(renderText(dropped), /✗ nobody on cbr0/);
});

test('markdown: no ❌ and no DROP for a packet that leaves', () => {
  const md = renderMarkdown(exits);
  assert.match(md, /^↗️ \*\*EXITS_NETWORK\*\* — /);
  assert.match(md, /\| 2 \| `node-a` \| veth\w+ → eth0 \| EXIT: the packet leaves the modelled network/);
  assert.doesNotMatch(md, /❌|DROP/);
  assert.match(renderMarkdown(dropped), /^❌ /);
});

test('mermaid: the result is styled as an exit and no hop as a drop', () => {
  const m = renderMermaid(exits);
  assert.match(m, /class result exit\n/);
  assert.doesNotMatch(m, /class h\d+ drop/);
});

test('SVG: blue, no drop box, the hop says it leaves the network', () => {
  const svg = renderSvg(exits);
  assert.doesNotMatch(svg, /#c62828|#fde0dc|>dropped</);
  assert.match(svg, />leaves the network</);
  assert.match(svg, /fill="#1565c0">EXITS_NETWORK</);
  assert.match(renderSvg(dropped), /fill="#fde0dc" stroke="#c62828"/);
});

test('Slack: the verdict is an arrow out, not :x:', async () => {
  const res = await slackCommand(t.app, SECRET, 'two-nodes pod-a1 8.8.8.8');
  const msg = res.json();
  assert.match(msg.blocks[0].text.text, /^:arrow_upper_right: \*EXITS_NETWORK\* /);
  assert.doesNotMatch(msg.blocks[1].text.text, /✗/);
});
