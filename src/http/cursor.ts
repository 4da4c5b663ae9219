// Pagination cursors are opaque to clients (base64url of a small JSON value) so that their content can change later.
import { Problem } from './problem.js';

export const encodeCursor = (value: string | null): string | null =>
  value === null ? null : Buffer.from(JSON.stringify(value)).toString('base64url');

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof value === 'string') return value;
  } catch {
    // answered below
  }
  throw new Problem(400, 'invalid-request', 'cursor is not one this service handed out; pass nextCursor back unchanged', {
    errors: [{ parameter: 'cursor', detail: 'is not a cursor from a previous page' }],
  });
}
