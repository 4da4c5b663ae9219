// The main thread stays free while the heaviest requests run: /healthz answers within 100 ms while a 5,000-pod matrix,
// a diff of two 150,000-pod revisions and a 10,000-flow batch are being answered, because their work is done by the
// worker threads and their answers cross as bytes. The service runs as `npm start` runs it, in its own process (on the
// test's PostgreSQL when DATABASE_URL is set, else embedded), and the heavy requests come from curl, so that neither the
// test's own objects nor reading answers of tens of MB load the event loop measured.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/net.js';
import { generateCluster } from '../../bench/cluster.js';

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
  const res = await curl(name, `${base}/v1/topologies/${name}`, 'PUT', JSON.stringify(doc));
  assert.ok(res.status === 200 || res.status === 201, `PUT ${name}: ${res.status}`);
}

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', WORKERS: '3', HEAVY_WORKERS: '3', JOB_DEADLINE_SECONDS: '300' };
  if (!env.DATABASE_URL) env.DATA_DIR = dataDir;
  child = spawn(process.execPath, ['dist/server.js'], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; ; i++) {
    const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    assert.ok(i < 300, 'the service did not become ready in 60 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  // 5,000 pods for the matrix and the batch.
  await put('el-matrix', { cluster: generateCluster(250, 20) });
  // Two revisions of 150,000 pods: the second without the last node's last pod.
  const big = generateCluster(5000, 30);
  await put('el-big', { cluster: big });
  await put('el-big', { cluster: { ...big, pods: big.pods!.slice(0, -1) } });
});
after(async () => {
  for (const name of ['el-matrix', 'el-big']) await fetch(`${base}/v1/topologies/${name}`, { method: 'DELETE' }).catch(() => undefined);
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  rmSync(dataDir, { recursive: true, force: true });
});

test('/healthz answers within 100 ms while a 5,000-pod matrix, a 150,000-pod diff and a 10,000-flow batch run', async () => {
  const pods = Array.from({ length: 100 }, (_, i) => `default/pod-${i}-${i % 20}`);
  const flows = Array.from({ length: 10_000 }, (_, i) => ({ from: pods[i % 100]!, to: pods[(i * 7 + 3) % 100]!, protocol: 'tcp', srcPort: 40000 + (i % 1000), dstPort: 443 }));
  const started = Date.now();
  const heavy = [
    curl('matrix', `${base}/v1/topologies/el-matrix/reachability`),
    curl('diff', `${base}/v1/topologies/el-big/diff`),
    curl('batch', `${base}/v1/topologies/el-matrix/traces?detail=hops`, 'POST', JSON.stringify({ flows })),
  ];
  let running = heavy.length;
  for (const h of heavy) void h.finally(() => running--);
  const latencies: number[] = [];
  while (running > 0) {
    const sent = performance.now();
    const res = await fetch(`${base}/healthz`);
    await res.arrayBuffer();
    latencies.push(performance.now() - sent);
    assert.equal(res.status, 200);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const results = await Promise.all(heavy);
  const worst = Math.max(...latencies);
  const report = `${latencies.length} health checks in ${Date.now() - started} ms, the slowest ${worst.toFixed(1)} ms; ${JSON.stringify(results)}`;
  console.log(report);
  assert.deepEqual(results.map((r) => r.status), [200, 413, 200], report);
  assert.ok(latencies.length >= 20, report);
  assert.ok(worst < 100, report);
});
