// A Service with 10,000 endpoints: its DNAT step counts every endpoint by why it is or is not a candidate and lists only
// a few (the one the path takes among them), `detail=hops` leaves the list out, the summary says how many endpoints
// were not traced, `endpoint=` that is not a candidate names a few and counts the rest, and every format of the trace
// answer is held to MAX_ANSWER_BYTES with a problem that says how to ask for less.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { openTestApp, type TestApp } from '../../helpers/app.js';
import { buildApp } from '../../../src/app.js';
import { resetDb } from '../../helpers/db.js';
import { bigService } from '../../helpers/services.js';

let t: TestApp;
/** The same database, with a small MAX_ANSWER_BYTES. */
let small: FastifyInstance;
before(async () => {
  t = await openTestApp();
  await resetDb(t.db);
  const res = await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: bigService() });
  assert.equal(res.statusCode, 201, res.body);
  small = await buildApp({ db: t.db, maxAnswerBytes: 256 });
});
after(async () => {
  await small.close();
  await t.close();
});

type Json = Record<string, any>;
const FLOW = 'from=big-0-20&to=svc/default/big&port=http';
const trace = (query: string, app = t.app) => app.inject(`/v1/topologies/big/trace?${FLOW}${query}`);
const dnatOf = (hops: Json[]) => hops.flatMap((h) => h.steps as Json[]).find((s) => s.type === 'DNAT')!;

test('10,000 endpoints: the DNAT step counts them all, lists 32 with the one taken, and the answer stays small', async () => {
  const res = await trace('');
  assert.equal(res.statusCode, 200, res.body);
  const a = res.json();
  assert.equal(a.disposition, 'DELIVERED');
  assert.equal(a.pathCount, 64);
  assert.match(a.summary, /only the first 64 of the Service's 9000 endpoints are traced/);
  const dnat = dnatOf(a.hops);
  assert.deepEqual(dnat.endpoints, {
    total: 10_000,
    candidates: 9000,
    byEligibility: { ready: 9000, 'not-ready': 500, 'terminating-while-others-ready': 500 },
    omitted: 10_000 - 32,
  });
  assert.equal(dnat.candidates.length, 32);
  // The first of each kind is among those listed, and the one this path takes.
  assert.deepEqual(new Set(dnat.candidates.map((c: Json) => c.why)), new Set(['ready', 'not-ready', 'terminating-while-others-ready']));
  assert.equal(`${dnat.candidates[dnat.endpoint].address}:${dnat.candidates[dnat.endpoint].port}`, dnat.to);
  assert.match(dnat.explanation, /DNATs it to one of 9000 endpoints of 10000 \(500 not ready, 500 terminating while others are ready\)/);
  // Every one of the 16 paths listed lists no more: the answer is tens of kilobytes, not megabytes.
  for (const p of a.paths as Json[]) assert.ok(dnatOf(p.hops).candidates.length <= 32);
  assert.ok(res.body.length < 400_000, `${res.body.length} bytes`);
});

test('a path taking an endpoint far down the list: it is listed, at its index', async () => {
  const a = (await trace('&endpoint=10.1.99.101')).json();
  const dnat = dnatOf(a.hops);
  assert.equal(dnat.to, '10.1.99.101:8080');
  assert.equal(dnat.candidates.length, 32);
  assert.equal(dnat.candidates[dnat.endpoint].address, '10.1.99.101');
  assert.equal(dnat.candidates[dnat.endpoint].node, 'node-99');
});

test('detail=hops keeps the counts and the endpoint taken, not the list', async () => {
  const a = (await trace('&detail=hops')).json();
  const dnat = dnatOf(a.hops);
  assert.equal(dnat.candidates, undefined);
  assert.equal(dnat.endpoint, undefined);
  assert.equal(dnat.endpoints.total, 10_000);
  assert.match(dnat.to, /^10\.1\.\d+\.\d+:8080$/);
  const summary = (await trace('&detail=summary')).json();
  assert.equal(summary.hops, undefined);
});

test('endpoint= that is not a candidate: a 400 naming 32 of them and counting the rest', async () => {
  const res = await trace('&endpoint=10.1.0.2');
  assert.equal(res.statusCode, 400);
  const p = res.json();
  assert.equal(p.candidates.length, 32);
  assert.match(p.detail, /and 8968 more\)$/);
});

test('every format is held to MAX_ANSWER_BYTES, with a problem naming the limit and how to ask for less', async () => {
  for (const format of ['json', 'text', 'markdown', 'mermaid', 'svg']) {
    const res = await trace(`&format=${format}`, small);
    assert.equal(res.statusCode, 422, `${format}: ${res.body.slice(0, 200)}`);
    const p = res.json();
    assert.equal(p.type, 'urn:pathtrace:problem:answer-too-large');
    assert.match(p.detail, /limit of 256 bytes \(MAX_ANSWER_BYTES\)/);
    assert.match(p.detail, format === 'json' ? /detail=summary/ : new RegExp(`as ${format} takes \\d+ bytes; ask for less: format=json with detail=summary`));
  }
});
