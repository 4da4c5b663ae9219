// Plain text for terminals and bots: the summary, then one line per hop — netns, in → out, and the decision with its reason.
// Every piece of the answer can hold a user's name, so each is shown with its control characters made visible.
import { decisionOf, isDrop, isExit, natOf, policiesOf, tooBig, tunnelOf } from './answer.js';
import { visible as v } from './escape.js';
import type { TraceAnswer } from '../answer/schema.js';

export function renderText(a: TraceAnswer): string {
  const rows = a.hops.map((hop, i) => {
    const step = decisionOf(hop);
    const mark = isDrop(step) ? '✗ ' : isExit(step) ? '↗ ' : step?.type === 'DELIVER' ? '✓ ' : '';
    const tunnel = tunnelOf(hop);
    const nat = natOf(hop);
    const after = [nat, tunnel].filter((x) => x !== undefined).map((x) => ` ⇒ ${v(x)}`).join('');
    return [`${i + 1}.`, v(hop.netns), `${v(hop.in ?? '-')} → ${v(hop.out ?? '-')}`, `${mark}${v(step?.explanation ?? '')}${after}`];
  });
  const width = (c: number) => Math.max(...rows.map((r) => r[c]!.length));
  const lines = rows.flatMap((r, i) => [
    [r[0]!.padStart(width(0)), r[1]!.padEnd(width(1)), r[2]!.padEnd(width(2)), r[3]].join('  '),
    // NetworkPolicy's verdicts on their own lines under the hop: a denial's reason is in them, not in the DROP.
    ...policiesOf(a.hops[i]!).map((p) => `${' '.repeat(width(0) + width(1) + width(2) + 6)}${p.verdict === 'DENIED' ? '✗' : '✓'} policy: ${v(p.explanation ?? '')}`),
  ]);
  const extra = (a.paths?.length ?? 0) > 1 ? [`(${a.paths!.length} ECMP paths; the worst is shown: ${a.paths!.map((p) => p.disposition).join(', ')})`] : [];
  const ecmp = a.ecmp === undefined ? [] : [a.ecmp.path !== null ? `(ECMP: the kernel takes path ${a.ecmp.path + 1})` : `(ECMP: ${v(a.ecmp.note)})`];
  const mtu = tooBig(a);
  const notes = a.notes.map((n) => `note: ${v(n)}`);
  return [v(a.summary), ...lines, ...extra, ...ecmp, ...(mtu ? [`MTU: ${v(mtu)}`] : []), ...notes].join('\n') + '\n';
}
