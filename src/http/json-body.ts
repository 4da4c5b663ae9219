// JSON bodies, read as Fastify does (secure-json-parse: a "__proto__" key is refused), after one pass over the text that
// refuses what would hurt later: nesting deeper than any document the service takes (recursive code further on would
// overflow the stack) and NUL characters in strings (PostgreSQL's text cannot hold them). A linear scan of bytes, cheap
// next to the parse itself.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Problem } from './problem.js';

/** kubectl's deepest objects (managedFields) nest about 20 levels; iproute2's about 6. */
export const MAX_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** What is wrong with the text, before it is parsed; undefined when nothing is. */
export function jsonTextProblem(text: string): { detail: string; at: string } | undefined {
  let depth = 0;
  for (let i = 0, n = text.length; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // A string: skip to its closing quote, looking only at escapes.
      for (i++; i < n; i++) {
        const s = text.charCodeAt(i);
        if (s === QUOTE) break;
        if (s === BACKSLASH) {
          if (text.startsWith('u0000', i + 1)) return { detail: 'a string holds a NUL character (\\u0000), which cannot be stored', at: `character ${i}` };
          i++;
        }
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_DEPTH) return { detail: `the document nests deeper than ${MAX_DEPTH} levels; no document the service takes does`, at: `character ${i}` };
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return undefined;
}

async function jsonBodyPlugin(app: FastifyInstance) {
  const parse = app.getDefaultJsonParser('error', 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const problem = jsonTextProblem(body as string);
    if (problem !== undefined) {
      done(new Problem(400, 'invalid-request', problem.detail, { errors: [{ pointer: '', detail: `${problem.detail} (at ${problem.at})` }] }), undefined);
      return;
    }
    // Kept for the routes that hand a large body to a worker as text (see src/work/jobs.ts: check, import).
    request.jsonText = body as string;
    parse(request, body as string, done);
  });
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The JSON text of the body, as it arrived. */
    jsonText?: string;
  }
}

export default fp(jsonBodyPlugin, { name: 'json-body' });
