// Pagination cursors are opaque to clients (base64url of a small JSON value) so that their content can change later.
import { Problem } from './problem.js';

export const encodeCursor = (value: string | null): string | null =>
  value === null ? null : Buffer.from(JSON.stringify(value)).toString('base64url');

/** A cursor of a list of revisions: the revision to continue below. */
export function decodeRevisionCursor(cursor: string | undefined): number | undefined {
  const value = decodeCursor(cursor);
  if (value === undefined) return undefined;
  const revision = Number(value);
  if (Number.isSafeInteger(revision) && revision >= 1 && String(revision) === value) return revision;
  throw notOurs();
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    // What this service hands out: a topology name (no NUL, which PostgreSQL's text cannot hold, and a name's length).
    if (typeof value === 'string' && value.length <= 253 && !value.includes('\u0000')) return value;
  } catch {
    // answered below
  }
  throw notOurs();
}

function notOurs(): Problem {
  return new Problem(400, 'invalid-request', 'cursor is not one this service handed out; pass nextCursor back unchanged', {
    errors: [{ parameter: 'cursor', detail: 'is not a cursor from a previous page' }],
  });
}
