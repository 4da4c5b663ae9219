// The contract from the running service: openapi.yaml as committed, without a token even when the API needs one, with
// a strong ETag, and describing the route that serves it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { openTestApp, type TestApp } from '../../helpers/app.js';
import { TokenVerifier, parseTokens } from '../../../src/auth/tokens.js';
import { OPENAPI_FILE } from '../../../src/http/routes/openapi.js';

const onDisk = readFileSync(OPENAPI_FILE);

let t: TestApp;
before(async () => {
  t = await openTestApp({ auth: { tokens: new TokenVerifier(parseTokens('reader:read:openapi-test-token-0123', 'AUTH_TOKENS'), undefined), jwt: undefined } });
});
after(() => t.close());

test('GET /openapi.yaml: the committed contract byte for byte, as YAML, without a token', async () => {
  const res = await t.app.inject('/openapi.yaml');
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'application/yaml; charset=utf-8');
  assert.ok(res.rawPayload.equals(onDisk), 'the served bytes are openapi.yaml');
  const doc = parse(res.body) as { openapi: string; paths: Record<string, { get?: { operationId?: string; security?: unknown[] } }> };
  assert.equal(doc.openapi, '3.1.0');
  assert.equal(doc.paths['/openapi.yaml']?.get?.operationId, 'getOpenapi');
  assert.deepEqual(doc.paths['/openapi.yaml']?.get?.security, [], 'documented as needing no token');
  assert.ok(doc.paths['/v1/topologies/{name}/trace']?.get, 'the API itself is described');
  // The API still asks for the token.
  assert.equal((await t.app.inject('/v1/topologies')).statusCode, 401);
});

test('GET /openapi.yaml revalidates to 304 with its ETag, and answers whole for another', async () => {
  const first = await t.app.inject('/openapi.yaml');
  const tag = first.headers.etag as string;
  assert.match(tag, /^"[\w-]{22}"$/);
  const again = await t.app.inject({ url: '/openapi.yaml', headers: { 'if-none-match': tag } });
  assert.equal(again.statusCode, 304);
  assert.equal(again.body, '');
  const other = await t.app.inject({ url: '/openapi.yaml', headers: { 'if-none-match': '"an-older-contract-000000"' } });
  assert.equal(other.statusCode, 200);
  assert.equal(other.rawPayload.length, onDisk.length);
});
