// Bearer tokens (from the environment, hashed or not, and from the database) and OIDC JWTs verified against a local key
// set: who may read, who may write, and what a caller without a valid token is told.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { TokenVerifier, createToken, parseTokens, revokeToken, sha256 } from '../../src/auth/tokens.js';
import { JwtVerifier } from '../../src/auth/oidc.js';
import { checkExposure, ConfigError, loadConfig } from '../../src/config.js';
import type { Db } from '../../src/store/db.js';
import { openTestDb } from '../helpers/db.js';
import { example } from '../helpers/examples.js';

const READER = 'reader-token-0123456789';
const WRITER = 'writer-token-0123456789';
const ISSUER = 'https://idp.example.test/realms/ops';
const AUDIENCE = 'pathtrace';

let db: Db;
let app: FastifyInstance;
let privateKey: CryptoKey;
let discovery: Server;
let discoveryApp: FastifyInstance;
let discoveryIssuer: string;

before(async () => {
  db = await openTestDb();
  await db.exec('TRUNCATE api_tokens');
  const keys = await generateKeyPair('ES256');
  privateKey = keys.privateKey;
  const jwks = { keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES256' }] };
  const file = join(mkdtempSync(join(tmpdir(), 'pathtrace-jwks-')), 'jwks.json');
  writeFileSync(file, JSON.stringify(jwks));
  // Environment tokens: one given as it is, one as its hash only.
  const tokens = parseTokens(`reader:read:${READER}, writer:write:sha256:${sha256(WRITER)}`, 'AUTH_TOKENS');
  const jwt = new JwtVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksFile: file, scopePrefix: 'pathtrace:' });
  app = await buildApp({ db, auth: { tokens: new TokenVerifier(tokens, db), jwt } });
  await app.ready();
  await app.inject({ method: 'DELETE', url: '/v1/topologies/auth-a', headers: { authorization: `Bearer ${WRITER}` } });

  // An identity provider on loopback that serves its discovery document and key set, for the discovery path.
  discovery = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') res.end(JSON.stringify({ issuer: discoveryIssuer, jwks_uri: `${discoveryIssuer}/keys` }));
    else if (req.url === '/keys') res.end(JSON.stringify(jwks));
    else res.writeHead(404).end('{}');
  });
  await new Promise<void>((resolve) => discovery.listen(0, '127.0.0.1', resolve));
  discoveryIssuer = `http://127.0.0.1:${(discovery.address() as { port: number }).port}`;
  const jwt2 = new JwtVerifier({ issuer: discoveryIssuer, audience: AUDIENCE, scopePrefix: 'pathtrace:' });
  discoveryApp = await buildApp({ db, auth: { tokens: new TokenVerifier([], undefined), jwt: jwt2 } });
});
after(async () => {
  await app.close();
  await discoveryApp.close();
  discovery.close();
  await db.exec('TRUNCATE api_tokens');
  await db.close();
});

const doc = () => ({ ...(example('two-nodes') as object), name: 'auth-a' });
const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, token?: string, payload?: unknown, target = app) =>
  target.inject({ method, url, payload: payload as object, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

function jwt(claims: Record<string, unknown>, { issuer = ISSUER, audience = AUDIENCE, expires = '5m' } = {}) {
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(issuer).setAudience(audience).setSubject('alice').setIssuedAt().setExpirationTime(expires).sign(privateKey);
}

test('without a token: 401 problem with a Bearer challenge; probes and Slack stay open', async () => {
  const res = await call('GET', '/v1/topologies');
  assert.equal(res.statusCode, 401);
  assert.match(res.headers['content-type'] as string, /application\/problem\+json/);
  assert.equal(res.json().type, 'urn:pathtrace:problem:unauthorized');
  assert.equal(res.headers['www-authenticate'], 'Bearer realm="pathtrace"');
  assert.equal((await call('GET', '/healthz')).statusCode, 200);
  assert.equal((await call('GET', '/readyz')).statusCode, 200);
  // Slack's route answers by its own checks (not configured here), not with 401.
  const slack = await app.inject({ method: 'POST', url: '/v1/integrations/slack/command', payload: 'text=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(slack.json().type, 'urn:pathtrace:problem:slack-not-configured');
});

test('a wrong token or a malformed header: 401 invalid_token / invalid_request, and the body is never read', async () => {
  const bad = await call('POST', '/v1/topologies', 'not-a-token-at-all-000', doc());
  assert.equal(bad.statusCode, 401);
  assert.match(bad.headers['www-authenticate'] as string, /error="invalid_token"/);
  const basic = await app.inject({ method: 'GET', url: '/v1/topologies', headers: { authorization: 'Basic dXNlcjpwYXNz' } });
  assert.equal(basic.statusCode, 401);
  assert.match(basic.headers['www-authenticate'] as string, /error="invalid_request"/);
  assert.equal((await call('GET', '/v1/topologies/auth-a', WRITER)).statusCode, 404, 'nothing was stored');
});

test('read may ask (GET, batch traces, what-if) but not change; write may change', async () => {
  const denied = await call('POST', '/v1/topologies', READER, doc());
  assert.equal(denied.statusCode, 403);
  assert.equal(denied.json().type, 'urn:pathtrace:problem:forbidden');
  assert.match(denied.headers['www-authenticate'] as string, /error="insufficient_scope", scope="write"/);
  assert.equal((await call('POST', '/v1/topologies', WRITER, doc())).statusCode, 201);
  assert.equal((await call('GET', '/v1/topologies/auth-a/trace?from=pod-a1&to=pod-b1', READER)).json().disposition, 'DELIVERED');
  const batch = await call('POST', '/v1/topologies/auth-a/traces', READER, { flows: [{ from: 'pod-a1', to: 'pod-b1' }] });
  assert.equal(batch.statusCode, 200, batch.body);
  const whatIf = await call('POST', '/v1/traces', READER, { base: 'auth-a', flows: [{ from: 'pod-a1', to: 'pod-b1' }] });
  assert.equal(whatIf.statusCode, 200, whatIf.body);
  assert.equal((await call('DELETE', '/v1/topologies/auth-a', READER)).statusCode, 403);
  assert.equal((await call('DELETE', '/v1/topologies/auth-a', WRITER)).statusCode, 204);
});

test('tokens made with `npm run token` (the database) work, and stop working once revoked', async () => {
  const token = await createToken(db, 'ops-bot', 'write');
  assert.match(token, /^pt_[\w-]{43}$/);
  const stored = await db.query<{ sha256: string }>('SELECT sha256 FROM api_tokens WHERE name = $1', ['ops-bot']);
  assert.equal(stored.rows[0]!.sha256, sha256(token), 'only the hash is stored');
  assert.equal((await call('POST', '/v1/topologies', token, doc())).statusCode, 201);
  assert.equal(await revokeToken(db, 'ops-bot'), true);
  // A fresh verifier has no cached answer: the revoked token is refused.
  const fresh = await buildApp({ db, auth: { tokens: new TokenVerifier([], db), jwt: undefined } });
  assert.equal((await call('GET', '/v1/topologies', token, undefined, fresh)).statusCode, 401);
  await fresh.close();
});

test('OIDC: a JWT from the issuer for this audience with a pathtrace scope is accepted; anything else is not', async () => {
  const writer = await jwt({ scope: 'openid pathtrace:write' });
  assert.equal((await call('PUT', '/v1/topologies/auth-a', writer, doc())).statusCode, 200);
  const azure = await jwt({ scp: ['pathtrace:read'] });
  assert.equal((await call('GET', '/v1/topologies/auth-a', azure)).statusCode, 200);
  assert.equal((await call('DELETE', '/v1/topologies/auth-a', azure)).statusCode, 403);
  const none = await jwt({ scope: 'openid profile' });
  const noScope = await call('GET', '/v1/topologies', none);
  assert.equal(noScope.statusCode, 403);
  assert.match(noScope.json().detail, /none of the service's scopes/);
  for (const token of [
    await jwt({ scope: 'pathtrace:admin' }, { audience: 'another-service' }),
    await jwt({ scope: 'pathtrace:admin' }, { issuer: 'https://evil.example.test' }),
    await jwt({ scope: 'pathtrace:admin' }, { expires: '-2m' }),
    (await jwt({ scope: 'pathtrace:admin' })).slice(0, -4) + 'AAAA',
  ]) {
    assert.equal((await call('GET', '/v1/topologies', token)).statusCode, 401);
  }
});

test("OIDC discovery: the key set is found through the issuer's discovery document", async () => {
  const token = await jwt({ scope: 'pathtrace:read' }, { issuer: discoveryIssuer });
  assert.equal((await call('GET', '/v1/topologies', token, undefined, discoveryApp)).statusCode, 200);
});

test('secure by default: without authentication the service refuses a non-loopback HOST', () => {
  const config = (env: Record<string, string>) => loadConfig({ DATA_DIR: '/tmp/x', ...env });
  assert.throws(() => checkExposure(config({ HOST: '0.0.0.0' }), false), (e: unknown) => e instanceof ConfigError && /no authentication is configured/.test(e.message));
  checkExposure(config({ HOST: '127.0.0.1' }), false);
  checkExposure(config({ HOST: '::1' }), false);
  checkExposure(config({ HOST: '0.0.0.0' }), true);
  checkExposure(config({ HOST: '0.0.0.0', AUTH_DISABLED: 'true' }), false);
  assert.throws(() => config({ AUTH_TOKENS: 'a:superuser:0123456789abcdef' }), /scope "superuser"/);
  assert.throws(() => config({ AUTH_TOKENS: 'a:read:short' }), /shorter than 16/);
  assert.throws(() => config({ OIDC_ISSUER: ISSUER }), /OIDC_AUDIENCE/);
  assert.equal(config({ AUTH_TOKENS: `a:read:${READER}\nb:admin:${WRITER}` }).auth.tokens.length, 2);
});
