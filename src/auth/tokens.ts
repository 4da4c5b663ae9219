// Static bearer tokens: from the environment (AUTH_TOKENS, AUTH_TOKENS_FILE: `name:scope:secret` entries, the secret
// either the token or `sha256:<hex>` of it) and from the database (`npm run token`). Tokens are compared by their
// SHA-256, so the environment may hold hashes only and the database never holds a token.
import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../store/db.js';
import { isScope, type Principal, type Scope } from './scope.js';

export const sha256 = (token: string): string => createHash('sha256').update(token).digest('hex');

/** A new token: 32 random bytes, prefixed so that secret scanners and people recognise it. */
export const newToken = (): string => `pt_${randomBytes(32).toString('base64url')}`;

export interface TokenEntry {
  readonly name: string;
  readonly scope: Scope;
  readonly sha256: string;
}

export class TokenSyntaxError extends Error {}

/** Parses `name:scope:secret` entries separated by commas, spaces or newlines (a Secret mounted as a file). */
export function parseTokens(text: string, source: string): TokenEntry[] {
  const entries: TokenEntry[] = [];
  for (const raw of text.split(/[\s,]+/)) {
    if (raw === '' || raw.startsWith('#')) continue;
    const first = raw.indexOf(':');
    const second = raw.indexOf(':', first + 1);
    const name = raw.slice(0, first);
    const scope = raw.slice(first + 1, second);
    const secret = raw.slice(second + 1);
    // The entry itself is never echoed: it may hold a token.
    if (first <= 0 || second < 0 || secret === '') throw new TokenSyntaxError(`${source}: entry ${entries.length + 1} is not name:scope:secret`);
    if (!isScope(scope)) throw new TokenSyntaxError(`${source}: token ${name} has scope "${scope}"; use read, write or admin`);
    const hashed = /^sha256:([0-9a-f]{64})$/i.exec(secret);
    if (hashed === null && secret.length < 16) throw new TokenSyntaxError(`${source}: token ${name} is shorter than 16 characters`);
    entries.push({ name, scope, sha256: hashed ? hashed[1]!.toLowerCase() : sha256(secret) });
  }
  return entries;
}

/** How long a token found in the database is trusted without asking again: a revoked token stops working within it. */
const DB_TTL_MS = 10_000;
const DB_CACHE_MAX = 10_000;

export class TokenVerifier {
  private readonly fixed: Map<string, TokenEntry>;
  private readonly fromDb = new Map<string, { entry: TokenEntry | undefined; until: number }>();

  constructor(
    entries: readonly TokenEntry[],
    private readonly db: Queryable | undefined,
  ) {
    this.fixed = new Map(entries.map((e) => [e.sha256, e]));
  }

  async verify(token: string): Promise<Principal | undefined> {
    const hash = sha256(token);
    const entry = this.fixed.get(hash) ?? (await this.lookup(hash));
    return entry && { subject: `token:${entry.name}`, scope: entry.scope, via: 'token' };
  }

  private async lookup(hash: string): Promise<TokenEntry | undefined> {
    if (this.db === undefined) return undefined;
    const now = Date.now();
    const cached = this.fromDb.get(hash);
    if (cached !== undefined && cached.until > now) return cached.entry;
    const r = await this.db.query<TokenEntry>('SELECT name, scope, sha256 FROM api_tokens WHERE sha256 = $1', [hash]);
    const entry = r.rows[0];
    // Unknown tokens are remembered too (briefly), so that guessing costs no query each; the map is bounded.
    if (this.fromDb.size >= DB_CACHE_MAX) this.fromDb.clear();
    this.fromDb.set(hash, { entry, until: now + DB_TTL_MS });
    return entry;
  }
}

/** The database side of `npm run token`. */
export async function createToken(db: Queryable, name: string, scope: Scope): Promise<string> {
  const token = newToken();
  await db.query('INSERT INTO api_tokens (name, scope, sha256) VALUES ($1, $2, $3)', [name, scope, sha256(token)]);
  return token;
}

export async function listTokens(db: Queryable): Promise<{ name: string; scope: Scope; created_at: string }[]> {
  return (await db.query<{ name: string; scope: Scope; created_at: string }>('SELECT name, scope, created_at::text FROM api_tokens ORDER BY name')).rows;
}

export async function revokeToken(db: Queryable, name: string): Promise<boolean> {
  return (await db.query('DELETE FROM api_tokens WHERE name = $1', [name])).rowCount > 0;
}
