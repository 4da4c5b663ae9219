// The listening service: configuration from the environment, the database (migrated under an advisory lock), the app,
// and a graceful stop on SIGTERM/SIGINT (stop accepting, finish in-flight requests, close the database).
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { checkExposure, ConfigError, loadConfig } from './config.js';
import { TokenVerifier } from './auth/tokens.js';
import { openDb } from './store/db.js';
import { DataDirLockedError } from './store/datadir-lock.js';
import { migrate } from './store/migrate.js';

async function main() {
  const config = loadConfig(process.env);
  // The database opens and migrates (PGlite: its WebAssembly compiled and started in a thread of its own) while this
  // thread loads the rest of the service: the two took about as long as each other, one after the other.
  const opening = openDb(config.db, {
    // Another process has the folder now: this one must not write another byte to it, not even a clean close.
    onDataDirLost: (err) => {
      console.error(`pathtrace: ${err.message}: another process has taken the data folder over; exiting without touching it`);
      process.exit(1);
    },
  }).then(async (db) => {
    await migrate(db);
    return db;
  });
  // Handled where it is awaited below; this only keeps a failure during the imports from counting as unhandled.
  opening.catch(() => {});
  const [{ buildApp }, { logSerializers }, { JwtVerifier }] = await Promise.all([
    import('./app.js'),
    import('./http/log.js'),
    import('./auth/oidc.js'),
  ]);
  const db = await opening;
  // Authentication is on when any token or an identity provider is configured, tokens made with `npm run token`
  // included (those are looked up per request, so tokens created later work too).
  const { auth } = config;
  const stored = Number((await db.query<{ n: string }>('SELECT count(*)::int8 AS n FROM api_tokens')).rows[0]!.n);
  const authenticated = !auth.disabled && (auth.tokens.length > 0 || stored > 0 || auth.oidc !== undefined);
  checkExposure(config, authenticated);
  const app = await buildApp({
    auth: authenticated ? { tokens: new TokenVerifier(auth.tokens, db), jwt: auth.oidc && new JwtVerifier(auth.oidc) } : undefined,
    db,
    bodyLimit: config.bodyLimit,
    maxAnswerBytes: config.maxAnswerBytes,
    revisionsKept: config.revisionsKept,
    work: config.work,
    slackSigningSecret: config.slackSigningSecret,
    rateLimits: config.rateLimits,
    corsOrigins: config.corsOrigins,
    logger: { level: config.logLevel, serializers: logSerializers },
  });

  app.work.pool.start();
  const flushed = watchSockets(app.server);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    // Not ready any more, first: load balancers stop sending while what they already sent is answered.
    app.draining = true;
    app.log.info({ signal, drainSeconds: config.drainMs / 1000 }, 'stopping: /readyz answers 503, then in-flight requests are finished');
    // A request that never ends must not keep the process alive forever.
    const deadline = setTimeout(() => {
      app.log.error(`in-flight requests did not finish within ${config.shutdownTimeoutMs / 1000} s; exiting`);
      process.exit(1);
    }, config.drainMs + config.shutdownTimeoutMs);
    deadline.unref();
    if (config.drainMs > 0) await new Promise((resolve) => setTimeout(resolve, config.drainMs));
    await flushed();
    try {
      await app.close();
    } finally {
      await db.close();
    }
    process.exitCode = 0;
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  if (auth.disabled) app.log.warn('AUTH_DISABLED=true: every caller may read and change every topology');
  else if (!authenticated) app.log.info('no authentication configured: listening on loopback only');
  await app.listen({ host: config.host, port: config.port });
  app.warmValidators();
  app.log.info(`pathtrace on ${db.kind === 'pg' ? 'PostgreSQL' : `embedded PGlite in ${'dataDir' in config.db ? config.db.dataDir : 'memory'}`}`);
}

/**
 * Resolves when no connection holds bytes of an answer that the kernel has not taken yet. Node's server.close() (which
 * Fastify's close calls) destroys every connection whose answer has ended, even while a slow reader has megabytes of it
 * still queued in the socket: a 9 MB matrix would be cut at what the kernel had taken, with the log saying 200.
 */
function watchSockets(server: Server): () => Promise<void> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return async () => {
    // Polled: 'drain' is only emitted after a write that filled the buffer, not for the last few kilobytes.
    while ([...sockets].some((s) => s.writableLength > 0 && !s.destroyed)) await new Promise((resolve) => setTimeout(resolve, 20));
  };
}

main().catch((err: unknown) => {
  // Errors a user can fix get one clear line, not a stack trace.
  if (err instanceof DataDirLockedError || err instanceof ConfigError) {
    console.error(`pathtrace: ${err.message}`);
  } else {
    console.error('pathtrace: failed to start:', err);
  }
  process.exit(1);
});
