// Markdown for Slack, Teams and Mattermost: a bold summary and a table of hops, or a list where tables are not shown.
// Everything taken from the answer is escaped (escape.ts): a name must not break the table, turn into formatting, a link
// or HTML.
import { decisionOf, isExit, natOf, outcomeOf, policiesOf, tooBig, tunnelOf } from './answer.js';
import { markdown as cell, markdownCode } from './escape.js';
import type { TraceAnswer } from '../answer/schema.js';

/**
 * `table` for the chats and trackers that show GitHub's tables (Teams, Mattermost, GitHub, GitLab); `list` for those that
 * show none and would print the pipes (Slack, CommonMark renderers): a numbered line per hop.
 */
export type MarkdownLayout = 'table' | 'list';

export function renderMarkdown(a: TraceAnswer, layout: MarkdownLayout = 'table'): string {
  const head = `${{ delivered: '✅', exits: '↗️', failed: '❌' }[outcomeOf(a)]} **${a.disposition}** — ${cell(a.summary.slice(a.summary.indexOf(':') + 1).trim())}`;
  const hops = a.hops.map((hop) => {
    const step = decisionOf(hop);
    const after = [natOf(hop), tunnelOf(hop)].filter((x) => x !== undefined).map((x) => ` ⇒ ${cell(x)}`).join('');
    const policies = policiesOf(hop).map((p) => `<br>POLICY: ${cell(p.explanation)}`).join('');
    const decision = `${step ? `${isExit(step) ? 'EXIT' : step.type}: ${cell(step.explanation)}` : ''}${after}${policies}`;
    return { netns: markdownCode(hop.netns), through: `${cell(hop.in ?? '–')} → ${cell(hop.out ?? '–')}`, decision };
  });
  const body =
    layout === 'table'
      ? ['| # | netns | in → out | decision |', '|---|---|---|---|', ...hops.map((h, i) => `| ${i + 1} | ${h.netns} | ${h.through} | ${h.decision} |`)]
      : hops.map((h, i) => `${i + 1}. ${h.netns} (${h.through}) ${h.decision}`);
  const mtu = tooBig(a);
  const notes = [...(mtu ? [`> ⚠️ MTU: ${cell(mtu)}`] : []), ...a.notes.map((n) => `> note: ${cell(n)}`)];
  return [head, '', ...body, ...(notes.length ? ['', ...notes] : [])].join('\n') + '\n';
}
