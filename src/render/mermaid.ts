// A Mermaid flowchart: hops as boxes grouped by node, the links between them as labelled arrows, the drop point marked.
import { decisionOf, hostOf, natOf, outcomeOf, policiesOf, policyLabel, routeDst, tunnelOf } from './answer.js';
import { mermaid as label } from './escape.js';
import type { TraceAnswer } from '../answer/schema.js';

export function renderMermaid(a: TraceAnswer): string {
  const lines = ['flowchart LR'];
  const ids = a.hops.map((_, i) => `h${i}`);
  const groups = new Map<string, number[]>();
  a.hops.forEach((hop, i) => groups.set(hostOf(hop), [...(groups.get(hostOf(hop)) ?? []), i]));
  let g = 0;
  for (const [host, members] of groups) {
    lines.push(`  subgraph g${g++}["${label(host)}"]`);
    for (const i of members) {
      const hop = a.hops[i]!;
      const step = decisionOf(hop);
      const dst = step && routeDst(step);
      const nat = natOf(hop);
      const kind = nat ?? (dst ? `route ${dst}` : (step?.type ?? ''));
      const policies = policiesOf(hop).map((p) => `<br/>${label(policyLabel(p))}`).join('');
      lines.push(`    ${ids[i]}["${label(hop.netns)}<br/>${label(kind.toLowerCase())}${policies}"]`);
    }
    lines.push('  end');
  }
  a.hops.forEach((hop, i) => {
    if (i === 0) return;
    const prev = a.hops[i - 1]!;
    const tunnel = tunnelOf(prev);
    const text = `${label(`${prev.out ?? ''} → ${hop.in ?? ''}`)}${tunnel ? `<br/>${label(tunnel)}` : ''}`;
    // A thick arrow for a packet carried in a tunnel.
    lines.push(`  ${ids[i - 1]} ${tunnel ? '==' : '--'} "${text}" ${tunnel ? '==>' : '-->'} ${ids[i]}`);
  });
  const last = ids[ids.length - 1]!;
  lines.push(`  ${last} --- result(["${label(a.disposition)}"])`);
  lines.push(
    `  classDef ok fill:#d8f5d0,stroke:#2e7d32`,
    `  classDef exit fill:#dbeafe,stroke:#1565c0`,
    `  classDef drop fill:#fde0dc,stroke:#c62828,stroke-width:2px`,
  );
  const outcome = outcomeOf(a);
  lines.push(`  class result ${{ delivered: 'ok', exits: 'exit', failed: 'drop' }[outcome]}`);
  if (outcome === 'failed') lines.push(`  class ${last} drop`);
  return lines.join('\n') + '\n';
}
