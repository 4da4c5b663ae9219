// OpenID Connect access tokens: JWTs signed by the identity provider, verified against its key set (JWKS) with the
// configured issuer and audience. The key set comes from a file (offline, or keys pinned by the operator), a URL, or the
// issuer's discovery document, fetched on first use and retried after a failure, so the service starts while the
// provider is down. Scopes are read from `scope` (a space-separated string) or `scp` (Azure's array), as
// `<prefix>read|write|admin`.
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { grants, isScope, type Principal, type Scope } from './scope.js';

export interface OidcConfig {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl?: string;
  readonly jwksFile?: string;
  /** Prefix of the service's scopes in the token, e.g. "pathtrace:" for "pathtrace:read". */
  readonly scopePrefix: string;
}

/** The provider's keys could not be had: the caller is told to retry (503), not that its token is bad. */
export class KeysUnavailableError extends Error {}

export class JwtVerifier {
  private keys: Promise<JWTVerifyGetKey> | undefined;

  constructor(private readonly config: OidcConfig) {
    if (config.jwksFile !== undefined) {
      this.keys = Promise.resolve(createLocalJWKSet(JSON.parse(readFileSync(config.jwksFile, 'utf8'))));
    } else if (config.jwksUrl !== undefined) {
      this.keys = Promise.resolve(createRemoteJWKSet(new URL(config.jwksUrl)));
    }
  }

  /** A verified token's principal; undefined for any token that does not verify (bad signature, expired, wrong audience). */
  async verify(token: string): Promise<Principal | undefined> {
    let payload: JWTPayload;
    try {
      const keys = await this.keySet();
      ({ payload } = await jwtVerify(token, keys, { issuer: this.config.issuer, audience: this.config.audience, clockTolerance: 30 }));
    } catch (err) {
      // A key set that cannot be fetched (fetch rejects with a TypeError) is the provider's trouble, not the token's.
      if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || err instanceof TypeError) {
        throw new KeysUnavailableError(`the identity provider's key set could not be fetched: ${err.message}`);
      }
      if (err instanceof errors.JOSEError) return undefined;
      throw err;
    }
    return { subject: `jwt:${payload.sub ?? '?'}`, scope: this.scopeOf(payload), via: 'jwt' };
  }

  private scopeOf(payload: JWTPayload): Scope | undefined {
    const raw = [payload.scope, payload.scp].flatMap((v) => (typeof v === 'string' ? v.split(' ') : Array.isArray(v) ? v : []));
    let best: Scope | undefined;
    for (const s of raw) {
      if (typeof s !== 'string' || !s.startsWith(this.config.scopePrefix)) continue;
      const scope = s.slice(this.config.scopePrefix.length);
      if (isScope(scope) && (best === undefined || grants(scope, best))) best = scope;
    }
    return best;
  }

  private keySet(): Promise<JWTVerifyGetKey> {
    this.keys ??= this.discover();
    return this.keys;
  }

  private async discover(): Promise<JWTVerifyGetKey> {
    const url = `${this.config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`${url} answered ${res.status}`);
      const doc = (await res.json()) as { jwks_uri?: unknown };
      if (typeof doc.jwks_uri !== 'string') throw new Error(`${url} names no jwks_uri`);
      return createRemoteJWKSet(new URL(doc.jwks_uri));
    } catch (err) {
      this.keys = undefined; // asked again on the next request
      throw new KeysUnavailableError(`the identity provider's key set could not be fetched: ${(err as Error).message}`);
    }
  }
}
