// What a what-if body must be beyond its schema, checked wherever the body is read: by the route for a small body, by
// the worker for a large one that the main thread did not read.
import type { WhatIfBodyDoc } from '../topology/requests.js';
import { checkFlowCount } from './batch.js';
import { transportOf } from './matrix.js';
import { Problem } from './problem.js';

/** Deeper than any topology document: a patch nested further is refused before anything recurses into it. */
const MAX_PATCH_DEPTH = 32;

export function checkWhatIf(body: WhatIfBodyDoc): void {
  if (body.flows === undefined && body.compare === undefined) {
    throw new Problem(400, 'invalid-request', 'give flows to trace, or compare (the pairs of pods before and after the change), or both', {
      errors: [{ pointer: '/flows', detail: 'flows or compare is needed' }],
    });
  }
  if (body.compare !== undefined && body.base === undefined) {
    throw new Problem(400, 'invalid-request', 'compare needs base: a stored topology to compare the change with', {
      errors: [{ pointer: '/compare', detail: 'only with base' }],
    });
  }
  if (body.compare !== undefined) transportOf(body.compare.protocol, body.compare.port, { pointer: '/compare/port' });
  if (body.flows !== undefined) checkFlowCount(body.flows.length);
  if ((body.topology === undefined) === (body.base === undefined)) {
    throw new Problem(400, 'invalid-request', 'give either topology (a document to trace as it is) or base (a stored topology to change)', {
      errors: [{ pointer: body.topology === undefined ? '' : '/base', detail: 'exactly one of topology or base' }],
    });
  }
  if (body.topology !== undefined && (body.patch !== undefined || body.changes !== undefined || body.revision !== undefined)) {
    throw new Problem(400, 'invalid-request', 'patch, changes and revision go with base, not with an inline topology', {
      errors: [{ pointer: body.patch !== undefined ? '/patch' : body.changes !== undefined ? '/changes' : '/revision', detail: 'only with base' }],
    });
  }
  if (body.patch !== undefined) checkDepth(body.patch, '/patch');
}

function checkDepth(patch: unknown, at: string): void {
  const stack: [unknown, number][] = [[patch, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_PATCH_DEPTH) {
      throw new Problem(400, 'invalid-request', `the patch is nested deeper than ${MAX_PATCH_DEPTH} levels; no topology document is`, {
        errors: [{ pointer: at, detail: `nested deeper than ${MAX_PATCH_DEPTH} levels` }],
      });
    }
    for (const v of Object.values(value)) stack.push([v, depth + 1]);
  }
}
