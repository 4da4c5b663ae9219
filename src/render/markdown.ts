// Markdown for Slack, Teams and Mattermost: a bold summary and a table of hops. Everything taken from the answer is
// escaped (escape.ts): a name must not break the table, turn into formatting, a link or HTML.
import { decisionOf, isExit, natOf, outcomeOf, tooBig, tunnelOf } from './answer.js';
import { markdown as cell, markdownCode } from './escape.js';
import type { TraceAnswer } from '../answer/schema.js';

export function renderMarkdown(a: TraceAnswer): string {
  const head = `${{ delivered: '✅', exits: '↗️', failed: '❌' }[outcomeOf(a)]} **${a.disposition}** — ${cell(a.summary.slice(a.summary.indexOf(':') + 1).trim())}`;
  const rows = a.hops.map((hop, i) => {
    const step = decisionOf(hop);
    const after = [natOf(hop), tunnelOf(hop)].filter((x) => x !== undefined).map((x) => ` ⇒ ${cell(x)}`).join('');
    const decision = `${step ? `${isExit(step) ? 'EXIT' : step.type}: ${cell(step.explanation)}` : ''}${after}`;
    return `| ${i + 1} | ${markdownCode(hop.netns)} | ${cell(hop.in ?? '–')} → ${cell(hop.out ?? '–')} | ${decision} |`;
  });
  const mtu = tooBig(a);
  const notes = [...(mtu ? [`> ⚠️ MTU: ${cell(mtu)}`] : []), ...a.notes.map((n) => `> note: ${cell(n)}`)];
  return [head, '', '| # | netns | in → out | decision |', '|---|---|---|---|', ...rows, ...(notes.length ? ['', ...notes] : [])].join('\n') + '\n';
}
