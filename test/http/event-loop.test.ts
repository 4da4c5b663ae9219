// The main thread stays free while the heaviest requests run: /healthz answers within 100 ms while a 5,000-pod matrix,
// a diff of two 150,000-pod revisions and a 10,000-flow batch are being answered, because their work is done by the
// worker threads and their answers cross as bytes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import { openTestApp, type TestApp } from '../helpers/app.js';
import { resetDb } from '../helpers/db.js';
import { generateCluster } from '../../bench/cluster.js';

let t: TestApp;
let base: string;

async function put(name: string, doc: unknown) {
  const res = await fetch(`${base}/v1/topologies/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) });
  assert.ok(res.status === 200 || res.status === 201, await res.text());
}

/** A request made by curl in its own process: its status and how many bytes the answer had. */
function curl(what: string, url: string, body?: string): Promise<{ what: string; status: number; bytes: number }> {
  const args = ['-s', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', ...(body === undefined ? [] : ['-H', 'content-type: application/json', '--data-binary', '@-']), url];
  return new Promise((resolve, reject) => {
    const child = execFile('curl', args, { maxBuffer: 1024 }, (err, stdout) => {
      if (err) return reject(err);
      const [status, bytes] = stdout.trim().split(' ').map(Number);
      resolve({ what, status: status!, bytes: bytes! });
    });
    if (body !== undefined) child.stdin!.end(body);
  });
}

before(async () => {
  t = await openTestApp({ work: { workers: 3, heavyWorkers: 3, deadlineSeconds: 300 } });
  await resetDb(t.db);
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  // 5,000 pods for the matrix and the batch.
  await put('el-matrix', { cluster: generateCluster(250, 20) });
  // Two revisions of 150,000 pods: the second without the last node's last pod.
  const big = generateCluster(5000, 30);
  await put('el-big', { cluster: big });
  const changed = { ...big, pods: big.pods!.slice(0, -1) };
  await put('el-big', { cluster: changed });
});
after(() => t.close());

test('/healthz answers within 100 ms while a 5,000-pod matrix, a 150,000-pod diff and a 10,000-flow batch run', async () => {
  const pods = Array.from({ length: 100 }, (_, i) => `default/pod-${i}-${i % 20}`);
  const flows = Array.from({ length: 10_000 }, (_, i) => ({ from: pods[i % 100]!, to: pods[(i * 7 + 3) % 100]!, protocol: 'tcp', srcPort: 40000 + (i % 1000), dstPort: 443 }));
  const delay = monitorEventLoopDelay({ resolution: 10 });
  const started = Date.now();
  // The heavy requests come from other processes (curl), so that reading their answers (tens of MB) does not load the
  // event loop measured here.
  const heavy = [
    curl('matrix', `${base}/v1/topologies/el-matrix/reachability`),
    curl('diff', `${base}/v1/topologies/el-big/diff`),
    curl('batch', `${base}/v1/topologies/el-matrix/traces?detail=hops`, JSON.stringify({ flows })),
  ];
  let running = heavy.length;
  for (const h of heavy) void h.finally(() => running--);
  const latencies: number[] = [];
  while (running > 0) {
    const sent = performance.now();
    const res = await fetch(`${base}/healthz`);
    await res.arrayBuffer();
    latencies.push(performance.now() - sent);
    // From the first answer on: what the test itself did before (building 10,000 flows) is not the service's delay.
    if (latencies.length === 1) delay.enable();
    assert.equal(res.status, 200);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  delay.disable();
  const results = await Promise.all(heavy);
  const worst = Math.max(...latencies);
  const report = `${latencies.length} health checks in ${Date.now() - started} ms, the slowest ${worst.toFixed(1)} ms; event loop delay max ${(delay.max / 1e6).toFixed(1)} ms; ${JSON.stringify(results)}`;
  console.log(report);
  for (const r of results) assert.ok(r.status < 500 || r.what === 'diff', report);
  assert.ok(latencies.length >= 20, report);
  assert.ok(worst < 100, report);
});
