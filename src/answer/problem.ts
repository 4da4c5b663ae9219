// What went wrong with a request, as a value: thrown by whatever answers it (a route, an answer builder in a worker) and
// written by the HTTP layer as an RFC 9457 problem document, with a stable `type` per kind of problem.
import type { InvalidParam } from '../topology/data-error.js';

export const PROBLEM_TYPE_BASE = 'urn:pathtrace:problem:';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  /** Validation errors: where (a JSON pointer into the body, or a parameter name) and what. */
  errors?: InvalidParam[];
  [extension: string]: unknown;
}

export const PROBLEM_TITLES: Record<string, string> = {
  'invalid-request': 'The request is not valid',
  'invalid-topology': 'The topology is not consistent',
  'not-found': 'Not found',
  'unknown-endpoint': 'No such endpoint in the topology',
  'ambiguous-endpoint': 'The endpoint name is ambiguous',
  'slack-not-configured': 'The Slack command is not configured',
  'bad-signature': 'The request signature is not valid',
  'method-not-allowed': 'Method not allowed',
  unauthorized: 'Authentication required',
  'rate-limited': 'Too many requests',
  forbidden: 'Not allowed',
  conflict: 'Conflict',
  'precondition-failed': 'Precondition failed',
  'precondition-required': 'Precondition required',
  'payload-too-large': 'Request body too large',
  'answer-too-large': 'The answer would be too large',
  'unsupported-media-type': 'Unsupported media type',
  'not-acceptable': 'Not acceptable',
  'uri-too-long': 'URI too long',
  'headers-too-large': 'Request headers too large',
  'request-timeout': 'Request timeout',
  unavailable: 'Service unavailable',
  'deadline-exceeded': 'The request took longer than its deadline',
  internal: 'Internal error',
};

/** An error that carries its own problem document; thrown anywhere below a route. */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly slug: string,
    detail: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

/** The problem document of a Problem, without `instance`: for problems reported inside a larger answer (a batch). */
export function problemBody(p: Problem): ProblemBody {
  return { type: PROBLEM_TYPE_BASE + p.slug, title: PROBLEM_TITLES[p.slug] ?? p.slug, status: p.status, detail: p.message, ...p.extensions };
}
