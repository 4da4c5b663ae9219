// What a caller may do. Scopes are ordered: write includes read, admin includes both, so a token carries one of them.
export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const isScope = (s: string): s is Scope => (SCOPES as readonly string[]).includes(s);

export const grants = (held: Scope, needed: Scope): boolean => SCOPES.indexOf(held) >= SCOPES.indexOf(needed);

/**
 * Who is calling, once authenticated: a token's name or a JWT's subject, and what it may do (undefined: a valid JWT that
 * grants none of the service's scopes).
 */
export interface Principal {
  readonly subject: string;
  readonly scope: Scope | undefined;
  readonly via: 'token' | 'jwt';
}
