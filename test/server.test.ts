// @serial: /readyz must answer within 500 ms of SIGTERM; startup within its budget (test/run.sh runs this file alone).
// The service as a user starts it: `npm start` on the embedded default, no database server.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './helpers/net.js';
import { generateCluster } from '../bench/cluster.js';

const root = new URL('..', import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), 'pathtrace-server-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

interface Running {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  exited: Promise<number | null>;
}

function start(port: number, extra: NodeJS.ProcessEnv = {}): Running {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...extra };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, ['dist/server.js'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, port, stderr: () => err, exited };
}

async function ready(r: Running) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (r.child.exitCode !== null) throw new Error(`the service exited: ${r.stderr()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${r.port}/readyz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('the service did not become ready in 60 s');
}

const doc = JSON.parse(readFileSync(join(root, 'examples/two-nodes.json'), 'utf8'));

test('npm start: embedded database, data survives a restart, one process per data folder, graceful stop', async () => {
  const port = await freePort();
  const first = start(port);
  try {
    await ready(first);
    const created = await fetch(`http://127.0.0.1:${port}/v1/topologies`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(doc),
    });
    assert.equal(created.status, 201);

    // A second process on the same folder refuses, saying why, and does not disturb the first.
    const second = start(await freePort());
    assert.equal(await second.exited, 1);
    assert.match(second.stderr(), /data folder .* is in use by another pathtrace process \(pid \d+ on /);
    assert.doesNotMatch(second.stderr(), /at .*\.ts:\d+/, 'no stack trace for a user error');
    assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);

    // A request in flight when SIGTERM arrives is finished before the process exits.
    const body = JSON.stringify({ ...doc, name: 'in-flight' });
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let answer = '';
    socket.on('data', (d) => (answer += d));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.write(`POST /v1/topologies HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    socket.write(body.slice(0, 100));
    await new Promise((resolve) => setTimeout(resolve, 200));
    first.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.write(body.slice(100));
    await closed;
    assert.match(answer, /^HTTP\/1\.1 201 /);
    assert.equal(await first.exited, 0);
    assert.equal(existsSync(join(dataDir, '.pathtrace.lock')), false, 'the lock is released on a clean stop');
  } finally {
    first.child.kill('SIGKILL');
  }

  const again = start(port);
  try {
    await ready(again);
    const list = await (await fetch(`http://127.0.0.1:${port}/v1/topologies`)).json();
    assert.deepEqual(list.items.map((i: { name: string }) => i.name), ['in-flight', 'two-nodes']);
    const stored = await (await fetch(`http://127.0.0.1:${port}/v1/topologies/two-nodes`)).json();
    assert.deepEqual(stored.cluster, doc.cluster);
  } finally {
    again.child.kill('SIGTERM');
    await again.exited;
  }
});

test('secure by default: no authentication and a HOST off loopback refuses to start, saying what to set', async () => {
  const refused = start(await freePort(), { HOST: '0.0.0.0', AUTH_TOKENS: '', OIDC_ISSUER: '', AUTH_DISABLED: '' });
  assert.equal(await refused.exited, 1);
  assert.match(refused.stderr(), /HOST=0\.0\.0\.0 would let anyone on the network call the service.*AUTH_TOKENS/);
  assert.doesNotMatch(refused.stderr(), /at .*\.ts:\d+/);
});

test('with AUTH_TOKENS the service listens off loopback and wants the token', async () => {
  const port = await freePort();
  const token = 'server-test-token-0123456789';
  const running = start(port, { HOST: '0.0.0.0', AUTH_TOKENS: `ci:read:${token}` });
  try {
    await ready(running);
    assert.equal((await fetch(`http://127.0.0.1:${port}/v1/topologies`)).status, 401);
    const ok = await fetch(`http://127.0.0.1:${port}/v1/topologies`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
  } finally {
    running.child.kill('SIGTERM');
    await running.exited;
  }
});

test('SIGTERM: /readyz turns 503 at once while requests are still answered for DRAIN_SECONDS, then a clean exit 0', async () => {
  const port = await freePort();
  const running = start(port, { DRAIN_SECONDS: '3' });
  await ready(running);
  running.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  const readyz = await fetch(`http://127.0.0.1:${port}/readyz`);
  assert.equal(readyz.status, 503);
  assert.match((await readyz.json()).detail, /shutting down/);
  assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  const list = await fetch(`http://127.0.0.1:${port}/v1/topologies`);
  assert.equal(list.status, 200, 'still serving while draining');
  assert.equal(await running.exited, 0);
});

test('SIGTERM during a long matrix: handled at once (/readyz 503), the matrix answered whole, then exit 0', async () => {
  const port = await freePort();
  const running = start(port, { DRAIN_SECONDS: '1', SHUTDOWN_TIMEOUT_SECONDS: '300' });
  await ready(running);
  const base = `http://127.0.0.1:${port}`;
  const put = await fetch(`${base}/v1/topologies/sigterm-matrix`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ cluster: generateCluster(100, 30) }),
  });
  assert.equal(put.status, 201, await put.text());
  const started = Date.now();
  const matrix = fetch(`${base}/v1/topologies/sigterm-matrix/reachability`).then(async (r) => ({ status: r.status, text: await r.text(), at: Date.now() }));
  await new Promise((r) => setTimeout(r, 500));
  running.child.kill('SIGTERM');
  const signalled = Date.now();
  // The signal is delivered asynchronously: the service is asked until it says it is not ready.
  let status = 0;
  while (status !== 503 && Date.now() - signalled < 2000) status = (await fetch(`${base}/readyz`)).status;
  const answeredIn = Date.now() - signalled;
  assert.equal(status, 503);
  const done = await matrix;
  assert.ok(done.at - started > answeredIn, 'the matrix was still running when /readyz answered');
  assert.ok(answeredIn < 500, `/readyz answered ${answeredIn} ms after SIGTERM, while the matrix ran`);
  assert.equal(done.status, 200, done.text.slice(0, 300));
  const answer = JSON.parse(done.text) as { rows: string[] };
  assert.equal(answer.rows.length, 3000, 'the whole answer was written');
  assert.equal(await running.exited, 0, running.stderr());
});

test('SIGTERM while a slow client reads a large answer: every byte is written before the process exits 0', async () => {
  const port = await freePort();
  const running = start(port, { DRAIN_SECONDS: '1', SHUTDOWN_TIMEOUT_SECONDS: '300' });
  await ready(running);
  const put = await fetch(`http://127.0.0.1:${port}/v1/topologies/slow-reader`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ cluster: generateCluster(100, 30) }),
  });
  assert.equal(put.status, 201, await put.text());
  // The 3,000-pod matrix (9 MB of letters) asked for over a socket that stops reading once the answer has begun.
  const socket = connect(port, '127.0.0.1');
  socket.write(`GET /v1/topologies/slow-reader/reachability HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve) => socket.once('data', (d: Buffer) => (chunks.push(d), socket.pause(), resolve())));
  running.child.kill('SIGTERM');
  // Past DRAIN_SECONDS, while the client still reads nothing: the service must wait for it, not end the answer.
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(running.child.exitCode, null, 'the service exited while its answer was still being read');
  const whole = new Promise<Buffer>((resolve) => socket.on('end', () => resolve(Buffer.concat(chunks))));
  socket.on('data', (d: Buffer) => chunks.push(d));
  socket.resume();
  const raw = await whole;
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, split).toString();
  assert.match(head, /^HTTP\/1\.1 200 /);
  const length = Number(/content-length: (\d+)/i.exec(head)?.[1]);
  const body = raw.subarray(split + 4);
  assert.ok(length > 9_000_000, head);
  assert.equal(body.length, length, 'the whole answer was written');
  assert.equal((JSON.parse(body.toString()) as { rows: string[] }).rows.length, 3000);
  assert.equal(await running.exited, 0, running.stderr());
});

test('the threads that work in the background yield the CPU to the main thread: the embedded database nice 5, heavy workers 10', async (t) => {
  if (process.platform !== 'linux') return t.skip('per-thread nice values are read from /proc');
  const r = start(await freePort(), { WORKERS: '3', HEAVY_WORKERS: '2' });
  try {
    await ready(r);
    const pid = r.child.pid!;
    // The nice value is the 19th field of a thread's stat, counted after the command name's closing parenthesis.
    const niceOf = (tid: string) => Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
    const tids = readdirSync(`/proc/${pid}/task`);
    const nice = tids.map(niceOf);
    assert.equal(niceOf(String(pid)), 0, 'the main thread keeps its priority');
    assert.equal(nice.filter((n) => n === 5).length, 1, `one embedded database thread at 5: ${nice.join(' ')}`);
    assert.equal(nice.filter((n) => n === 10).length, 2, `the two heavy workers at 10 (the light one keeps 0): ${nice.join(' ')}`);
  } finally {
    r.child.kill('SIGTERM');
    await r.exited;
  }
});
