// A CPU profile of the trace route under load: starts the service (bench/http-server.ts, embedded PGlite in a temporary
// DATA_DIR) with --cpu-prof, stores a generated cluster, runs autocannon (64 connections) against GET …/trace between
// random pod pairs, stops the service, and prints the top self-time functions of every thread's profile (the main
// thread, which parses, routes and writes, and the workers, which trace and write answers out).
// Run with `npx tsx bench/profile-http.ts [nodes] [podsPerNode] [seconds] [format]`; profiles in bench/results/profiles/.
import autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCluster } from './cluster.js';
import { readProfile, selfByFunction } from './profile.js';
import { availableParallelism } from 'node:os';
import { freePort, root, settled, startService, stopService } from './serve.js';

const nodes = Number(process.argv[2] ?? 5000);
const podsPerNode = Number(process.argv[3] ?? 30);
const seconds = Number(process.argv[4] ?? 10);
const format = process.argv[5] ?? 'json';
const cluster = generateCluster(nodes, podsPerNode);
const pods = cluster.pods!;
const name = `profile-${process.pid}`;

let seed = 4242;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const paths = Array.from({ length: 4096 }, () => {
  const [a, b] = [pods[Math.floor(rand() * pods.length)]!, pods[Math.floor(rand() * pods.length)]!];
  return `/v1/topologies/${name}/trace?from=default/${a.name}&to=default/${b.name}&format=${format}`;
});

const profDir = join(root, 'bench', 'results', 'profiles', `http-${new Date().toISOString().replace(/[:.]/g, '-')}`);
mkdirSync(profDir, { recursive: true });
const dataDir = mkdtempSync(join(tmpdir(), 'pathtrace-profile-'));
let loadFrom = 0;
let loadTo = 0;
let exited = 0;
const svc = await startService(
  { DATABASE_URL: '', DATA_DIR: dataDir, HELLO_PORT: String(await freePort()) },
  { entry: 'bench/http-server.ts', nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] },
);
try {
  const posted = await fetch(`${svc.url}/v1/topologies`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, cluster }) });
  if (posted.status !== 201) throw new Error(`POST answered ${posted.status}`);
  let i = 0;
  // Every worker compiles the revision before the measured load, as in bench/http.ts.
  await settled(svc.url, Number(process.env.WORKERS ?? Math.max(2, availableParallelism())), () => paths[i++ & 4095]!);
  loadFrom = performance.now();
  const r = await autocannon({
    url: svc.url,
    connections: 64,
    duration: seconds,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: paths[i++ & 4095]! }) }],
  });
  loadTo = performance.now();
  console.log(`trace (${format}): ${Math.round(r.requests.average)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, non-2xx ${r.non2xx}`);
} finally {
  await stopService(svc.child);
  exited = performance.now();
  rmSync(dataDir, { recursive: true, force: true });
}
// Every thread's profile ends when the service exits: the load's seconds are counted back from there (less its first
// half second, while autocannon opens its connections).
const window = { from: exited - loadFrom - 500, to: exited - loadTo, beforeEnd: true };
const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
for (const file of files) {
  console.log(`\n== ${file}`);
  console.log(execFileSync(process.execPath, ['--import', 'tsx', join(root, 'bench', 'profile-summary.ts'), join(profDir, file), '15'], { cwd: root, encoding: 'utf8', env: { ...process.env, WINDOW_BEFORE_END: `${Math.round(window.from)}-${Math.round(window.to)}` } }));
}
// Issue 18's check: over every thread, no single function of ours (src/) takes more self time than writing answers to
// the sockets (the main thread's native write calls).
const all = new Map<string, number>();
for (const file of files) for (const [fn, ms] of selfByFunction(readProfile(join(profDir, file), window))) all.set(fn, (all.get(fn) ?? 0) + ms);
const socketWrite = [...all].filter(([fn]) => /^(writev|writeUtf8String|writeLatin1String|writeBuffer) :0$/.test(fn)).reduce((sum, [, ms]) => sum + ms, 0);
const ours = [...all].filter(([fn]) => / src\//.test(fn)).sort((a, b) => b[1] - a[1]);
console.log(`\nall threads: the socket write ${socketWrite.toFixed(0)} ms; the largest steps of ours:`);
for (const [fn, ms] of ours.slice(0, 8)) console.log(`${ms.toFixed(0).padStart(8)} ms  ${fn}`);
const [top] = ours;
console.log(top === undefined || top[1] <= socketWrite ? 'no step of ours above the socket write' : `ABOVE the socket write: ${top[0]}`);
