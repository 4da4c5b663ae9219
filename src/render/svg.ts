// A self-contained SVG of a trace, drawn by the service itself: hops as boxes in order, grouped by the node they run on,
// the links between them as labelled arrows, the outcome at the end (green when delivered, red where it was dropped),
// and below, one line per hop with the reason. No scripts, fonts or images from elsewhere: it renders anywhere.
import { decisionOf, hostOf, ok, policiesOf, policyLabel, routeDst, tunnelOf } from './answer.js';
import { clip, xml as esc } from './escape.js';
import type { TraceAnswer } from '../answer/schema.js';

const BOX_W = 200;
const BOX_H = 64;
const GAP = 70;
const PAD = 24;
const GROUP_PAD = 12;
const TOP = 76;
const LINE = 18;
const GREEN = '#2e7d32';
const RED = '#c62828';

/** Splits text into lines of at most n characters, at spaces where it can. */
function wrap(s: string, n: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of s.split(' ')) {
    if (line && line.length + 1 + word.length > n) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

export function renderSvg(a: TraceAnswer): string {
  const delivered = ok(a);
  const n = a.hops.length;
  const x = (i: number) => PAD + GROUP_PAD + i * (BOX_W + GAP);
  const resultX = x(n) - GAP + 40;
  // Widths of text are estimated from character counts (about 0.62 em per character for this font, bold included):
  // the SVG must lay itself out without measuring text.
  const width = Math.max(resultX + 28 + a.disposition.length * 8 + PAD, 720);
  const title = wrap(a.summary, Math.floor((width - 2 * PAD) / 8.7));
  const top = TOP + (title.length - 1) * LINE;
  const reasons = a.hops.flatMap((hop, i) => {
    const step = decisionOf(hop);
    const said = [step?.explanation ?? '', ...policiesOf(hop).map((p) => `policy: ${p.explanation ?? ''}`)];
    return said.flatMap((why) => wrap(`${i + 1}. ${hop.netns}: ${why}`, Math.floor((width - 2 * PAD) / 7.4)).map((text, j) => ({ text, first: j === 0, i })));
  });
  const policyLines = Math.max(0, ...a.hops.map((hop) => policiesOf(hop).length));
  const reasonsTop = top + BOX_H + 2 * GROUP_PAD + 48 + 12 * policyLines;
  const height = reasonsTop + reasons.length * LINE + PAD;
  const parts: string[] = [];

  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    `<title>${esc(a.summary)}</title>`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#455a64"/></marker></defs>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
  );
  title.forEach((line, i) => {
    parts.push(`<text x="${PAD}" y="${PAD + 14 + i * LINE}" font-size="14" font-weight="bold" fill="${delivered ? GREEN : RED}">${esc(line)}</text>`);
  });

  // Groups: consecutive hops on the same node share a frame with the node's name.
  let start = 0;
  for (let i = 1; i <= n; i++) {
    if (i < n && hostOf(a.hops[i]!) === hostOf(a.hops[start]!)) continue;
    const gx = x(start) - GROUP_PAD;
    const gw = (i - start) * (BOX_W + GAP) - GAP + 2 * GROUP_PAD;
    parts.push(
      `<rect x="${gx}" y="${top - GROUP_PAD - 16}" width="${gw}" height="${BOX_H + 2 * GROUP_PAD + 16}" rx="10" fill="#f3f6f9" stroke="#b0bec5" stroke-dasharray="4 3"/>`,
      `<text x="${gx + 8}" y="${top - GROUP_PAD - 2}" font-size="11" fill="#546e7a">${esc(clip(hostOf(a.hops[start]!), 32))}</text>`,
    );
    start = i;
  }

  a.hops.forEach((hop, i) => {
    const step = decisionOf(hop);
    const dropped = step?.type === 'DROP';
    const dst = step && routeDst(step);
    const what = dst ? `route ${dst}` : step?.type === 'DELIVER' ? 'delivered' : step?.type === 'BRIDGE' ? 'switched at L2' : dropped ? 'dropped' : (step?.type ?? '').toLowerCase();
    parts.push(
      `<rect x="${x(i)}" y="${top}" width="${BOX_W}" height="${BOX_H}" rx="6" fill="${dropped ? '#fde0dc' : '#ffffff'}" stroke="${dropped ? RED : '#37474f'}" stroke-width="${dropped ? 2.5 : 1.2}"/>`,
      `<text x="${x(i) + 10}" y="${top + 22}" font-size="13" font-weight="bold" fill="#263238">${esc(clip(hop.netns, 26))}</text>`,
      `<text x="${x(i) + 10}" y="${top + 42}" font-size="11" fill="${dropped ? RED : '#455a64'}">${esc(clip(what, 30))}</text>`,
      `<text x="${x(i) + 10}" y="${top + 57}" font-size="10" fill="#78909c">${esc(clip(`${hop.in ?? '–'} → ${hop.out ?? '–'}`, 32))}</text>`,
    );
    // NetworkPolicy's verdicts under the box: the policy that denied, in red, or the rule that allowed.
    policiesOf(hop).forEach((p, k) => {
      const colour = p.verdict === 'DENIED' ? RED : '#2e7d32';
      parts.push(`<text x="${x(i) + 4}" y="${top + BOX_H + 14 + 12 * k}" font-size="9" fill="${colour}">${esc(clip(policyLabel(p), 34))}</text>`);
    });
    if (i > 0) {
      const from = x(i - 1) + BOX_W;
      const y = top + BOX_H / 2;
      parts.push(
        `<line x1="${from + 2}" y1="${y}" x2="${x(i) - 3}" y2="${y}" stroke="#455a64" stroke-width="1.5" marker-end="url(#arrow)"/>`,
        `<text x="${(from + x(i)) / 2}" y="${y - 8}" font-size="9" text-anchor="middle" fill="#455a64">${esc(clip(a.hops[i - 1]!.out ?? '', 14))}</text>`,
      );
      // A packet carried in a tunnel: its device and outer header under the arrow.
      const tunnel = tunnelOf(a.hops[i - 1]!);
      if (tunnel) {
        const [device, header] = tunnel.split(' to ')[0]!.split(': ');
        for (const [k, text] of [device!, header!].entries()) {
          parts.push(`<text x="${(from + x(i)) / 2}" y="${y + 14 + 10 * k}" font-size="8" text-anchor="middle" fill="#6a1b9a">${esc(clip(text, 14))}</text>`);
        }
      }
    }
  });

  // The outcome, drawn after the last hop.
  const lastX = x(n - 1) + BOX_W;
  const cy = top + BOX_H / 2;
  const colour = delivered ? GREEN : RED;
  parts.push(
    `<line x1="${lastX + 2}" y1="${cy}" x2="${resultX - 24}" y2="${cy}" stroke="${colour}" stroke-width="1.5" marker-end="url(#arrow)"/>`,
    `<circle cx="${resultX}" cy="${cy}" r="20" fill="${colour}"/>`,
    delivered
      ? `<path d="M ${resultX - 9} ${cy} l 6 7 l 12 -14" stroke="#ffffff" stroke-width="4" fill="none"/>`
      : `<path d="M ${resultX - 8} ${cy - 8} l 16 16 M ${resultX + 8} ${cy - 8} l -16 16" stroke="#ffffff" stroke-width="4"/>`,
    `<text x="${resultX + 28}" y="${cy + 5}" font-size="12" font-weight="bold" fill="${colour}">${esc(a.disposition)}</text>`,
  );

  reasons.forEach((r, j) => {
    const y = reasonsTop + j * LINE;
    parts.push(`<text x="${PAD + (r.first ? 0 : 16)}" y="${y}" font-size="12" fill="#37474f">${esc(r.text)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
