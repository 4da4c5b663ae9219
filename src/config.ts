// Configuration comes from the environment only (twelve-factor); every value has a default that works on a laptop.
import type { DbConfig } from './store/db.js';

export interface Config {
  host: string;
  port: number;
  db: DbConfig;
  /** Largest request body accepted, in bytes (a 5,000-node cluster is tens of MB). */
  bodyLimit: number;
  /** How many revisions of each topology are kept; older ones are pruned on write. */
  revisionsKept: number;
  /** How many compiled topology revisions are kept in memory (an LRU). */
  compiledCacheSize: number;
  slackSigningSecret: string | undefined;
  logLevel: string;
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

export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const databaseUrl = env.DATABASE_URL?.trim();
  return {
    host: env.HOST || '127.0.0.1',
    port: integer(env, 'PORT', 8080, 0, 65535),
    db: databaseUrl ? { databaseUrl } : { dataDir: env.DATA_DIR || './data' },
    bodyLimit: integer(env, 'BODY_LIMIT', 64 * 1024 * 1024, 1024, 2 ** 31 - 1),
    revisionsKept: integer(env, 'REVISIONS_KEPT', 50, 1, 1_000_000),
    compiledCacheSize: integer(env, 'COMPILED_CACHE_SIZE', 16, 1, 100_000),
    slackSigningSecret: env.SLACK_SIGNING_SECRET || undefined,
    logLevel: env.LOG_LEVEL || 'info',
  };
}
