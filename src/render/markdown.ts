// Markdown for Slack, Teams and Mattermost: a bold summary and a table of hops. Table cells escape the characters that
// would break the table or turn into formatting.
import { decisionOf, ok, tooBig, tunnelOf } from './answer.js';
import type { TraceAnswer } from '../answer/schema.js';

const cell = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/([*_`])/g, '\\$1').replace(/\n/g, ' ');

export function renderMarkdown(a: TraceAnswer): string {
  const head = `${ok(a) ? '✅' : '❌'} **${a.disposition}** — ${cell(a.summary.slice(a.summary.indexOf(':') + 1).trim())}`;
  const rows = a.hops.map((hop, i) => {
    const step = decisionOf(hop);
    const tunnel = tunnelOf(hop);
    const decision = `${step ? `${step.type}: ${cell(step.explanation)}` : ''}${tunnel ? ` ⇒ ${cell(tunnel)}` : ''}`;
    return `| ${i + 1} | \`${hop.netns}\` | ${cell(hop.in ?? '–')} → ${cell(hop.out ?? '–')} | ${decision} |`;
  });
  const mtu = tooBig(a);
  const notes = [...(mtu ? [`> ⚠️ MTU: ${cell(mtu)}`] : []), ...a.notes.map((n) => `> note: ${cell(n)}`)];
  return [head, '', '| # | netns | in → out | decision |', '|---|---|---|---|', ...rows, ...(notes.length ? ['', ...notes] : [])].join('\n') + '\n';
}
