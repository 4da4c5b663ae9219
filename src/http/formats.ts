// Content negotiation for trace answers: `format=` wins, then the Accept header (with q-values), then JSON.
import { FORMATS, type Format } from '../render/formats.js';
import { Problem } from './problem.js';

export { FORMATS, type Format };

const byType = new Map<string, Format>(Object.entries(FORMATS).map(([f, t]) => [t, f as Format]));

export function pickFormat(format: Format | undefined, accept: string | undefined): Format {
  if (format !== undefined) return format;
  if (accept === undefined || accept.trim() === '') return 'json';
  const ranges = accept
    .split(',')
    .map((part, order) => {
      const [type, ...params] = part.trim().toLowerCase().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { type: type!.trim(), q: q ? Number(q.slice(2)) : 1, order };
    })
    .filter((r) => r.q > 0)
    .sort((x, y) => y.q - x.q || x.order - y.order);
  for (const r of ranges) {
    if (r.type === '*/*' || r.type === 'application/*') return 'json';
    if (r.type === 'text/*') return 'text';
    if (r.type === 'image/*') return 'svg';
    const f = byType.get(r.type);
    if (f !== undefined) return f;
  }
  throw new Problem(406, 'not-acceptable', `this answer is available as ${Object.values(FORMATS).join(', ')}; Accept: ${accept} allows none of them`);
}
