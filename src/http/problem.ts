// RFC 9457 problem documents for every error the service answers, with a stable `type` per kind of problem. Bad input is
// answered with what was wrong and where (JSON pointers); nothing internal (stack traces, SQL) ever reaches the client.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { maxHeaderSize } from 'node:http';
import type { Socket } from 'node:net';
import { Type } from '@sinclair/typebox';
import { ConflictError, NotFoundError, PreconditionFailedError } from '../store/errors.js';
import { MAX_REPORTED_ERRORS, problemDetailsOfAjv } from '../topology/schema-check.js';
import { DataError } from '../topology/data-error.js';
import { Problem, PROBLEM_TITLES, PROBLEM_TYPE_BASE, problemBody, type ProblemBody } from '../answer/problem.js';

export { Problem, PROBLEM_TYPE_BASE, problemBody, type ProblemBody };

/** The schema of every problem document, as the routes declare it for their error responses. */
export const ProblemDocument = Type.Object(
  {
    type: Type.String({ pattern: '^urn:pathtrace:problem:[a-z0-9-]+$' }),
    title: Type.String({ description: 'A short summary of the kind of problem; the same for every problem of a type.' }),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    detail: Type.String({ description: 'What went wrong with this request, for a person to read.' }),
    instance: Type.Optional(Type.String({ description: 'The path and query of the request.' })),
    errors: Type.Optional(
      Type.Array(
        Type.Object(
          {
            pointer: Type.Optional(Type.String({ description: 'An RFC 6901 JSON pointer into the request body ("" is the whole body).' })),
            parameter: Type.Optional(Type.String({ description: 'The name of the path or query parameter.' })),
            detail: Type.String(),
          },
          { additionalProperties: false, description: 'One offending place of an invalid request; either `pointer` or `parameter` is given.' },
        ),
        { description: `For invalid input, every offending place (up to ${MAX_REPORTED_ERRORS}).` },
      ),
    ),
    currentRevision: Type.Optional(Type.Integer({ minimum: 1, description: 'On a 412, the revision the topology is at, when it exists.' })),
    candidates: Type.Optional(
      Type.Array(Type.String(), {
        description:
          'On an unknown-endpoint or ambiguous-endpoint problem of a trace, the endpoint names that may have been meant: ' +
          'every pod a bare name names, or up to 10 names near the unknown one (those that contain it, those a few typing ' +
          'mistakes away, and pods of the same name in another namespace), nearest first.',
      }),
    ),
    evidence: Type.Optional(
      Type.Array(Type.String(), { description: 'On a cni-required problem of an import, every sign of a CNI plugin found in the objects.' }),
    ),
  },
  {
    description:
      'An RFC 9457 problem document. `type` is stable per kind of problem: `urn:pathtrace:problem:` followed by ' +
      'invalid-request, invalid-topology, not-found, unknown-endpoint, ambiguous-endpoint, cni-required, conflict, ' +
      'precondition-failed, payload-too-large, answer-too-large, unsupported-media-type, unavailable or internal. Further members may be added.',
  },
);

export function sendProblem(reply: FastifyReply, status: number, slug: string, detail: string, extensions: Record<string, unknown> = {}) {
  const body: ProblemBody = { ...problemBody(new Problem(status, slug, detail, extensions)), instance: reply.request.url };
  // Sent as written: the routes declare ProblemDocument to document their errors, not to have them serialized again.
  return reply.code(status).type('application/problem+json; charset=utf-8').send(JSON.stringify(body));
}

function problemOf(err: FastifyError & { validation?: unknown[]; validationContext?: string }, request: FastifyRequest): Problem {
  if (err instanceof Problem) return err;
  if (err instanceof DataError) {
    return new Problem(err.status, err.slug, err.message, { errors: err.errors });
  }
  if (err instanceof NotFoundError) return new Problem(404, 'not-found', err.message);
  if (err instanceof ConflictError) return new Problem(409, 'conflict', err.message);
  if (err instanceof PreconditionFailedError) {
    return new Problem(412, 'precondition-failed', err.message, err.currentRevision === undefined ? {} : { currentRevision: err.currentRevision });
  }
  if (err.validation) {
    const where = err.validationContext ?? 'body';
    const errors = problemDetailsOfAjv(err.validation as Parameters<typeof problemDetailsOfAjv>[0], where);
    const first = errors[0];
    const summary = errors.length === 1 && first ? `${first.pointer ?? first.parameter}: ${first.detail}` : `${errors.length} problems`;
    return new Problem(400, 'invalid-request', `the ${where === 'body' ? 'request body' : where} is not valid (${summary})`, { errors });
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new Problem(413, 'payload-too-large', `the request body is larger than the limit of ${request.routeOptions.bodyLimit} bytes: send a smaller body (a batch: fewer flows per request; a topology: raise BODY_LIMIT)`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new Problem(415, 'unsupported-media-type', 'send the body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new Problem(400, 'invalid-request', 'the request body is empty; send a JSON document');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new Problem(400, 'invalid-request', 'Content-Length does not match the body that was sent');
  }
  if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) {
    return new Problem(400, 'invalid-request', 'the request body is not valid JSON');
  }
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return new Problem(err.statusCode, 'invalid-request', err.message);
  }
  return new Problem(500, 'internal', 'the service failed to answer this request; the error is in its log');
}

/**
 * Fastify's answers to requests it refuses before any route sees them (a URL that does not decode, a path parameter
 * past the router's length limit), as problem documents like every other error.
 */
export function frameworkError(err: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return sendProblem(reply, 414, 'uri-too-long', `a path segment is longer than ${MAX_PARAM_LENGTH} characters; names are at most 63`);
  }
  if (err.code === 'FST_ERR_BAD_URL') return sendProblem(reply, 400, 'invalid-request', 'the URL has an escape (%XX) that is not valid UTF-8');
  return sendProblem(reply, err.statusCode ?? 400, 'invalid-request', err.message);
}

/** The longest path parameter the router takes: a topology name (63) or a revision, with room to spare. */
export const MAX_PARAM_LENGTH = 256;

/**
 * Errors of the connection, before there is a request: a header block past Node's limit (431) or bytes that are not HTTP
 * (400). Written straight to the socket, as problem documents.
 */
export function clientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed || !socket.writable) return;
  const [status, reason, slug, detail] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'headers-too-large', `the request's headers are larger than the limit of ${maxHeaderSize} bytes`]
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'request-timeout', 'the request was not received in time']
        : [400, 'Bad Request', 'invalid-request', 'the request is not valid HTTP'];
  const body = JSON.stringify({ type: PROBLEM_TYPE_BASE + slug, title: PROBLEM_TITLES[slug], status, detail });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/problem+json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

async function problemPlugin(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const problem = problemOf(err, request);
    if (problem.status >= 500) request.log.error({ err }, 'request failed');
    const { retryAfterSeconds, ...extensions } = problem.extensions;
    if (typeof retryAfterSeconds === 'number') reply.header('retry-after', String(retryAfterSeconds));
    return sendProblem(reply, problem.status, problem.slug, problem.message, retryAfterSeconds === undefined ? extensions : { retryAfterSeconds, ...extensions });
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 404, 'not-found', `there is no route ${request.method} ${request.url.split('?')[0]}; GET /openapi.yaml lists them`),
  );
}

export default fp(problemPlugin, { name: 'problem' });
