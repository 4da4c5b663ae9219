// A dashboard on another origin calls the service from a browser: CORS is off unless CORS_ORIGINS says which origins,
// and then a preflight (which carries no token) is answered even when every other request needs one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, seedTwoNodes, type TestApp } from '../helpers/app.js';
import { TokenVerifier, parseTokens } from '../../src/auth/tokens.js';
import { ConfigError, loadConfig } from '../../src/config.js';

const GRAFANA = 'https://grafana.example.com';
const TOKEN = 'cors-test-reader-token-0123456789';
let off: TestApp;
let on: TestApp;
before(async () => {
  off = await openTestApp();
  await seedTwoNodes(off);
  on = await openTestApp({
    corsOrigins: [GRAFANA, 'http://localhost:3000'],
    auth: { tokens: new TokenVerifier(parseTokens(`grafana:read:${TOKEN}`, 'AUTH_TOKENS'), undefined), jwt: undefined },
  });
});
after(async () => {
  await off.close();
  await on.close();
});

const preflight = (t: TestApp, origin: string, method = 'GET') =>
  t.app.inject({
    method: 'OPTIONS',
    url: '/v1/topologies/two-nodes/reachability?format=rows',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization' },
  });

test('off by default: the preflight is not answered and answers carry no CORS header', async () => {
  const res = await preflight(off, GRAFANA);
  assert.equal(res.statusCode, 404);
  assert.equal(res.headers['access-control-allow-origin'], undefined);
  const get = await off.app.inject({ url: '/v1/topologies', headers: { origin: GRAFANA } });
  assert.equal(get.statusCode, 200);
  assert.equal(get.headers['access-control-allow-origin'], undefined);
});

test('an allowed origin: the preflight is answered without a token, then the request with one reads the headers it needs', async () => {
  const res = await preflight(on, GRAFANA);
  assert.equal(res.statusCode, 204);
  assert.equal(res.headers['access-control-allow-origin'], GRAFANA);
  assert.match(String(res.headers['access-control-allow-headers']), /authorization/);
  assert.match(String(res.headers['access-control-allow-methods']), /GET/);
  assert.match(String(res.headers['vary']), /Origin/);
  const unauthenticated = await on.app.inject({ url: '/v1/topologies', headers: { origin: GRAFANA } });
  assert.equal(unauthenticated.statusCode, 401);
  // The 401 is readable by the page too, so that it can ask for a token.
  assert.equal(unauthenticated.headers['access-control-allow-origin'], GRAFANA);
  const get = await on.app.inject({ url: '/v1/topologies', headers: { origin: GRAFANA, authorization: `Bearer ${TOKEN}` } });
  assert.equal(get.statusCode, 200);
  assert.equal(get.headers['access-control-allow-origin'], GRAFANA);
  assert.match(String(get.headers['access-control-expose-headers']), /etag/);
});

test('another origin gets no Access-Control-Allow-Origin, so its page cannot read the answer', async () => {
  const res = await preflight(on, 'https://evil.example.net');
  assert.equal(res.headers['access-control-allow-origin'], undefined);
  const get = await on.app.inject({ url: '/v1/topologies', headers: { origin: 'https://evil.example.net', authorization: `Bearer ${TOKEN}` } });
  assert.equal(get.headers['access-control-allow-origin'], undefined);
});

test('CORS_ORIGINS: origins separated by commas or spaces, or *; a URL with a path is refused', () => {
  assert.deepEqual(loadConfig({ CORS_ORIGINS: `${GRAFANA}, http://localhost:3000` }).corsOrigins, [GRAFANA, 'http://localhost:3000']);
  assert.deepEqual(loadConfig({ CORS_ORIGINS: '*' }).corsOrigins, ['*']);
  assert.deepEqual(loadConfig({}).corsOrigins, []);
  assert.throws(() => loadConfig({ CORS_ORIGINS: `${GRAFANA}/d/abc` }), ConfigError);
  assert.throws(() => loadConfig({ CORS_ORIGINS: 'grafana.example.com' }), /not an origin/);
});
