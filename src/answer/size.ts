// What an answer costs, counted while it is built: a batch that would pass the limit stops at the flow that passes it,
// with a problem saying how to ask for less, rather than tracing every flow first and failing to send what it made.
// Pure (no Fastify), like the answer builders it measures, so that it works wherever they run.
import { Problem } from './problem.js';

/** MAX_ANSWER_BYTES' default: more than any dashboard reads, far less than the largest string V8 builds. */
export const DEFAULT_MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/** How to make an answer smaller; `more` says what else the route allows (fewer flows). */
const LESS = 'detail=hops (no prose) or detail=summary (no hops), or fewer paths per trace (paths=1)';

/**
 * How to make a text, markdown, Mermaid or SVG answer smaller: they are drawn from the full answer, so the way to less is
 * the JSON at less detail.
 */
export const LESS_THAN_DRAWN = 'format=json with detail=summary (no hops) or detail=hops (no prose), and paths=1';

/** The 422 of an answer that would pass `limit` bytes; `progress` says how far it got, `less` how to ask for less. */
export function answerTooLarge(limit: number, progress: string, more = '', less = LESS): Problem {
  return new Problem(
    422,
    'answer-too-large',
    `the answer would be larger than the limit of ${limit} bytes (MAX_ANSWER_BYTES)${progress}; ask for less: ${less}${more}`,
  );
}
