// Cross-origin calls, for dashboards served from elsewhere (Grafana's browser-side datasources, a team's own page): off
// unless CORS_ORIGINS names the origins allowed. Registered before authentication, so that a browser's preflight, which
// carries no Authorization header, is answered rather than refused with 401.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import cors from '@fastify/cors';

async function corsPlugin(app: FastifyInstance, options: { origins: readonly string[] }) {
  if (options.origins.length === 0) return;
  await app.register(cors, {
    // '*' alone allows any origin; callers authenticate with a bearer token, never a cookie, so no credentials mode.
    origin: options.origins.includes('*') ? '*' : [...options.origins],
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'if-match', 'if-none-match', 'x-request-id'],
    // What a page needs to read off an answer: the revision (ETag), the request id for a report, when to retry.
    exposedHeaders: ['etag', 'location', 'retry-after', 'x-request-id', 'www-authenticate'],
    maxAge: 600,
  });
}

export default fp(corsPlugin, { name: 'cors' });
