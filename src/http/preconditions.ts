// ETags are the revision number in quotes ("3"). If-Match compares strongly (RFC 9110 13.1.1): a weak tag never matches.
import { Problem } from './problem.js';
import type { IfMatch } from '../store/topologies.js';

export const etag = (revision: number) => `"${revision}"`;

const TAG = /^\s*(W\/)?"([^"]*)"\s*$/;

export function parseIfMatch(header: string | undefined): IfMatch {
  if (header === undefined) return undefined;
  if (header.trim() === '*') return '*';
  const revisions: number[] = [];
  for (const part of header.split(',')) {
    const m = TAG.exec(part);
    if (!m) {
      throw new Problem(400, 'invalid-request', `If-Match: ${header} is not a list of entity tags such as "3" (quotes included)`);
    }
    const n = Number(m[2]);
    if (!m[1] && Number.isInteger(n) && n > 0) revisions.push(n);
  }
  // Only tags that cannot match (weak or not a revision): an empty list, which no revision satisfies.
  return revisions;
}

/** If-None-Match on a read: true when the client's copy, tagged `"<tag>"` (a revision, or a file's hash), is current. */
export function notModified(header: string | undefined, tag: number | string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  // Weak comparison (RFC 9110 13.1.2): W/"3" matches "3".
  return header.split(',').some((part) => TAG.exec(part)?.[2] === String(tag));
}
