// @serial: measures health checks' latency while the heaviest requests run (test/run.sh runs this file alone).
// The main thread stays free while the heaviest requests run: /healthz answers within 100 ms while two 15 MB revisions
// are written, while a 5,000-pod matrix, a diff of two 150,000-pod revisions and a 10,000-flow batch are being answered,
// while a 45 MB kubectl List is imported and a 2 MB what-if is traced, and while a restarted service reads a 15 MB
// revision back for its first trace and for a GET: the work is done by the worker threads, which read the documents
// they need from the database themselves, the embedded database runs in a thread of its own, and answers cross as bytes. The service runs as `npm start` runs it, in its own process (on the
// test's PostgreSQL when DATABASE_URL is set, else embedded), and the heavy requests come from curl, so that neither the
// test's own objects nor reading answers of tens of MB load the event loop measured. Each health check is paired with
// a request to a control server in another process, asked at the same moment: the shared virtual machine sometimes
// stalls every process at once, which says nothing of the service. A check whose control took 50 ms or more is not
// counted (the test fails when more than a tenth are not); of the others, the service's latency beyond its control's
// must stay under 100 ms (on a quiet machine the control answers in 1-3 ms; CI's PGlite pass once failed a check of
// 107 ms, and runs here saw the service at 80 ms with the control at 32 ms, both waiting for the same busy cores).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/net.js';
import { generateCluster } from '../../bench/cluster.js';
import { generateLargeList } from '../fixtures/kubernetes/generate.js';

const root = new URL('../..', import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), 'pathtrace-event-loop-'));
let child: ChildProcess;
let base: string;

/** A request made by curl in its own process: its status and how many bytes the answer had. */
function curl(what: string, url: string, method = 'GET', body?: string): Promise<{ what: string; status: number; bytes: number }> {
  const args = ['-s', '-o', '/dev/null', '-X', method, '-w', '%{http_code} %{size_download}', ...(body === undefined ? [] : ['-H', 'content-type: application/json', '--data-binary', '@-']), url];
  return new Promise((resolve, reject) => {
    const c = execFile('curl', args, { maxBuffer: 1024 }, (err, stdout) => {
      if (err) return reject(err);
      const [status, bytes] = stdout.trim().split(' ').map(Number);
      resolve({ what, status: status!, bytes: bytes! });
    });
    if (body !== undefined) c.stdin!.end(body);
  });
}

async function put(name: string, doc: unknown) {
  const res = await curl(name, `${base}/v1/topologies/${name}`, 'PUT', typeof doc === 'string' ? doc : JSON.stringify(doc));
  assert.ok(res.status === 200 || res.status === 201, `PUT ${name}: ${res.status}`);
}

async function start(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const c = spawn(process.execPath, ['dist/server.js'], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; ; i++) {
    const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
    if (ok) return c;
    assert.ok(i < 300, 'the service did not become ready in 60 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** What the probe saw: the service's latencies (and the control's at the same moments), and the samples dropped because the whole machine stalled then. */
interface Watched {
  latencies: number[];
  controls: number[];
  machineStalls: [number, number][];
}

/** A sample whose control server (another process, asked at the same moment) took this long measured the machine. */
const MACHINE_STALL_MS = 50;

/**
 * Starts asking /healthz every 20 ms, from a process of its own, and resolves once it watches; `until(heavy)` then gives
 * the latencies seen until every request of `heavy` has ended (test/helpers/health-probe.ts).
 */
async function watchHealth(): Promise<{ until(heavy: Promise<unknown>[]): Promise<Watched> }> {
  const probe = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/helpers/health-probe.ts'), base], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  probe.stdout!.on('data', (chunk) => (out += chunk));
  const exited = new Promise<number | null>((resolve) => probe.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    probe.stderr!.once('data', () => resolve());
    void exited.then(() => reject(new Error('the health probe ended before it watched')));
  });
  return {
    async until(heavy) {
      await Promise.allSettled(heavy);
      probe.stdin!.end();
      assert.equal(await exited, 0, 'the health probe failed');
      const samples = JSON.parse(out) as [number, number][];
      const counted = samples.filter(([, machine]) => machine < MACHINE_STALL_MS);
      return {
        latencies: counted.map(([service]) => service),
        controls: counted.map(([, machine]) => machine),
        machineStalls: samples.filter(([, machine]) => machine >= MACHINE_STALL_MS),
      };
    },
  };
}

const report = ({ latencies, controls, machineStalls }: Watched, results: unknown, started: number) =>
  `${latencies.length} health checks in ${Date.now() - started} ms, the slowest ${Math.max(...latencies).toFixed(1)} ms` +
  ` (the control ${controls[latencies.indexOf(Math.max(...latencies))]!.toFixed(1)} ms at that moment)` +
  (machineStalls.length > 0 ? ` (and ${machineStalls.length} while the machine stalled: ${JSON.stringify(machineStalls.map(([a, b]) => [Math.round(a), Math.round(b)]))})` : '') +
  `; ${JSON.stringify(results)}`;

/**
 * The service answered every health check within 100 ms beyond what the machine made any process wait at that moment
 * (its control's latency), and the machine was calm enough for most of them to count.
 */
function assertResponsive(watched: Watched, minimum: number, text: string): void {
  assert.ok(watched.latencies.length >= minimum, text);
  assert.ok(watched.machineStalls.length <= watched.latencies.length / 10, `the machine stalled too often to judge: ${text}`);
  const beyond = Math.max(...watched.latencies.map((ms, i) => ms - watched.controls[i]!));
  assert.ok(beyond < 100, `${beyond.toFixed(1)} ms beyond the control: ${text}`);
}

let env: NodeJS.ProcessEnv;
before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  env = { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', WORKERS: '3', HEAVY_WORKERS: '3', JOB_DEADLINE_SECONDS: '300' };
  if (!env.DATABASE_URL) env.DATA_DIR = dataDir;
  child = await start(env);
  // 5,000 pods for the matrix and the batch.
  await put('el-matrix', { cluster: generateCluster(250, 20) });
});
after(async () => {
  for (const name of ['el-matrix', 'el-big', 'el-import']) await fetch(`${base}/v1/topologies/${name}`, { method: 'DELETE' }).catch(() => undefined);
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  rmSync(dataDir, { recursive: true, force: true });
});

// The writes come first: the diff below needs both revisions.
test('/healthz answers within 100 ms while two revisions of a 150,000-pod topology (15 MB each) are written', async () => {
  const big = generateCluster(5000, 30);
  // The second without the last node's last pod; both bodies are built before the health checks start.
  const bodies = [{ cluster: big }, { cluster: { ...big, pods: big.pods!.slice(0, -1) } }].map((doc) => JSON.stringify(doc));
  const health = await watchHealth();
  const started = Date.now();
  // One after the other, as the second revision must follow the first.
  const writes = (async () => {
    for (const body of bodies) await put('el-big', body);
  })();
  const watched = await health.until([writes]);
  await writes;
  const text = report(watched, 'two writes', started);
  console.log(text);
  assertResponsive(watched, 10, text);
});

test('/healthz answers within 100 ms while a 5,000-pod matrix, a 150,000-pod diff and a 10,000-flow batch run', async () => {
  const pods = Array.from({ length: 100 }, (_, i) => `default/pod-${i}-${i % 20}`);
  const flows = Array.from({ length: 10_000 }, (_, i) => ({ from: pods[i % 100]!, to: pods[(i * 7 + 3) % 100]!, protocol: 'tcp', srcPort: 40000 + (i % 1000), dstPort: 443 }));
  const batch = JSON.stringify({ flows });
  const health = await watchHealth();
  const started = Date.now();
  const heavy = [
    curl('matrix', `${base}/v1/topologies/el-matrix/reachability`),
    curl('diff', `${base}/v1/topologies/el-big/diff`),
    curl('batch', `${base}/v1/topologies/el-matrix/traces?detail=hops`, 'POST', batch),
  ];
  const watched = await health.until(heavy);
  const results = await Promise.all(heavy);
  const text = report(watched, results, started);
  console.log(text);
  assert.deepEqual(results.map((r) => r.status), [200, 413, 200], text);
  assertResponsive(watched, 20, text);
});

test('/healthz answers within 100 ms while a 45 MB kubectl List is imported and a 2 MB what-if is traced', async () => {
  // 500 nodes and 15,000 pods as kubectl prints them; 20,000 pods given inline to a what-if, with 1,000 flows.
  const list = JSON.stringify(generateLargeList({ nodes: 500, podsPerNode: 30 }));
  const pods = Array.from({ length: 100 }, (_, i) => `default/pod-${i * 9}-${i % 20}`);
  const flows = Array.from({ length: 1000 }, (_, i) => ({ from: pods[i % 100]!, to: pods[(i * 7 + 3) % 100]! }));
  const whatIf = JSON.stringify({ topology: { cluster: generateCluster(1000, 20) }, flows });
  assert.ok(list.length > 40e6 && whatIf.length > 1e6, `${list.length} and ${whatIf.length} bytes`);
  const health = await watchHealth();
  const started = Date.now();
  const heavy = [
    curl('import', `${base}/v1/topologies/el-import/import/kubernetes`, 'POST', list),
    curl('what-if', `${base}/v1/traces?detail=summary`, 'POST', whatIf),
  ];
  const watched = await health.until(heavy);
  const results = await Promise.all(heavy);
  const text = report(watched, results, started);
  console.log(text);
  assert.deepEqual(results.map((r) => r.status), [201, 200], text);
  assertResponsive(watched, 10, text);
});

test('/healthz answers within 100 ms while a restarted service reads a 150,000-pod revision from the database for its first trace and a GET', async () => {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  child = await start(env);
  const health = await watchHealth();
  const started = Date.now();
  // Neither is held by any worker: each is read from the database, revision 1 by the GET, revision 2 by the trace.
  const heavy = [
    curl('trace', `${base}/v1/topologies/el-big/trace?from=default/pod-0-0&to=default/pod-4999-1`),
    curl('get', `${base}/v1/topologies/el-big/revisions/1`),
  ];
  const watched = await health.until(heavy);
  const results = await Promise.all(heavy);
  const text = report(watched, results, started);
  console.log(text);
  assert.deepEqual(results.map((r) => r.status), [200, 200], text);
  assert.ok(results[1]!.bytes > 15e6, text);
  assertResponsive(watched, 5, text);
});
