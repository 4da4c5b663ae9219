// JSON bodies, read as Fastify does (secure-json-parse: a "__proto__" key is refused), after one pass over the text that
// refuses what would hurt later (src/topology/json-text.ts: nesting too deep, NUL characters).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Problem } from './problem.js';
import { jsonTextProblem } from '../topology/json-text.js';

/** Bodies up to this many characters are read and checked on the main thread in milliseconds. */
const LIGHT_BODY = 1_000_000;

/**
 * A large body of a route that hands it to a worker unread (config `largeJson`): parsing, scanning and validating tens
 * of MB would hold the event loop for seconds. The worker does all three, as strictly (see src/work/jobs.ts: check).
 */
export class LargeJson {
  constructor(readonly text: string) {}
}

async function jsonBodyPlugin(app: FastifyInstance) {
  const parse = app.getDefaultJsonParser('error', 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const config = request.routeOptions.config as { largeJson?: boolean } | undefined;
    if (config?.largeJson === true && (body as string).length > LIGHT_BODY) {
      done(null, new LargeJson(body as string));
      return;
    }
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
