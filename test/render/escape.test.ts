// The escaping helpers, one per output language, and the renderers that use them, on answers whose names were made hostile.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TraceAnswer } from '../../src/answer/schema.js';
import { clip, markdown, markdownCode, mermaid, slack, slackBlock, slackCode, visible, xml } from '../../src/render/escape.js';
import { renderHeatmap } from '../../src/render/heatmap.js';
import { renderMarkdown } from '../../src/render/markdown.js';
import { renderMermaid } from '../../src/render/mermaid.js';
import { renderSvg } from '../../src/render/svg.js';
import { renderText } from '../../src/render/text.js';
import { CONTROLS } from '../helpers/fabrics.js';
import { tracedAnswers } from '../helpers/traced.js';
import { parseXml } from '../helpers/xml.js';

const XML_BREAKERS = `<a href="x">&amp; ]]> '${CONTROLS}\ud800\udfff\ufffe\uffff\udc00x\ud800`;

let dropped: TraceAnswer;
before(async () => {
  [dropped] = await tracedAnswers(['from=pod-a1&to=10.1.2.99']);
});

/** The answer with every netns, node and link name replaced by `name`. */
function renamed(a: TraceAnswer, name: string): TraceAnswer {
  const copy = structuredClone(a);
  for (const hop of copy.hops) {
    hop.netns = name;
    if (hop.node !== undefined) hop.node = name;
    if (hop.in !== undefined) hop.in = name;
    if (hop.out !== undefined) hop.out = name;
    for (const step of hop.steps) step.explanation = `${step.explanation} in ${name}`;
  }
  copy.summary = `${copy.summary} ${name}`;
  return copy;
}

test('visible: what acts on a terminal is shown as a \\u escape; everything else is left alone', () => {
  assert.equal(visible('a\u001b[31mb\u0007\r\n\t'), 'a\\u001b[31mb\\u0007\\u000d\\u000a\\u0009');
  assert.equal(visible('\u009b2J\u202eevil\u2066'), '\\u009b2J\\u202eevil\\u2066');
  assert.equal(visible('x\ud800y\udc00'), 'x\\ud800y\\udc00', 'surrogates outside a pair');
  assert.equal(visible('pod-ü 😀 → café'), 'pod-ü 😀 → café', 'a pair is one character');
});

test('clip never leaves half a surrogate pair', () => {
  assert.equal(clip(`${'a'.repeat(38)}😀😀`, 40), `${'a'.repeat(38)}😀😀`);
  assert.equal(clip(`${'a'.repeat(38)}😀😀z`, 40), `${'a'.repeat(38)}😀…`);
  assert.equal(clip(`${'a'.repeat(39)}😀😀`, 40), `${'a'.repeat(39)}…`);
});

test('xml: the result is character data a conforming parser reads back as the visible text', () => {
  const escaped = xml(XML_BREAKERS);
  assert.equal(parseXml(`<t a="${escaped}" b='${escaped}'>${escaped}</t>`), visible(XML_BREAKERS));
});

test('markdown: punctuation that formats, links or ends a cell is backslash-escaped', () => {
  assert.equal(markdown('*b* _i_ ~s~ `c` [l](x) <b> &amp; a|b \\'), '\\*b\\* \\_i\\_ \\~s\\~ \\`c\\` \\[l\\](x) \\<b\\> \\&amp; a\\|b \\\\');
  assert.equal(markdown('a\nb'), 'a\\\\u000ab');
});

test('markdownCode: the fence is longer than any backtick run, and a backtick at an edge is padded', () => {
  assert.equal(markdownCode('pod-a'), '`pod-a`');
  assert.equal(markdownCode('a``b`c'), '```a``b`c```');
  assert.equal(markdownCode('`x'), '`` `x ``');
  assert.equal(markdownCode(' x '), '`  x  `', 'CommonMark strips one space from each side');
  assert.equal(markdownCode('a|b'), '`a\\|b`');
});

test('slack: &, < and > become entities; in code, a backtick becomes a look-alike that cannot end the span', () => {
  assert.equal(slack('<!channel> <https://evil|x> & *b*'), '&lt;!channel&gt; &lt;https://evil|x&gt; &amp; *b*');
  assert.equal(slackCode('a`b <@U1>'), '`aˋb &lt;@U1&gt;`');
  assert.equal(slackBlock(['```x```', 'y'], 3000), '```ˋˋˋxˋˋˋ\ny```');
});

test('slackBlock keeps whole lines within the limit and says how many it dropped', () => {
  const block = slackBlock(['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40), 'd'.repeat(40)], 100);
  assert.ok(block.length <= 100);
  assert.equal(block, `\`\`\`${'a'.repeat(40)}\n… 3 more lines\`\`\``);
});

test('mermaid: a line break or bracket in a name does not end the label or the statement', () => {
  assert.equal(mermaid('a"b]\nc'), 'a#quot;b \\u000ac');
  const chart = renderMermaid(renamed(dropped, 'x"]\n  click h0 "https://evil"'));
  assert.ok(chart.split('\n').every((line) => !line.startsWith('  click')), chart);
});

test('renderSvg and renderHeatmap: well-formed XML with any name', () => {
  const name = `${XML_BREAKERS} ${'x'.repeat(30)}`;
  const svg = renderSvg(renamed(dropped, name));
  assert.ok(parseXml(svg).includes(visible(XML_BREAKERS).slice(0, 20)));
  const heatmap = renderHeatmap({
    endpoints: [{ name }, { name: `${'a'.repeat(38)}😀😀😀` }, { name: CONTROLS }],
    legend: { D: 'DELIVERED' },
    rows: ['-DD', 'D-D', 'DD-'],
    counts: { DELIVERED: 6 },
    title: `${name} revision 1`,
  });
  const text = parseXml(heatmap);
  assert.ok(text.includes(`${'a'.repeat(38)}😀…`), 'a label is cut between characters');
  assert.ok(text.includes(visible(CONTROLS).slice(0, 30)));
});

test('renderText: control characters in any field are shown, not sent', () => {
  const out = renderText(renamed(dropped, `evil\u001b]0;pwned\u0007\r\u001b[2K`));
  assert.doesNotMatch(out, /[\u0000-\u0009\u000b-\u001f]/);
  assert.ok(out.includes('evil\\u001b]0;pwned\\u0007\\u000d\\u001b[2K'));
  assert.equal(out.trimEnd().split('\n').length, 1 + dropped.hops.length);
});

test('renderMarkdown: a backtick in the netns stays inside its code span', () => {
  const md = renderMarkdown(renamed(dropped, 'a`|b'));
  assert.ok(md.includes('| ``a`\\|b`` |'), md);
});
