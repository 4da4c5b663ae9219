// Per-caller budgets: a caller past its budget gets 429 as a problem document with Retry-After; another caller, another
// budget, and the heavy routes count apart from single traces.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { TokenVerifier, parseTokens } from '../../src/auth/tokens.js';
import type { Db } from '../../src/store/db.js';
import { openTestDb } from '../helpers/db.js';
import { example } from '../helpers/examples.js';

const A = 'rate-token-a-0123456789';
const B = 'rate-token-b-0123456789';
let db: Db;
let app: FastifyInstance;
before(async () => {
  db = await openTestDb();
  const tokens = parseTokens(`a:write:${A} b:write:${B}`, 'test');
  app = await buildApp({ db, auth: { tokens: new TokenVerifier(tokens, undefined), jwt: undefined }, rateLimits: { perMinute: 5, heavyPerMinute: 2 } });
  const res = await app.inject({ method: 'POST', url: '/v1/topologies', payload: example('two-nodes') as object, headers: { authorization: `Bearer ${B}` } });
  assert.equal(res.statusCode, 201, res.body);
});
after(async () => {
  await app.close();
  await db.close();
});

const get = (token: string, url = '/v1/topologies/two-nodes/trace?from=pod-a1&to=pod-b1') =>
  app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });

test('past its budget a caller gets 429 problem+json with Retry-After; another token is not affected; probes never count', async () => {
  for (let i = 0; i < 5; i++) assert.equal((await get(A)).statusCode, 200);
  const limited = await get(A);
  assert.equal(limited.statusCode, 429);
  assert.match(limited.headers['content-type'] as string, /application\/problem\+json/);
  assert.equal(limited.json().type, 'urn:pathtrace:problem:rate-limited');
  assert.match(limited.json().detail, /more than 5 requests a minute from token:a; retry in/);
  assert.ok(Number(limited.headers['retry-after']) > 0);
  assert.equal((await get(B)).statusCode, 200);
  for (let i = 0; i < 10; i++) assert.equal((await app.inject('/healthz')).statusCode, 200);
});

test('heavy routes have their own, smaller budget', async () => {
  const batch = (token: string) =>
    app.inject({ method: 'POST', url: '/v1/topologies/two-nodes/traces', payload: { flows: [{ from: 'pod-a1', to: 'pod-b1' }] }, headers: { authorization: `Bearer ${token}` } });
  // B has used 1 light request and 1 heavy one (the POST that stored the topology).
  assert.equal((await batch(B)).statusCode, 200);
  const limited = await batch(B);
  assert.equal(limited.statusCode, 429);
  assert.match(limited.json().detail, /more than 2 heavy requests/);
  assert.equal((await get(B)).statusCode, 200, 'single traces still have their budget');
});
