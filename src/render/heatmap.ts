// The reachability matrix as an SVG heat map: one cell per ordered pair (row: from, column: to), coloured by outcome,
// runs of equal cells drawn as one rectangle so that a 1,000-pod matrix stays a small file.
import { clip, xml as esc } from './escape.js';

export interface MatrixView {
  endpoints: { name: string }[];
  legend: Record<string, string>;
  rows: string[];
  counts: Record<string, number>;
  title: string;
}

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

export function renderHeatmap(m: MatrixView): string {
  const n = m.endpoints.length;
  const cell = Math.max(1, Math.min(14, Math.floor(900 / Math.max(n, 1))));
  const labelled = n <= 60;
  const left = labelled ? 10 + 7 * Math.max(0, ...m.endpoints.map((e) => Math.min(e.name.length, 40))) : 24;
  const top = 48 + (labelled ? 7 * Math.max(0, ...m.endpoints.map((e) => Math.min(e.name.length, 40))) : 0);
  const legendCodes = Object.entries(m.legend).filter(([, d]) => (m.counts[d] ?? 0) > 0);
  const width = Math.max(left + n * cell + 24, 560);
  const height = top + n * cell + 30 + legendCodes.length * 18 + 12;
  const colourOf = (code: string) => (code === '-' ? SELF : COLOURS[m.legend[code] ?? ''] ?? NONE);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    `<title>${esc(m.title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="24" font-size="14" font-weight="bold" fill="#263238">${esc(m.title)}</text>`,
  ];
  // A run's title names its pairs and their outcome (a browser shows it on hover); where cells are large enough each
  // carries its letter too, so that the outcome never rests on colour alone.
  const lettered = cell >= 12;
  m.rows.forEach((row, i) => {
    const from = m.endpoints[i]!.name;
    for (let j = 0; j < row.length; ) {
      let k = j + 1;
      while (k < row.length && row[k] === row[j]) k++;
      const code = row[j]!;
      const outcome = code === '-' ? 'itself' : (m.legend[code] ?? 'no common address family');
      const to = k - j === 1 ? m.endpoints[j]!.name : `${m.endpoints[j]!.name} … ${m.endpoints[k - 1]!.name} (${k - j} pods)`;
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
      const name = esc(clip(e.name, 40));
      out.push(`<text x="${left - 4}" y="${top + i * cell + cell - 3}" font-size="10" text-anchor="end" fill="#37474f">${name}</text>`);
      const x = left + i * cell + cell - 3;
      out.push(`<text x="${x}" y="${top - 4}" font-size="10" transform="rotate(-90 ${x} ${top - 4})" fill="#37474f">${name}</text>`);
    });
  }
  out.push(`<rect x="${left}" y="${top}" width="${n * cell}" height="${n * cell}" fill="none" stroke="#90a4ae"/>`);
  legendCodes.forEach(([code, d], i) => {
    const y = top + n * cell + 24 + i * 18;
    out.push(
      `<rect x="${left}" y="${y - 10}" width="12" height="12" fill="${COLOURS[d]}"/>`,
      `<text x="${left + 18}" y="${y}" font-size="12" fill="#37474f">${esc(`${code} ${d}: ${m.counts[d]} pairs`)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
