// @serial: a batch that stops early is judged by how soon it stopped (test/run.sh runs this file alone).
// What an answer costs is bounded and visible: a flow split into many ECMP paths lists a few of them and counts them all,
// `detail` leaves out what a client does not read, and a batch that would answer more than MAX_ANSWER_BYTES stops early
// with a 422 that says how to ask for less, instead of running out of memory (or string length) after tracing every flow.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { openTestApp, type TestApp } from '../../helpers/app.js';
import { buildApp } from '../../../src/app.js';
import { resetDb } from '../../helpers/db.js';
import { ecmpRing } from '../../helpers/fabrics.js';
import { ConfigError, loadConfig } from '../../../src/config.js';

/** r0 to an address nobody owns: every router splits the flow four ways, and every path ends in a LOOP. */
const LOOPING = { from: 'r0', to: '10.99.0.1' };
const ring = ecmpRing(16);

let t: TestApp;
/** The same service, on the same database, with a small MAX_ANSWER_BYTES. */
let small: FastifyInstance;
before(async () => {
  t = await openTestApp();
  await resetDb(t.db);
  const res = await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: { name: 'ring', fabric: ring } });
  assert.equal(res.statusCode, 201, res.body);
  small = await buildApp({ db: t.db, maxAnswerBytes: 100_000 });
});
after(async () => {
  await small.close();
  await t.close();
});

const trace = (query = '', app = t.app) => app.inject(`/v1/topologies/ring/trace?from=r0&to=10.99.0.1${query}`);
const batch = (n: number, query = '', app = t.app) =>
  app.inject({ method: 'POST', url: `/v1/topologies/ring/traces${query}`, payload: { flows: Array.from({ length: n }, () => LOOPING) } });
const whatIf = (n: number, query = '') =>
  t.app.inject({ method: 'POST', url: `/v1/traces${query}`, payload: { topology: { fabric: ring }, flows: Array.from({ length: n }, () => LOOPING) } });

/** Every key anywhere in a JSON value. */
function keys(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) keys(v, into);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      into.add(k);
      keys(v, into);
    }
  }
  return into;
}

test('a flow split into more paths than the list holds: the first 16 are listed, all of them counted', async () => {
  const res = await trace();
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.equal(body.disposition, 'LOOP');
  assert.equal(body.pathCount, 64, 'the engine follows 64 paths');
  assert.equal(body.paths.length, 16);
  assert.equal(body.pathsOmitted, 48);
  assert.match(body.summary, /\(all 64 ECMP paths agree: 0 of 64 deliver\)$/);

  const all = (await trace('&paths=64')).json();
  assert.equal(all.paths.length, 64);
  assert.equal(all.pathCount, 64);
  assert.equal(all.pathsOmitted, undefined, 'nothing is left out');
  assert.deepEqual(all.paths.slice(0, 16), body.paths, 'the list is cut, not changed');

  const beyond = await trace('&paths=65');
  assert.equal(beyond.statusCode, 400);
  assert.deepEqual(beyond.json().errors, [{ parameter: 'paths', detail: 'must be <= 64' }]);
  // The text form is drawn from the full answer: it counts every path.
  assert.match((await trace('&format=text')).body, /^\(64 ECMP paths; the worst is shown: LOOP, LOOP/m);
});

test('detail=hops: the hops and the fields of their steps, without the prose', async () => {
  const full = (await trace('&size=1500&paths=2')).json();
  const hops = (await trace('&size=1500&paths=2&detail=hops')).json();
  assert.ok(keys(full).has('explanation') && keys(full).has('candidates'), 'the full answer says why');
  assert.ok(!keys(hops).has('explanation'), 'no step (and no MTU report) says why');
  assert.ok(!keys(hops).has('candidates'));
  // Otherwise the same answer: every hop, step type and field.
  const bare = (answer: unknown) => JSON.parse(JSON.stringify(answer, (k, v) => (k === 'explanation' || k === 'candidates' ? undefined : v)));
  assert.deepEqual(hops, bare(full));
  assert.equal(hops.mtu.fits, true);
  assert.deepEqual(
    hops.hops[0].steps.map((s: { type: string }) => s.type),
    ['ORIGINATE', 'ROUTE', 'TRANSMIT'],
  );
  assert.equal(hops.hops[0].steps[1].route.dst, 'default');
});

test('detail=summary: the flow, its ends, the disposition and the summary line, and the count of paths', async () => {
  const full = (await trace()).json();
  const res = await trace('&detail=summary');
  assert.equal(res.statusCode, 200);
  const { topology, flow, source, destination, disposition, summary, pathCount } = full;
  assert.deepEqual(res.json(), { topology, flow, source, destination, disposition, summary, pathCount });
});

test('a batch whose answer would pass MAX_ANSWER_BYTES stops early with a 422 that says how to ask for less', async () => {
  const started = Date.now();
  const res = await batch(1000);
  const took = Date.now() - started;
  assert.equal(res.statusCode, 422, res.body.slice(0, 300));
  assert.match(res.headers['content-type'] as string, /^application\/problem\+json/);
  const problem = res.json();
  assert.equal(problem.type, 'urn:pathtrace:problem:answer-too-large');
  assert.equal(problem.title, 'The answer would be too large');
  assert.match(
    problem.detail,
    /^the answer would be larger than the limit of 33554432 bytes \(MAX_ANSWER_BYTES\): the first (\d+) of 1000 flows took \d+ bytes, and flow \d+ \(r0 → 10\.99\.0\.1\) would pass it; ask for less: detail=hops \(no prose\) or detail=summary \(no hops\), or fewer paths per trace \(paths=1\), or fewer flows per request \(\d+ fit\)$/,
  );
  const fit = Number(/the first (\d+) of/.exec(problem.detail)![1]);
  assert.ok(fit > 100 && fit < 1000, `${fit} flows fit`);
  // It stopped where the limit was passed, the other flows never traced (the whole answer, 668 MB, took minutes and a 500).
  assert.ok(took < 8000, `answered in ${took} ms`);
});

test('the same batch at detail=summary is answered, every flow with its worst disposition and its count of paths', async () => {
  const res = await batch(1000, '?detail=summary');
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.deepEqual(body.count, { flows: 1000, errors: 0, byDisposition: { LOOP: 1000 } });
  assert.ok(body.traces.every((x: { trace: { pathCount: number; hops?: unknown } }) => x.trace.pathCount === 64 && x.trace.hops === undefined));
  assert.ok(res.body.length < 1_000_000, `${res.body.length} bytes`);
});

test('the batch at detail=hops has no prose, there and back', async () => {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/topologies/ring/traces?detail=hops&paths=1',
    payload: { flows: [{ from: 'r0', to: 'r5' }, LOOPING], bidirectional: true },
  });
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.ok(!keys(body).has('explanation') && !keys(body).has('candidates'));
  assert.equal(body.traces[0].return.disposition, body.traces[0].trace.disposition);
  // The ways there and back are still compared, though the answer shows only the listed path of each.
  assert.equal(typeof body.traces[0].asymmetric, 'boolean');
  assert.equal(body.traces[1].trace.paths.length, 1);
});

test('the what-if route is bounded alike, with a topology given inline', async () => {
  const res = await whatIf(1000);
  assert.equal(res.statusCode, 422);
  assert.equal(res.json().type, 'urn:pathtrace:problem:answer-too-large');
  const summary = await whatIf(1000, '?detail=summary');
  assert.equal(summary.statusCode, 200);
  assert.deepEqual(summary.json().count.byDisposition, { LOOP: 1000 });
  const bad = await whatIf(1, '?detail=everything');
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().errors[0].parameter, 'detail');
});

test('MAX_ANSWER_BYTES bounds the single trace too, and is read from the environment', async () => {
  const res = await trace('&paths=64', small);
  assert.equal(res.statusCode, 422);
  assert.match(res.json().detail, /^the answer would be larger than the limit of 100000 bytes \(MAX_ANSWER_BYTES\): this trace takes \d+ bytes; ask for less: detail=hops/);
  assert.equal((await trace('&paths=1', small)).statusCode, 200);
  assert.equal((await batch(2, '?detail=summary', small)).statusCode, 200);

  assert.equal(loadConfig({}).maxAnswerBytes, 32 * 1024 * 1024);
  assert.equal(loadConfig({ MAX_ANSWER_BYTES: '100000' }).maxAnswerBytes, 100_000);
  assert.throws(() => loadConfig({ MAX_ANSWER_BYTES: '1e12' }), ConfigError);
});
