// @serial: a request past its deadline, and the time it took to be stopped (test/run.sh runs this file alone).
// The worker threads that compile and trace, through HTTP: a write is compiled before it is acknowledged, a name deleted
// and created again is never answered from the old incarnation, a deleted topology is let go, a request past its
// deadline is stopped and answered 503 (and the service goes on), and what cannot wait is refused with Retry-After.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, type TestApp } from '../helpers/app.js';
import { resetDb } from '../helpers/db.js';
import { example } from '../helpers/examples.js';
import { generateCluster } from '../../bench/cluster.js';

let t: TestApp;
before(async () => {
  t = await openTestApp({ work: { workers: 2, heavyWorkers: 1, queueLimit: 1, deadlineSeconds: 5 } });
  t.app.work.pool.start();
  await resetDb(t.db);
  const { name: _, ...doc } = example('two-nodes') as { name: string };
  for (const name of ['w-a', 'w-b']) {
    const res = await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: { ...doc, name } });
    assert.equal(res.statusCode, 201, res.body);
  }
  // A matrix far past the deadline on any machine: labels that tell every pod apart to NetworkPolicy (bit k of its
  // index) and a policy per bit admitting the pods with that bit set, so that no two sources share a trace (4,500 × 4,500
  // traces, minutes of work). Without them the matrix of these 4,500 pods takes a few seconds here: a faster machine
  // finished it within the deadline.
  const cluster = generateCluster(150, 30);
  const bits = 13;
  cluster.pods = cluster.pods!.map((pod, i) => ({ ...pod, labels: Object.fromEntries(Array.from({ length: bits }, (_, k) => [`b${k}`, String((i >> k) & 1)])) }));
  cluster.networkPolicies = Array.from({ length: bits }, (_, k) => ({
    metadata: { name: `bit-${k}`, namespace: 'default' },
    spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { [`b${k}`]: '1' } } }] }] },
  }));
  const big = await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: { name: 'w-big', cluster } });
  assert.equal(big.statusCode, 201, big.body);
});
after(() => t.close());

async function trace(name: string) {
  const res = await t.app.inject({ method: 'GET', url: `/v1/topologies/${name}/trace?from=pod-a1&to=pod-b1` });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

test('a write compiles its revision before it is acknowledged, so the first trace does not wait', async () => {
  const { name: _, ...doc } = example('two-nodes') as { name: string };
  const res = await t.app.inject({ method: 'PUT', url: '/v1/topologies/w-a', payload: doc });
  assert.equal(res.json().revision, 2);
  const compiled = t.app.work.compilations;
  const answer = await trace('w-a');
  assert.equal(answer.topology.revision, 2);
  assert.equal(answer.disposition, 'DELIVERED');
  assert.equal(t.app.work.compilations, compiled, 'the trace found revision 2 compiled');
});

test('a topology deleted and created again while its revision is read is answered as the new incarnation', async () => {
  const { name: _, ...doc } = example('two-nodes') as { name: string };
  const other = example('flannel-vxlan-two-nodes') as { name: string };
  const store = t.app.store;
  const head = store.head.bind(store);
  const created = await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: { ...doc, name: 'w-race' } });
  assert.equal(created.statusCode, 201, created.body);
  t.app.work.forget('w-race');
  let raced = false;
  // Between the read of the head (incarnation 1) and the worker's read of the document, the name is deleted and created
  // again with another cluster: what is read then is incarnation 2's revision 1.
  store.head = async (name) => {
    const first = await head(name);
    if (name === 'w-race' && !raced) {
      raced = true;
      await store.remove('w-race', undefined);
      const res = await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: { ...other, name: 'w-race' } });
      assert.equal(res.statusCode, 201, res.body);
    }
    return first;
  };
  try {
    const answer = await trace('w-race');
    assert.ok(raced);
    const links = answer.hops.flatMap((h: { steps: { type: string; link?: string }[] }) => h.steps.map((s) => s.link));
    assert.ok(links.includes('flannel.1'), `the new incarnation (flannel) was traced: ${links.join(' ')}`);
  } finally {
    store.head = head;
  }
});

test('deleting a topology lets go of its compiled revisions', async () => {
  await trace('w-b');
  const { id } = await t.app.store.head('w-b');
  assert.ok(t.app.work.pool.held.some((k) => k.startsWith(`${id}:`)));
  assert.equal((await t.app.inject({ method: 'DELETE', url: '/v1/topologies/w-b' })).statusCode, 204);
  // Every worker lets go at once and says what it holds then.
  for (let i = 0; i < 50 && t.app.work.pool.held.some((k) => k.startsWith(`${id}:`)); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(!t.app.work.pool.held.some((k) => k.startsWith(`${id}:`)), t.app.work.pool.held.join(' '));
});

test('a request past its deadline is answered 503 and says how to ask for less; the service goes on', async () => {
  const started = Date.now();
  const res = await t.app.inject('/v1/topologies/w-big/reachability');
  const took = Date.now() - started;
  assert.equal(res.statusCode, 503, res.body);
  assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  const body = res.json();
  assert.equal(body.type, 'urn:pathtrace:problem:deadline-exceeded');
  assert.match(body.detail, /deadline of 5 s: filter by namespace or node/);
  assert.ok(took < 8000, `stopped at the deadline, not when done (${took} ms)`);
  assert.equal((await trace('w-a')).disposition, 'DELIVERED');
  const small = await t.app.inject('/v1/topologies/w-big/reachability?node=node-0');
  assert.equal(small.statusCode, 200, small.body);
  assert.equal(small.json().endpoints.length, 30);
});

test('heavy requests beyond what may wait are refused with 503 and Retry-After, while traces are still answered', async () => {
  let matrixDone = false;
  const matrix = t.app.inject('/v1/topologies/w-big/reachability').finally(() => (matrixDone = true));
  await new Promise((resolve) => setTimeout(resolve, 100));
  const flows = { flows: [{ from: 'pod-a1', to: 'pod-b1' }] };
  // One heavy job runs (HEAVY_WORKERS 1), one may wait (WORK_QUEUE 1), the next is refused.
  const waiting = t.app.inject({ method: 'POST', url: '/v1/topologies/w-a/traces', payload: flows });
  await new Promise((resolve) => setTimeout(resolve, 50));
  const refused = await t.app.inject({ method: 'POST', url: '/v1/topologies/w-a/traces', payload: flows });
  assert.equal(refused.statusCode, 503, refused.body);
  assert.equal(refused.headers['retry-after'], '1');
  assert.equal(refused.json().type, 'urn:pathtrace:problem:unavailable');
  assert.match(refused.json().detail, /waiting for a worker already \(the limit is 1\)/);
  // The other worker is kept for traces.
  assert.equal((await trace('w-a')).disposition, 'DELIVERED');
  assert.ok(!matrixDone, 'the trace was answered while the matrix ran');
  assert.equal((await matrix).statusCode, 503);
  const waited = await waiting;
  assert.equal(waited.statusCode, 200, waited.body);
});

test('a request received before the service stops is answered whole, though its job is asked for after the stop began', async () => {
  const own = await openTestApp({ work: { workers: 1, heavyWorkers: 1, queueLimit: 8, deadlineSeconds: 30 } });
  const { name: _, ...doc } = example('two-nodes') as { name: string };
  assert.equal((await own.app.inject({ method: 'PUT', url: '/v1/topologies/w-stop', payload: doc })).statusCode, 201);
  // The trace reads the newest revision from the database before it asks a worker: the stop begins at that read.
  const { store } = own.app;
  const head = store.head.bind(store);
  let closing: Promise<void> | undefined;
  store.head = async (name) => {
    closing ??= own.close();
    // Time for the stop to reach the plugins' onClose hooks.
    await new Promise((resolve) => setTimeout(resolve, 200));
    return head(name);
  };
  const res = await own.app.inject({ method: 'GET', url: '/v1/topologies/w-stop/trace?from=pod-a1&to=pod-b1' });
  await closing;
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().disposition, 'DELIVERED');
});

test('traces asked for at once are each answered with their own flow, a failing one among them alone failing', async () => {
  // Under load a worker takes several waiting traces in one message and answers them in one: each answer must still go
  // to its own request.
  const own = await openTestApp({ work: { workers: 2, heavyWorkers: 1, queueLimit: 200, deadlineSeconds: 30 } });
  try {
    const cluster = generateCluster(20, 5);
    assert.equal((await own.app.inject({ method: 'PUT', url: '/v1/topologies/w-many', payload: { cluster } })).statusCode, 201);
    const pods = cluster.pods!.map((p) => `default/${p.name}`);
    const asked = Array.from({ length: 120 }, (_, i) => ({ from: pods[i % pods.length]!, to: i % 7 === 3 ? `nobody-${i}` : pods[(i * 37 + 11) % pods.length]! }));
    const answers = await Promise.all(
      asked.map(({ from, to }) => own.app.inject(`/v1/topologies/w-many/trace?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`)),
    );
    answers.forEach((res, i) => {
      const { from, to } = asked[i]!;
      if (to.startsWith('nobody-')) {
        assert.equal(res.statusCode, 404, res.body);
        assert.equal(res.json().detail, `there is no pod, node or netns named ${to} in this topology`);
      } else {
        assert.equal(res.statusCode, 200, res.body);
        assert.deepEqual([res.json().source.name, res.json().destination.name], [from, to]);
      }
    });
  } finally {
    await own.close();
  }
});
