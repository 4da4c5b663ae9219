// Markdown for Slack, Teams and Mattermost: a bold summary and a table of hops. Everything taken from the answer is
// escaped (escape.ts): a name must not break the table, turn into formatting, a link or HTML.
import { decisionOf, ok, policiesOf, tooBig, tunnelOf } from './answer.js';
import { markdown as cell, markdownCode } from './escape.js';
import type { TraceAnswer } from '../answer/schema.js';

export function renderMarkdown(a: TraceAnswer): string {
  const head = `${ok(a) ? '✅' : '❌'} **${a.disposition}** — ${cell(a.summary.slice(a.summary.indexOf(':') + 1).trim())}`;
  const rows = a.hops.map((hop, i) => {
    const step = decisionOf(hop);
    const tunnel = tunnelOf(hop);
    const policies = policiesOf(hop).map((p) => `<br>POLICY: ${cell(p.explanation)}`).join('');
    const decision = `${step ? `${step.type}: ${cell(step.explanation)}` : ''}${tunnel ? ` ⇒ ${cell(tunnel)}` : ''}${policies}`;
    return `| ${i + 1} | ${markdownCode(hop.netns)} | ${cell(hop.in ?? '–')} → ${cell(hop.out ?? '–')} | ${decision} |`;
  });
  const mtu = tooBig(a);
  const notes = [...(mtu ? [`> ⚠️ MTU: ${cell(mtu)}`] : []), ...a.notes.map((n) => `> note: ${cell(n)}`)];
  return [head, '', '| # | netns | in → out | decision |', '|---|---|---|---|', ...rows, ...(notes.length ? ['', ...notes] : [])].join('\n') + '\n';
}
