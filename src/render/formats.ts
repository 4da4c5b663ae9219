// The formats a trace answer is written in, by name, with their media types: JSON at the detail asked for, and the
// others drawn from the full answer. Pure, so that a worker thread writes the answer where it was built.
import type { BareTraceAnswer, TraceAnswer } from '../answer/schema.js';
import { renderText } from './text.js';
import { renderMarkdown, type MarkdownLayout } from './markdown.js';
import { renderMermaid } from './mermaid.js';
import { renderSvg } from './svg.js';

export const FORMATS = {
  json: 'application/json',
  text: 'text/plain',
  markdown: 'text/markdown',
  mermaid: 'text/vnd.mermaid',
  svg: 'image/svg+xml',
} as const;
export type Format = keyof typeof FORMATS;

/**
 * The formats that print of the prose only each hop's deciding step's sentence and its policies' (and of a split flow's
 * other paths only how they end): their answers are made without the rest (AnswerOptions.printed).
 */
export const PRINTS_DECISIONS: ReadonlySet<Format> = new Set(['text', 'markdown', 'mermaid']);

const RENDERERS = { text: renderText, markdown: renderMarkdown, mermaid: renderMermaid, svg: renderSvg };

/** The answer in a format, with its content type; every format but JSON needs the full answer. */
export function writeAnswer(answer: BareTraceAnswer, format: Format, layout?: MarkdownLayout): { contentType: string; text: string } {
  const text = format === 'json' ? JSON.stringify(answer) : RENDERERS[format](answer as TraceAnswer, layout as never);
  return { contentType: `${FORMATS[format]}; charset=utf-8`, text };
}
