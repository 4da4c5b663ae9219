// A fabric's names are the user's: a netns, a node or a link may be called `<!channel>`, hold Markdown, XML or a terminal
// escape sequence. Every output of the API shows such names as written and lets none of them act.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, type TestApp } from '../../helpers/app.js';
import { hostile } from '../../helpers/fabrics.js';
import { slackCommand } from '../../helpers/slack.js';
import { parseXml } from '../../helpers/xml.js';

const SECRET = 'hostile-names-signing-secret';
const TRACE = '/v1/topologies/hostile/trace?from=10.0.1.2&to=10.0.2.2';
// The controls a terminal acts on: everything in C0 and C1 but the line feed that ends each line of the output.
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/;

let t: TestApp;
before(async () => {
  t = await openTestApp({ slackSigningSecret: SECRET });
  const res = await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: { name: 'hostile', fabric: hostile } });
  assert.equal(res.statusCode, 201, res.body);
});
after(() => t.close());

test('text: control characters in names are shown as \\u escapes, never sent to the terminal', async () => {
  const res = await t.app.inject(`${TRACE}&format=text`);
  assert.equal(res.statusCode, 200);
  assert.doesNotMatch(res.body, RAW_CONTROL);
  assert.ok(res.body.includes('\\u001b[31m\\u009b\\u202e'), res.body);
  // One line per hop after the summary: a line feed in a name starts no line of its own.
  assert.equal(res.body.trimEnd().split('\n').length, 1 + 4);
  const batch = await t.app.inject({ method: 'POST', url: '/v1/topologies/hostile/traces?format=text', payload: { flows: [{ from: '10.0.1.2', to: '10.0.2.2' }] } });
  assert.equal(batch.statusCode, 200);
  assert.doesNotMatch(batch.body, RAW_CONTROL);
  assert.equal(batch.body.trimEnd().split('\n').length, 1);
});

test('markdown: names neither format, link, nor break the table or the netns code span', async () => {
  const res = await t.app.inject(`${TRACE}&format=markdown`);
  assert.equal(res.statusCode, 200);
  const md = res.body;
  assert.doesNotMatch(md, RAW_CONTROL);
  assert.ok(md.includes('\\<!channel\\> \\*b\\* \\_i\\_ \\~s\\~ \\`c\\` \\`\\`d\\`\\` \\<https://evil.invalid\\|docs\\> \\&amp; \\]\\]\\>'), md);
  const rows = md.split('\n').filter((l) => l.startsWith('| '));
  assert.equal(rows.length, 1 + 4, 'the header and one row per hop');
  for (const row of rows) assert.equal(row.match(/(?<!\\)\|/g)!.length, 5, `four cells: ${row}`);
  // The pod's name holds `` runs: its span is fenced by three backticks, which the name does not contain.
  assert.match(rows[1]!, /^\| 1 \| ```<&"\]\]>[^|]*\\\|docs>[^|]*\\\|p\\\| \[l\]\(x\)``` \| /);
});

test('SVG: the trace diagram and the heat map are well-formed XML whatever the names hold', async () => {
  const trace = await t.app.inject(`${TRACE}&format=svg`);
  assert.equal(trace.statusCode, 200);
  const text = parseXml(trace.body);
  assert.ok(text.includes('<!channel> *b*'), 'the names read as written');
  assert.ok(text.includes('\\u0001\\u0002'), 'controls are shown as escapes');
  const heatmap = await t.app.inject('/v1/topologies/hostile/reachability?format=svg');
  assert.equal(heatmap.statusCode, 200);
  assert.equal(heatmap.headers['content-type'], 'image/svg+xml; charset=utf-8');
  assert.ok(parseXml(heatmap.body).includes('<&"]]>\\ud800x\\udc00\\u0001'), 'the pod label, cut to 40 characters');
});

test('Slack: a name mentions nobody, hides no link, and is formatted nowhere', async () => {
  const res = await slackCommand(t.app, SECRET, 'hostile 10.0.1.2 10.0.2.2');
  assert.equal(res.statusCode, 200);
  const msg = res.json();
  const texts: string[] = [msg.text, msg.blocks[0].text.text, msg.blocks[1].text.text, msg.blocks[2].elements[0].text];
  for (const text of texts) {
    // Slack's control characters: a bare < or & would start a mention, a link or an entity.
    assert.doesNotMatch(text, /<|>|&(?!amp;|lt;|gt;)/, text);
    assert.doesNotMatch(text, RAW_CONTROL);
  }
  assert.ok(msg.text.includes('&lt;!channel&gt; *b*'), msg.text);
  // Names appear only where Slack formats nothing: the summary in inline code, the hops in a preformatted block.
  assert.match(msg.blocks[0].text.text, /^:white_check_mark: \*DELIVERED\* `[^`]+`$/);
  assert.ok(msg.blocks[0].text.text.includes('&lt;!channel&gt; *b* _i_ ~s~ ˋcˋ ˋˋdˋˋ &lt;https://evil.invalid|docs&gt; &amp;amp;'));
  const hops = msg.blocks[1].text.text;
  assert.match(hops, /^```[^`]+```$/);
  assert.ok(hops.length <= 3000, 'within the length Slack allows a section');
  // The hops' lines, long with the names' escapes, do not all fit: the last ones are dropped whole and counted.
  assert.match(hops, /^```1\. +&lt;&amp;"\]\]&gt;\\ud800x\\udc00\\u0001/);
  assert.match(hops, /\n… 1 more line```$/);
  assert.equal(msg.blocks[2].elements[0].text, 'topology hostile, revision 1');
});

test('Slack: names in a help answer are escaped too', async () => {
  const res = await slackCommand(t.app, SECRET, 'hostile <!channel> 10.0.2.2');
  const msg = res.json();
  assert.equal(msg.response_type, 'ephemeral');
  assert.doesNotMatch(msg.text, /<!channel>/);
  assert.match(msg.text, /&lt;!channel&gt;/);
});
