// Who may call what. Every route needs a scope: read for questions (GET, and the POSTs that only ask: batches of
// traces, what-if), write for changes, unless the route says otherwise in `config.scope`. The checks run on the request
// line and headers, before any body is read: an unauthenticated 64 MB upload is refused without reading it.
// Without verifiers (no auth configured) every caller may do everything; server.ts allows that only on loopback.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { grants, type Principal, type Scope } from '../auth/scope.js';
import type { TokenVerifier } from '../auth/tokens.js';
import { KeysUnavailableError, type JwtVerifier } from '../auth/oidc.js';
import { sendProblem } from './problem.js';

export interface Verifiers {
  readonly tokens: TokenVerifier;
  readonly jwt: JwtVerifier | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; undefined when auth is off or the route is open. */
    principal: Principal | undefined;
  }
  interface FastifyContextConfig {
    /** The scope the route needs; `open` for routes that authenticate otherwise or not at all. */
    scope?: Scope | 'open';
  }
}

/** POST routes that change nothing: they need read, like a GET. */
const ASKING_POSTS = new Set(['/v1/traces', '/v1/topologies/:name/traces']);
/** Probes, metrics scrapes and Slack (which signs its requests) carry no bearer token. */
const OPEN = new Set(['/healthz', '/readyz', '/metrics', '/v1/integrations/slack/command']);

function scopeOf(request: FastifyRequest): Scope | 'open' {
  const configured = request.routeOptions.config?.scope;
  if (configured !== undefined) return configured;
  if (OPEN.has(request.routeOptions.url ?? '')) return 'open';
  const method = request.method;
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return 'read';
  return ASKING_POSTS.has(request.routeOptions.url ?? '') ? 'read' : 'write';
}

const REALM = 'Bearer realm="pathtrace"';

function refuse(reply: FastifyReply, status: 401 | 403, detail: string, challenge: string) {
  reply.header('www-authenticate', challenge);
  return sendProblem(reply, status, status === 401 ? 'unauthorized' : 'forbidden', detail);
}

async function authPlugin(app: FastifyInstance, options: { verifiers: Verifiers | undefined }) {
  const { verifiers } = options;
  app.decorateRequest('principal', undefined);
  if (verifiers === undefined) return;
  app.addHook('onRequest', async (request, reply) => {
    const needed = scopeOf(request);
    if (needed === 'open') return;
    const header = request.headers.authorization;
    if (header === undefined) return refuse(reply, 401, 'send a bearer token: Authorization: Bearer <token>', REALM);
    const match = /^Bearer +([\x21-\x7e]+)$/i.exec(header);
    if (match === null) {
      return refuse(reply, 401, 'the Authorization header is not "Bearer <token>"', `${REALM}, error="invalid_request"`);
    }
    const token = match[1]!;
    let principal: Principal | undefined;
    try {
      principal = verifiers.jwt !== undefined && /^eyJ[\w-]*\.[\w-]+\.[\w-]*$/.test(token) ? await verifiers.jwt.verify(token) : await verifiers.tokens.verify(token);
    } catch (err) {
      if (!(err instanceof KeysUnavailableError)) throw err;
      request.log.warn({ err }, 'token verification unavailable');
      reply.header('retry-after', '10');
      return sendProblem(reply, 503, 'unavailable', 'the identity provider could not be reached to verify the token; retry');
    }
    if (principal === undefined) {
      return refuse(reply, 401, 'the bearer token is not valid (unknown, revoked, expired, or not for this service)', `${REALM}, error="invalid_token"`);
    }
    request.principal = principal;
    if (principal.scope === undefined || !grants(principal.scope, needed)) {
      return refuse(
        reply,
        403,
        `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]} needs the ${needed} scope; this token has ${principal.scope ?? 'none of the service\'s scopes'}`,
        `${REALM}, error="insufficient_scope", scope="${needed}"`,
      );
    }
  });
}

export default fp(authPlugin, { name: 'auth' });
