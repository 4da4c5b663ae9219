// JSON bodies, read as Fastify does (secure-json-parse: a "__proto__" key is refused), after one pass over the text that
// refuses what would hurt later (src/topology/json-text.ts: nesting too deep, NUL characters).
import { errorCodes, type FastifyInstance, type FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Problem } from './problem.js';
import { jsonTextProblem } from '../topology/json-text.js';

/** Bodies up to this many bytes are read and checked on the main thread in milliseconds. */
const LIGHT_BODY = 1_000_000;

/**
 * Past how many bytes a route's body goes to a worker unread: its config `largeJson`, true for LIGHT_BODY or a number
 * of bytes for a route whose bodies cost more per byte to check (a batch's 10,000 flows are 10,000 objects to validate).
 */
function largeFrom(request: FastifyRequest): number | undefined {
  const large = (request.routeOptions.config as { largeJson?: boolean | number } | undefined)?.largeJson;
  return large === true ? LIGHT_BODY : typeof large === 'number' ? large : undefined;
}

/**
 * A large body of a route that hands it to a worker unread (config `largeJson`): parsing, scanning and validating tens
 * of MB would hold the event loop for seconds. The worker does all three, as strictly (see src/work/jobs.ts: check).
 * It stays bytes, in a buffer of their own that crosses to the worker by transfer: decoding 15 MB into a string and
 * cloning that string to a worker held the event loop for ~100 ms.
 */
export class LargeJson {
  constructor(readonly bytes: Uint8Array<ArrayBuffer>) {}
}

/**
 * Reads a body as Fastify's own parsers do (the route's byte limit, the declared length checked), into one buffer. A
 * large body of a `largeJson` route whose length is declared is copied into its buffer as it arrives: joining 64 MB of
 * chunks at the end would hold the event loop for tens of milliseconds at once.
 */
function collectBody(request: FastifyRequest, payload: NodeJS.ReadableStream, done: (err: Error | null, body?: Uint8Array) => void): void {
  const limit = request.routeOptions.bodyLimit;
  const declared = Number(request.headers['content-length']);
  if (declared > limit) return done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
  const from = largeFrom(request);
  const into = from !== undefined && Number.isSafeInteger(declared) && declared > from ? new Uint8Array(declared) : undefined;
  const chunks: Buffer[] = [];
  let received = 0;
  const onData = (data: Buffer | string) => {
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    if (received + chunk.length > limit || (into !== undefined && received + chunk.length > into.length)) {
      stop();
      return done(received + chunk.length > limit ? new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE() : new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
    }
    if (into !== undefined) into.set(chunk, received);
    else chunks.push(chunk);
    received += chunk.length;
  };
  const onEnd = (err?: Error & { statusCode?: number }) => {
    stop();
    if (err != null) {
      if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
      return done(err);
    }
    if (!Number.isNaN(declared) && received !== declared) return done(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
    done(null, into ?? Buffer.concat(chunks, received));
  };
  const stop = () => {
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onEnd);
  };
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onEnd);
  payload.resume();
}

async function jsonBodyPlugin(app: FastifyInstance) {
  const parse = app.getDefaultJsonParser('error', 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', (request, payload, done) =>
    collectBody(request, payload, (err, raw) => {
      if (err !== null) return done(err, undefined);
      const from = largeFrom(request);
      if (from !== undefined && raw!.length > from) {
        // A buffer shared with other data (a chunked body joined, say) is copied once, so that it can be transferred.
        const own = raw!.byteOffset === 0 && raw!.byteLength === raw!.buffer.byteLength && raw!.buffer instanceof ArrayBuffer;
        return done(null, new LargeJson(own ? new Uint8Array(raw!.buffer as ArrayBuffer) : new Uint8Array(raw!)));
      }
      const body = Buffer.from(raw!.buffer, raw!.byteOffset, raw!.byteLength).toString();
      const problem = jsonTextProblem(body);
      if (problem !== undefined) {
        return done(new Problem(400, 'invalid-request', problem.detail, { errors: [{ pointer: '', detail: `${problem.detail} (at ${problem.at})` }] }), undefined);
      }
      // Kept for the routes that hand a body to a worker as text (see src/work/jobs.ts: check, import).
      request.jsonText = body;
      parse(request, body, done);
    }),
  );
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The JSON text of the body, as it arrived. */
    jsonText?: string;
  }
}

export default fp(jsonBodyPlugin, { name: 'json-body' });
