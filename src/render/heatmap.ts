// The reachability matrix as an SVG heat map: one cell per ordered pair (row: from, column: to), coloured by outcome,
// runs of equal cells drawn as one rectangle so that a 1,000-pod matrix stays a small file. The pods × Services matrix
// is drawn alike, its columns the Service ports.
import { clip, xml as esc } from './escape.js';

export interface MatrixView {
  endpoints: { name: string; node?: string | null }[];
  legend: Record<string, string>;
  rows: string[];
  counts: Record<string, number>;
  title: string;
  /**
   * The columns when they are not the rows' pods: the Service ports of the pods × Services matrix (no cell is a pod to
   * itself there).
   */
  columns?: { name: string; node?: string | null }[];
  /** Which policies decided each pair: an id per cell (i * columns + j, -1 for none) and its words (answer/decided.ts). */
  decidedBy?: { readonly ids: Int32Array; text(id: number): string };
}

/** The columns' names for a count of them: pods, or the Service ports of a pods × Services matrix. */
const columnUnit = (m: MatrixView) => (m.columns === undefined ? pods : servicePorts);

const COLOURS: Record<string, string> = {
  DELIVERED: '#43a047',
  EXITS_NETWORK: '#1e88e5',
  NO_ROUTE: '#e53935',
  BLACKHOLED: '#212121',
  UNREACHABLE: '#8e24aa',
  NEIGHBOR_UNREACHABLE: '#fb8c00',
  LINK_DOWN: '#6d4c41',
  FORWARDING_DISABLED: '#fdd835',
  LOOP: '#d81b60',
  TTL_EXCEEDED: '#00897b',
  REJECTED: '#5e35b1',
  // A filter's verdict (NetworkPolicy), in a colour apart from the routing failures'.
  DENIED: '#ff7043',
};
const SELF = '#eceff1';

/** Whether a colour is dark enough that a letter on it is written in white (relative luminance, WCAG's formula). */
function dark(hex: string): boolean {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b! < 0.18;
}
const NONE = '#bdbdbd';

/** A swatch and a line per outcome present: its letter, its name and how many pairs have it. */
function legend(codes: [string, string][], counts: Record<string, number>, left: number, first: number): string[] {
  return codes.flatMap(([code, d], i) => {
    const y = first + i * 18;
    return [
      `<rect x="${left}" y="${y - 10}" width="12" height="12" fill="${COLOURS[d]}"/>`,
      `<text x="${left + 18}" y="${y}" font-size="12" fill="#37474f">${esc(`${code} ${d}: ${counts[d]} pairs`)}</text>`,
    ];
  });
}

/** Past this many pods a cell per pair is a pixel or less: the map shows blocks of groups instead (see renderOverview). */
export const MAX_CELL_PODS = 400;
/** The most groups on a side of the overview; more are gathered into runs of neighbouring groups. */
const MAX_GROUPS = 40;
/** Pods that neither namespace nor node tells apart are shown in slices of this many, in the answer's order. */
const SLICE = 200;

const pods = (n: number) => `${n} pod${n === 1 ? '' : 's'}`;
const servicePorts = (n: number) => `${n} Service port${n === 1 ? '' : 's'}`;

interface Group {
  label: string;
  members: number[];
}

/**
 * The groups of the overview: by namespace, else (one namespace) by node, else in slices; past MAX_GROUPS, runs of
 * neighbouring groups. The page does the same, and opens a block; here a reader asks for a namespace or a node.
 */
export function groupPods(endpoints: MatrixView['endpoints']): { by: string; groups: Group[] } {
  const keys: [string, (e: MatrixView['endpoints'][number]) => string][] = [
    ['namespace', (e) => (e.name.includes('/') ? e.name.slice(0, e.name.indexOf('/')) : '(none)')],
    ['node', (e) => e.node ?? '(no node)'],
  ];
  for (const [by, keyOf] of keys) {
    const groups = new Map<string, number[]>();
    endpoints.forEach((e, i) => {
      const key = keyOf(e);
      const members = groups.get(key);
      if (members === undefined) groups.set(key, [i]);
      else members.push(i);
    });
    if (groups.size < 2) continue;
    const sorted = [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([label, members]) => ({ label, members }));
    if (sorted.length <= MAX_GROUPS) return { by, groups: sorted };
    const per = Math.ceil(sorted.length / MAX_GROUPS);
    const runs: Group[] = [];
    for (let k = 0; k < sorted.length; k += per) {
      const run = sorted.slice(k, k + per);
      runs.push({ label: `${run[0]!.label} … ${run.at(-1)!.label}`, members: run.flatMap((g) => g.members) });
    }
    return { by: `${by}s`, groups: runs };
  }
  const slices: Group[] = [];
  for (let k = 0; k < endpoints.length; k += SLICE) {
    const last = Math.min(endpoints.length, k + SLICE) - 1;
    slices.push({ label: `${endpoints[k]!.name} … ${endpoints[last]!.name}`, members: Array.from({ length: last - k + 1 }, (_, i) => k + i) });
  }
  return { by: 'slices of pods', groups: slices };
}

/**
 * The matrix of more than MAX_CELL_PODS pods (or Service ports): a block per pair of groups, coloured by its most
 * frequent outcome, with that outcome's letter and, when the block is mixed, the next one's after it and a hatching; its
 * title counts every outcome. A block is as readable at 5,000 pods as at 500.
 */
function renderOverview(m: MatrixView): string {
  const { by, groups } = groupPods(m.endpoints);
  const columns = m.columns === undefined ? { by, groups } : groupPods(m.columns);
  const unit = columnUnit(m);
  const g = Math.max(groups.length, columns.groups.length);
  const block = Math.max(18, Math.min(40, Math.floor(900 / g)));
  const labels = groups.map((x) => clip(`${x.label} (${x.members.length})`, 40));
  const columnLabels = columns.groups.map((x) => clip(`${x.label} (${x.members.length})`, 40));
  const left = 10 + 7 * Math.max(...labels.map((l) => l.length));
  const top = 66 + 10 + 7 * Math.max(...columnLabels.map((l) => l.length));
  const legendCodes = Object.entries(m.legend).filter(([, d]) => (m.counts[d] ?? 0) > 0);
  const width = Math.max(left + columns.groups.length * block + 24, 640);
  const height = top + groups.length * block + 30 + legendCodes.length * 18 + 12;
  const layout =
    m.columns === undefined
      ? `${m.endpoints.length} pods by ${by}: a block per pair of groups (row: from, column: to). For a group's pods, ask for its namespace= or node=.`
      : `${m.endpoints.length} pods by ${by} (rows), ${m.columns.length} Service ports by ${columns.by} (columns): a block per pair of groups. ` +
        "For a group's pods, ask for its namespace= or node=; for fewer Service ports, protocol= or port=.";
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    `<title>${esc(m.title)}</title>`,
    `<defs><pattern id="mixed" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="3" height="8" fill="#ffffff" fill-opacity="0.55"/></pattern></defs>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="24" font-size="14" font-weight="bold" fill="#263238">${esc(m.title)}</text>`,
    `<text x="12" y="44" font-size="11" fill="#37474f">${esc(layout)}</text>`,
  ];
  // Each column's group, to count a row's letters into its blocks in one pass over the row.
  const groupOf = new Int32Array((m.columns ?? m.endpoints).length);
  columns.groups.forEach((x, k) => x.members.forEach((i) => (groupOf[i] = k)));
  groups.forEach((from, r) => {
    const counts = Array.from({ length: columns.groups.length }, () => new Map<string, number>());
    for (const i of from.members) {
      const row = m.rows[i]!;
      for (let j = 0; j < row.length; j++) {
        const code = row[j]!;
        if (code === '-') continue;
        const c = counts[groupOf[j]!]!;
        c.set(code, (c.get(code) ?? 0) + 1);
      }
    }
    counts.forEach((c, k) => {
      const ranked = [...c].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
      const pairs = ranked.reduce((n, [, x]) => n + x, 0);
      const said = ranked.map(([code, x]) => `${x} ${m.legend[code] ?? 'without a common address family'}`).join(', ');
      const to = columns.groups[k]!;
      const title = `${groups[r]!.label} (${pods(from.members.length)}) → ${to.label} (${unit(to.members.length)}): ${pairs === 0 ? 'no pairs' : `${pairs} pairs, ${said}`}`;
      const [first, second] = ranked;
      const fill = first === undefined ? SELF : (COLOURS[m.legend[first[0]] ?? ''] ?? NONE);
      const x = left + k * block;
      const y = top + r * block;
      out.push(`<g class="block"><title>${esc(title)}</title><rect x="${x}" y="${y}" width="${block}" height="${block}" fill="${fill}" stroke="#ffffff"/>`);
      if (second !== undefined) out.push(`<rect x="${x}" y="${y}" width="${block}" height="${block}" fill="url(#mixed)"/>`);
      if (first !== undefined) {
        const ink = dark(fill) ? '#ffffff' : '#000000';
        out.push(`<text x="${x + block / 2}" y="${y + block / 2 + 4}" font-size="${block >= 28 ? 11 : 9}" font-weight="bold" text-anchor="middle" fill="${ink}" aria-hidden="true">${esc(`${first[0]}${second?.[0] ?? ''}`)}</text>`);
      }
      out.push('</g>');
    });
  });
  labels.forEach((label, k) => {
    out.push(`<text x="${left - 4}" y="${top + k * block + block / 2 + 4}" font-size="10" text-anchor="end" fill="#37474f">${esc(label)}</text>`);
  });
  columnLabels.forEach((label, k) => {
    const x = left + k * block + block / 2 + 4;
    out.push(`<text x="${x}" y="${top - 4}" font-size="10" transform="rotate(-90 ${x} ${top - 4})" fill="#37474f">${esc(label)}</text>`);
  });
  out.push(`<rect x="${left}" y="${top}" width="${columns.groups.length * block}" height="${groups.length * block}" fill="none" stroke="#90a4ae"/>`);
  out.push(...legend(legendCodes, m.counts, left, top + groups.length * block + 24), '</svg>');
  return out.join('\n') + '\n';
}

export function renderHeatmap(m: MatrixView): string {
  const columns = m.columns ?? m.endpoints;
  if (m.endpoints.length > MAX_CELL_PODS || columns.length > MAX_CELL_PODS) return renderOverview(m);
  const n = m.endpoints.length;
  const w = columns.length;
  const cell = Math.max(1, Math.min(14, Math.floor(900 / Math.max(n, w, 1))));
  const labelled = Math.max(n, w) <= 60;
  const longest = (names: { name: string }[]) => 7 * Math.max(0, ...names.map((e) => Math.min(e.name.length, 40)));
  const left = labelled ? 10 + longest(m.endpoints) : 24;
  const top = 48 + (labelled ? longest(columns) : 0);
  const legendCodes = Object.entries(m.legend).filter(([, d]) => (m.counts[d] ?? 0) > 0);
  const width = Math.max(left + w * cell + 24, 560);
  const height = top + n * cell + 30 + legendCodes.length * 18 + 12;
  const unit = columnUnit(m);
  const colourOf = (code: string) => (code === '-' ? SELF : COLOURS[m.legend[code] ?? ''] ?? NONE);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    `<title>${esc(m.title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="24" font-size="14" font-weight="bold" fill="#263238">${esc(m.title)}</text>`,
  ];
  // A run's title names its pairs, their outcome and the policies that decided it (a browser shows it on hover); where
  // cells are large enough each carries its letter too, so that the outcome never rests on colour alone.
  const lettered = cell >= 12;
  const decided = m.decidedBy;
  const idOf = (i: number, j: number) => (decided === undefined ? -1 : decided.ids[i * w + j]!);
  m.rows.forEach((row, i) => {
    const from = m.endpoints[i]!.name;
    for (let j = 0; j < row.length; ) {
      let k = j + 1;
      const id = idOf(i, j);
      while (k < row.length && row[k] === row[j] && idOf(i, k) === id) k++;
      const code = row[j]!;
      const why = id < 0 ? '' : `, ${decided!.text(id)}`;
      const outcome = code === '-' ? 'itself' : `${m.legend[code] ?? 'no common address family'}${why}`;
      const to = k - j === 1 ? columns[j]!.name : `${columns[j]!.name} … ${columns[k - 1]!.name} (${unit(k - j)})`;
      out.push(
        `<rect x="${left + j * cell}" y="${top + i * cell}" width="${(k - j) * cell}" height="${cell}" fill="${colourOf(code)}"><title>${esc(`${from} → ${to}: ${outcome}`)}</title></rect>`,
      );
      if (lettered && code !== '-') {
        const ink = dark(colourOf(code)) ? '#ffffff' : '#000000';
        for (let c = j; c < k; c++) {
          out.push(`<text x="${left + c * cell + cell / 2}" y="${top + i * cell + cell - 3}" font-size="9" text-anchor="middle" fill="${ink}" aria-hidden="true">${esc(code)}</text>`);
        }
      }
      j = k;
    }
  });
  if (labelled) {
    m.endpoints.forEach((e, i) => {
      out.push(`<text x="${left - 4}" y="${top + i * cell + cell - 3}" font-size="10" text-anchor="end" fill="#37474f">${esc(clip(e.name, 40))}</text>`);
    });
    columns.forEach((e, j) => {
      const x = left + j * cell + cell - 3;
      out.push(`<text x="${x}" y="${top - 4}" font-size="10" transform="rotate(-90 ${x} ${top - 4})" fill="#37474f">${esc(clip(e.name, 40))}</text>`);
    });
  }
  out.push(`<rect x="${left}" y="${top}" width="${w * cell}" height="${n * cell}" fill="none" stroke="#90a4ae"/>`);
  out.push(...legend(legendCodes, m.counts, left, top + n * cell + 24), '</svg>');
  return out.join('\n') + '\n';
}
