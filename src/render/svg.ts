// A self-contained SVG of a trace, drawn by the service itself: hops as boxes in order, grouped by the node they run on,
// the links between them as labelled arrows, the outcome at the end (green when delivered, blue when it leaves the
// modelled network, red where it was dropped),
// and below, one line per hop with the reason. No scripts, fonts or images from elsewhere: it renders anywhere.
import { decisionOf, hostOf, isDrop, isExit, natOf, outcomeOf, policiesOf, policyLabel, routeDst, tunnelOf } from './answer.js';
import { clip, xml as esc } from './escape.js';
import type { TraceAnswer } from '../answer/schema.js';

const BOX_W = 200;
const BOX_H = 64;
// Wide enough for a link's name above the arrow and a tunnel's device and header under it, clear of both boxes.
const GAP = 104;
const PAD = 24;
const GROUP_PAD = 12;
const TOP = 76;
const LINE = 18;
const GREEN = '#2e7d32';
const RED = '#c62828';
const BLUE = '#1565c0';

/**
 * The width text takes in DejaVu Sans (the first font asked for, and the one Linux browsers have), estimated from its
 * advance widths by class of character, a little generously: the SVG must lay itself out without measuring text, and an
 * estimate too small cuts the diagram at its right edge.
 */
export function textWidth(s: string, size: number, bold = false): number {
  let em = 0;
  for (const c of s) {
    if (/[ilj.,:;'|!()[\]{} ]/.test(c)) em += bold ? 0.4 : 0.34;
    else if (/[mwMW@%]/.test(c)) em += bold ? 1.1 : 1.0;
    else if (/[A-Z0-9_#&→…]/.test(c)) em += bold ? 0.86 : 0.78;
    else em += bold ? 0.7 : 0.63;
  }
  return em * size;
}

/** Text cut to fit a width, ending in "…". */
function fit(s: string, px: number, size: number, bold = false): string {
  if (textWidth(s, size, bold) <= px) return s;
  const chars = [...s];
  while (chars.length > 1 && textWidth(`${chars.join('')}…`, size, bold) > px) chars.pop();
  return clip(s, chars.length + 1);
}

/** Splits text into lines that fit a width, at spaces where it can and inside a word too long for a line. */
function wrap(s: string, px: number, size: number, bold = false): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of s.split(' ')) {
    const joined = line ? `${line} ${word}` : word;
    if (textWidth(joined, size, bold) <= px) {
      line = joined;
      continue;
    }
    if (line) out.push(line);
    line = '';
    let rest = [...word];
    while (textWidth(rest.join(''), size, bold) > px) {
      let k = rest.length - 1;
      while (k > 1 && textWidth(rest.slice(0, k).join(''), size, bold) > px) k--;
      out.push(rest.slice(0, k).join(''));
      rest = rest.slice(k);
    }
    line = rest.join('');
  }
  if (line) out.push(line);
  return out;
}

export function renderSvg(a: TraceAnswer): string {
  const outcome = outcomeOf(a);
  const colour = { delivered: GREEN, exits: BLUE, failed: RED }[outcome];
  const n = a.hops.length;
  const x = (i: number) => PAD + GROUP_PAD + i * (BOX_W + GAP);
  const lastX = x(n - 1) + BOX_W;
  const resultX = lastX + 56;
  const width = Math.ceil(Math.max(resultX + 28 + textWidth(a.disposition, 12, true) + PAD, x(n) - GAP + GROUP_PAD + PAD, 720));
  const title = wrap(a.summary, width - 2 * PAD, 14, true);
  const top = TOP + (title.length - 1) * LINE;
  const reasons = a.hops.flatMap((hop, i) => {
    const step = decisionOf(hop);
    const said = [step?.explanation ?? '', ...policiesOf(hop).map((p) => `policy: ${p.explanation ?? ''}`)];
    return said.flatMap((why) => wrap(`${i + 1}. ${hop.netns}: ${why}`, width - 2 * PAD - 16, 12).map((text, j) => ({ text, first: j === 0, i })));
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
    parts.push(`<text x="${PAD}" y="${PAD + 14 + i * LINE}" font-size="14" font-weight="bold" fill="${colour}">${esc(line)}</text>`);
  });

  // Groups: consecutive hops on the same node share a frame with the node's name.
  let start = 0;
  for (let i = 1; i <= n; i++) {
    if (i < n && hostOf(a.hops[i]!) === hostOf(a.hops[start]!)) continue;
    const gx = x(start) - GROUP_PAD;
    const gw = (i - start) * (BOX_W + GAP) - GAP + 2 * GROUP_PAD;
    parts.push(
      `<rect x="${gx}" y="${top - GROUP_PAD - 16}" width="${gw}" height="${BOX_H + 2 * GROUP_PAD + 16}" rx="10" fill="#f3f6f9" stroke="#b0bec5" stroke-dasharray="4 3"/>`,
      `<text x="${gx + 8}" y="${top - GROUP_PAD - 2}" font-size="11" fill="#546e7a">${esc(fit(hostOf(a.hops[start]!), gw - 16, 11))}</text>`,
    );
    start = i;
  }

  a.hops.forEach((hop, i) => {
    const step = decisionOf(hop);
    const dropped = isDrop(step);
    const dst = step && routeDst(step);
    const nat = dropped ? undefined : natOf(hop);
    const what =
      nat ??
      (dst
        ? `route ${dst}`
        : step?.type === 'DELIVER' ? 'delivered' : step?.type === 'BRIDGE' ? 'switched at L2' : dropped ? 'dropped' : isExit(step) ? 'leaves the network' : (step?.type ?? '').toLowerCase());
    // Each hop is one group titled with every step's explanation, a line each: a browser shows it on hover, a page can
    // open it. The line break is a character reference: escaped as text it would read "\u000a".
    parts.push(
      `<g class="hop" data-hop="${i}"><title>${hop.steps.map((s) => esc(`${s.type}: ${s.explanation}`)).join('&#10;')}</title>`,
      `<rect x="${x(i)}" y="${top}" width="${BOX_W}" height="${BOX_H}" rx="6" fill="${dropped ? '#fde0dc' : '#ffffff'}" stroke="${dropped ? RED : '#37474f'}" stroke-width="${dropped ? 2.5 : 1.2}"/>`,
      `<text x="${x(i) + 10}" y="${top + 22}" font-size="13" font-weight="bold" fill="#263238">${esc(fit(hop.netns, BOX_W - 20, 13, true))}</text>`,
      `<text x="${x(i) + 10}" y="${top + 42}" font-size="11" fill="${dropped ? RED : isExit(step) ? BLUE : '#455a64'}">${esc(fit(what, BOX_W - 20, 11))}</text>`,
      `<text x="${x(i) + 10}" y="${top + 57}" font-size="10" fill="#78909c">${esc(fit(`${hop.in ?? '–'} → ${hop.out ?? '–'}`, BOX_W - 20, 10))}</text>`,
      '</g>',
    );
    // NetworkPolicy's verdicts under the box: the policy that denied, in red, or the rule that allowed.
    policiesOf(hop).forEach((p, k) => {
      const colour = p.verdict === 'DENIED' ? RED : '#2e7d32';
      parts.push(`<text x="${x(i) + 4}" y="${top + BOX_H + 14 + 12 * k}" font-size="9" fill="${colour}">${esc(fit(policyLabel(p), BOX_W - 8, 9))}</text>`);
    });
    if (i > 0) {
      const from = x(i - 1) + BOX_W;
      const mid = (from + x(i)) / 2;
      const y = top + BOX_H / 2;
      // Labels between two boxes keep 8 px clear of each.
      const room = GAP - 16;
      parts.push(
        `<line x1="${from + 2}" y1="${y}" x2="${x(i) - 3}" y2="${y}" stroke="#455a64" stroke-width="1.5" marker-end="url(#arrow)"/>`,
        `<text x="${mid}" y="${y - 8}" font-size="9" text-anchor="middle" fill="#455a64">${esc(fit(a.hops[i - 1]!.out ?? '', room, 9))}</text>`,
      );
      // A packet carried in a tunnel: its device and outer header under the arrow, the whole of it in the title.
      const tunnel = tunnelOf(a.hops[i - 1]!);
      if (tunnel) {
        const [device, header] = tunnel.split(' to ')[0]!.split(': ');
        parts.push(`<g class="tunnel"><title>${esc(tunnel)}</title>`);
        for (const [k, text] of [device!, header!].entries()) {
          parts.push(`<text x="${mid}" y="${y + 16 + 11 * k}" font-size="8" text-anchor="middle" fill="#6a1b9a">${esc(fit(text, room, 8))}</text>`);
        }
        parts.push('</g>');
      }
    }
  });

  // The outcome, drawn after the last hop: a tick, an arrow out of the network, or a cross.
  const cy = top + BOX_H / 2;
  const mark = {
    delivered: `<path d="M ${resultX - 9} ${cy} l 6 7 l 12 -14" stroke="#ffffff" stroke-width="4" fill="none"/>`,
    exits: `<path d="M ${resultX - 8} ${cy + 8} l 14 -14 M ${resultX - 3} ${cy - 7} h 10 v 10" stroke="#ffffff" stroke-width="3.5" fill="none"/>`,
    failed: `<path d="M ${resultX - 8} ${cy - 8} l 16 16 M ${resultX + 8} ${cy - 8} l -16 16" stroke="#ffffff" stroke-width="4"/>`,
  }[outcome];
  parts.push(
    `<line x1="${lastX + 2}" y1="${cy}" x2="${resultX - 24}" y2="${cy}" stroke="${colour}" stroke-width="1.5" marker-end="url(#arrow)"/>`,
    `<circle cx="${resultX}" cy="${cy}" r="20" fill="${colour}"/>`,
    mark,
    `<text x="${resultX + 28}" y="${cy + 5}" font-size="12" font-weight="bold" fill="${colour}">${esc(a.disposition)}</text>`,
  );

  reasons.forEach((r, j) => {
    const y = reasonsTop + j * LINE;
    parts.push(`<text x="${PAD + (r.first ? 0 : 16)}" y="${y}" font-size="12" fill="#37474f">${esc(r.text)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
