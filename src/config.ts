// Configuration comes from the environment only (twelve-factor); every value has a default that works on a laptop.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import type { DbConfig } from './store/db.js';
import { parseTokens, TokenSyntaxError, type TokenEntry } from './auth/tokens.js';
import type { OidcConfig } from './auth/oidc.js';
import { DEFAULT_MAX_ANSWER_BYTES } from './answer/size.js';

export interface Config {
  host: string;
  port: number;
  db: DbConfig;
  /** Largest request body accepted, in bytes (a 5,000-node cluster is tens of MB). */
  bodyLimit: number;
  /** Largest trace answer, in bytes (single, batch, what-if): past it the answer is a 422 that says how to ask for less. */
  maxAnswerBytes: number;
  /** How many revisions of each topology are kept; older ones are pruned on write. */
  revisionsKept: number;
  /** The worker threads that compile and trace, and the limits on what they are asked. */
  work: WorkConfig;
  slackSigningSecret: string | undefined;
  logLevel: string;
  auth: AuthConfig;
  /** On SIGTERM: how long /readyz answers 503 while requests are still served, so load balancers stop sending. */
  drainMs: number;
  /** On SIGTERM, after the drain: how long answers in flight may take before the process gives up on them. */
  shutdownTimeoutMs: number;
  /** Requests per caller and minute (RATE_LIMIT, RATE_LIMIT_HEAVY); RATE_LIMIT=0 turns limiting off. */
  rateLimits: { perMinute: number; heavyPerMinute: number };
  /** CORS_ORIGINS: the origins whose pages may call the service (`*` for any); none by default. */
  corsOrigins: string[];
}

export interface AuthConfig {
  /** From AUTH_TOKENS and AUTH_TOKENS_FILE; tokens made with `npm run token` live in the database. */
  tokens: TokenEntry[];
  oidc: OidcConfig | undefined;
  /** AUTH_DISABLED=true: serve without authentication even off loopback (behind a proxy that authenticates). */
  disabled: boolean;
}

export interface WorkConfig {
  /** WORKERS: threads that compile and trace (the main thread only parses, routes and writes). */
  workers: number;
  /** HEAVY_WORKERS: of those, how many may run batches, matrices, diffs and compiles at once. */
  heavyWorkers: number;
  /** WORK_QUEUE: requests that may wait for a worker; the next is answered 503 with Retry-After. */
  queueLimit: number;
  /** JOB_DEADLINE_SECONDS: how long one request's work may run before it is stopped and answered 503. */
  deadlineSeconds: number;
  /** WORKER_HEAP_MB: each worker's heap limit. */
  heapMb: number;
  /** COMPILED_CACHE_MB: compiled topology revisions each worker keeps, in MB of heap. */
  cacheMb: number;
}

/** The defaults: every core a worker (at least two, so that a long job leaves one for traces), each with this process's heap limit. */
function workConfig(env: NodeJS.ProcessEnv): WorkConfig {
  const workers = integer(env, 'WORKERS', Math.max(2, availableParallelism()), 1, 256);
  const heapMb = integer(env, 'WORKER_HEAP_MB', Math.round(getHeapStatistics().heap_size_limit / 2 ** 20), 64, 1_048_576);
  return {
    workers,
    heavyWorkers: integer(env, 'HEAVY_WORKERS', Math.max(1, workers - 1), 1, workers),
    queueLimit: integer(env, 'WORK_QUEUE', 256, 0, 1_000_000),
    deadlineSeconds: integer(env, 'JOB_DEADLINE_SECONDS', 60, 1, 86_400),
    heapMb,
    cacheMb: integer(env, 'COMPILED_CACHE_MB', Math.round(heapMb / 2), 1, heapMb),
  };
}

export class ConfigError extends Error {}

function integer(env: NodeJS.ProcessEnv, key: string, fallback: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${key}=${raw} is not a whole number from ${min} to ${max}`);
  }
  return n;
}

function authConfig(env: NodeJS.ProcessEnv): AuthConfig {
  const tokens: TokenEntry[] = [];
  try {
    if (env.AUTH_TOKENS) tokens.push(...parseTokens(env.AUTH_TOKENS, 'AUTH_TOKENS'));
    if (env.AUTH_TOKENS_FILE) tokens.push(...parseTokens(readFileSync(env.AUTH_TOKENS_FILE, 'utf8'), env.AUTH_TOKENS_FILE));
  } catch (err) {
    if (err instanceof TokenSyntaxError) throw new ConfigError(err.message);
    throw new ConfigError(`AUTH_TOKENS_FILE: ${(err as Error).message}`);
  }
  const names = new Set<string>();
  for (const t of tokens) {
    if (names.has(t.name)) throw new ConfigError(`two tokens are named ${t.name}`);
    names.add(t.name);
  }
  let oidc: OidcConfig | undefined;
  if (env.OIDC_ISSUER) {
    if (!env.OIDC_AUDIENCE) throw new ConfigError('OIDC_ISSUER is set but OIDC_AUDIENCE is not: tokens must be checked for this service');
    oidc = {
      issuer: env.OIDC_ISSUER,
      audience: env.OIDC_AUDIENCE,
      jwksUrl: env.OIDC_JWKS_URL || undefined,
      jwksFile: env.OIDC_JWKS_FILE || undefined,
      scopePrefix: env.OIDC_SCOPE_PREFIX ?? 'pathtrace:',
    };
  } else if (env.OIDC_AUDIENCE || env.OIDC_JWKS_URL || env.OIDC_JWKS_FILE) {
    throw new ConfigError('OIDC_AUDIENCE, OIDC_JWKS_URL and OIDC_JWKS_FILE need OIDC_ISSUER');
  }
  const disabled = env.AUTH_DISABLED === 'true';
  if (!disabled && env.AUTH_DISABLED !== undefined && env.AUTH_DISABLED !== '' && env.AUTH_DISABLED !== 'false') {
    throw new ConfigError(`AUTH_DISABLED=${env.AUTH_DISABLED} is neither true nor false`);
  }
  return { tokens, oidc, disabled };
}

/** Whether a HOST value only listens on this machine. */
export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

/**
 * Secure by default: a service without authentication listens on loopback only. Refused otherwise, unless authentication
 * was turned off on purpose.
 */
export function checkExposure(config: Config, authenticated: boolean): void {
  if (authenticated || config.auth.disabled || isLoopback(config.host)) return;
  throw new ConfigError(
    `HOST=${config.host} would let anyone on the network call the service, and no authentication is configured: ` +
      'set AUTH_TOKENS (or create a token with `npm run token -- create NAME --scope write`) or OIDC_ISSUER, ' +
      'or AUTH_DISABLED=true behind a proxy that authenticates',
  );
}

export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const databaseUrl = env.DATABASE_URL?.trim();
  return {
    host: env.HOST || '127.0.0.1',
    port: integer(env, 'PORT', 8080, 0, 65535),
    db: databaseUrl ? { databaseUrl } : { dataDir: env.DATA_DIR || './data' },
    bodyLimit: integer(env, 'BODY_LIMIT', 64 * 1024 * 1024, 1024, 2 ** 31 - 1),
    // An answer is serialized as one string, and V8's longest is 512 Mi UTF-16 units.
    maxAnswerBytes: integer(env, 'MAX_ANSWER_BYTES', DEFAULT_MAX_ANSWER_BYTES, 1024, 256 * 1024 * 1024),
    revisionsKept: integer(env, 'REVISIONS_KEPT', 50, 1, 1_000_000),
    work: workConfig(env),
    slackSigningSecret: env.SLACK_SIGNING_SECRET || undefined,
    logLevel: env.LOG_LEVEL || 'info',
    auth: authConfig(env),
    drainMs: integer(env, 'DRAIN_SECONDS', 0, 0, 300) * 1000,
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_SECONDS', 30, 1, 3600) * 1000,
    rateLimits: { perMinute: integer(env, 'RATE_LIMIT', 6000, 0, 1_000_000), heavyPerMinute: integer(env, 'RATE_LIMIT_HEAVY', 120, 1, 1_000_000) },
    corsOrigins: corsOrigins(env.CORS_ORIGINS ?? ''),
  };
}

/** Origins as a browser sends them (scheme, host, port; no path), separated by commas or spaces, or `*`. */
function corsOrigins(raw: string): string[] {
  const origins = raw.split(/[\s,]+/).filter((o) => o !== '');
  for (const o of origins) {
    let origin: string | undefined;
    try {
      origin = new URL(o).origin;
    } catch {
      // not a URL: refused below
    }
    if (o !== '*' && origin !== o) {
      throw new ConfigError(`CORS_ORIGINS: ${o} is not an origin such as https://grafana.example.com or http://localhost:3000 (scheme, host and port, no path)`);
    }
  }
  return origins;
}
