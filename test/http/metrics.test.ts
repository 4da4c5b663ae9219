// What an operator's Prometheus sees, and the request id a user can quote.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, seedTwoNodes, type TestApp } from '../helpers/app.js';

let t: TestApp;
before(async () => {
  t = await openTestApp();
  await seedTwoNodes(t);
});
after(() => t.close());

const sample = (text: string, pattern: RegExp): number => {
  const line = text.split('\n').find((l) => pattern.test(l));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
};

test('/metrics counts requests by route pattern and status, traces by disposition, compiles and cache lookups, and Node process metrics', async () => {
  await t.app.inject('/v1/topologies/two-nodes/trace?from=pod-a1&to=pod-b1');
  await t.app.inject('/v1/topologies/two-nodes/trace?from=pod-a1&to=pod-b1');
  await t.app.inject('/v1/topologies/two-nodes/trace?from=nobody&to=pod-b1');
  await t.app.inject('/v1/topologies/no-such-topology-xyz');
  const res = await t.app.inject('/metrics');
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
  const text = res.body;
  const route = /pathtrace_http_request_duration_seconds_count\{route="\/v1\/topologies\/:name\/trace",method="GET",status="200"\}/;
  assert.equal(sample(text, route), 2);
  assert.equal(sample(text, /pathtrace_http_request_duration_seconds_count\{route="\/v1\/topologies\/:name\/trace",method="GET",status="404"\}/), 1);
  assert.doesNotMatch(text, /no-such-topology-xyz|pod-a1/, 'names and query strings never become labels');
  assert.ok(sample(text, /^pathtrace_compile_duration_seconds_count/) >= 1, 'the write compiled its revision');
  assert.ok(sample(text, /pathtrace_compiled_cache_lookups_total\{result="hit"\}/) >= 2);
  assert.ok(sample(text, /^pathtrace_compiled_cache_bytes/) > 0, 'the workers report the heap their compiled revisions take');
  assert.equal(sample(text, /^pathtrace_worker_queue_length/), 0);
  assert.equal(sample(text, /^pathtrace_worker_jobs_running/), 0);
  assert.equal(sample(text, /pathtrace_traces_total\{disposition="DELIVERED"\}/), 2);
  assert.match(text, /^nodejs_eventloop_lag_p99_seconds /m);
  assert.match(text, /^process_resident_memory_bytes /m);
});

test('every answer carries X-Request-Id: a plain one given by the caller is echoed, anything else replaced', async () => {
  const own = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'ticket-4711' } });
  assert.equal(own.headers['x-request-id'], 'ticket-4711');
  const forged = await t.app.inject({ url: '/v1/topologies/nope', headers: { 'x-request-id': 'x\n{"level":60}' } });
  assert.match(forged.headers['x-request-id'] as string, /^[0-9a-f-]{36}$/);
  assert.equal(forged.statusCode, 404);
});
