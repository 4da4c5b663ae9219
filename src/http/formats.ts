// Content negotiation for trace answers: `format=` wins, then the Accept header (with q-values), then JSON.
import type { FastifyReply } from 'fastify';
import type { TraceAnswer } from '../answer/schema.js';
import { renderText } from '../render/text.js';
import { renderMarkdown, type MarkdownLayout } from '../render/markdown.js';
import { renderMermaid } from '../render/mermaid.js';
import { renderSvg } from '../render/svg.js';
import { Problem } from './problem.js';

export const FORMATS = {
  json: 'application/json',
  text: 'text/plain',
  markdown: 'text/markdown',
  mermaid: 'text/vnd.mermaid',
  svg: 'image/svg+xml',
} as const;
export type Format = keyof typeof FORMATS;

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

/** Sends a full answer in one of the formats drawn from it (JSON is sent as it is built, at the detail asked for). */
export function sendRendered(reply: FastifyReply, answer: TraceAnswer, format: Exclude<Format, 'json'>, layout?: MarkdownLayout) {
  const render = { text: renderText, markdown: (a: TraceAnswer) => renderMarkdown(a, layout), mermaid: renderMermaid, svg: renderSvg }[format];
  return reply.type(`${FORMATS[format]}; charset=utf-8`).send(render(answer));
}
