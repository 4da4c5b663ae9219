// HTTP traces: autocannon against GET /v1/topologies/<name>/trace between random pod pairs of a 5,000-node / 150,000-pod
// cluster and, in the same run and the same server process, against a bare Fastify hello-world route (bench/http-server.ts).
// 64 connections, ~10 s each, loopback only. The server runs on embedded PGlite (a temp DATA_DIR) and, when DATABASE_URL
// is set, on PostgreSQL too. Run with `npx tsx bench/http.ts [nodes] [podsPerNode] [seconds]`; writes bench/results/http.json.
import autocannon from 'autocannon';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCluster } from './cluster.js';
import { freePort, peakRssMB, root, startService, stopService } from './serve.js';

const nodes = Number(process.argv[2] ?? 5000);
const podsPerNode = Number(process.argv[3] ?? 30);
const seconds = Number(process.argv[4] ?? 10);
const connections = 64;

const cluster = generateCluster(nodes, podsPerNode);
const pods = cluster.pods!;
const name = `http-${nodes}-${process.pid}`;
const body = JSON.stringify({ name, cluster });

let seed = 4242;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const paths: string[] = [];
for (let i = 0; i < 4096; i++) {
  const a = pods[Math.floor(rand() * pods.length)]!;
  const b = pods[Math.floor(rand() * pods.length)]!;
  paths.push(`/v1/topologies/${name}/trace?from=${encodeURIComponent(`default/${a.name}`)}&to=${encodeURIComponent(`default/${b.name}`)}`);
}

interface Figures {
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  non2xx: number;
  requests: number;
}

async function cannon(url: string, rotate: boolean, duration: number): Promise<Figures> {
  let i = 0;
  const r = await autocannon({
    url,
    connections,
    duration,
    requests: rotate
      ? [
          {
            method: 'GET',
            setupRequest: (req) => {
              req.path = paths[i++ & 4095]!;
              return req;
            },
          },
        ]
      : undefined,
  });
  return {
    reqPerSec: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    requests: r.requests.total,
  };
}

async function run(backend: 'pglite' | 'pg') {
  const dataDir = mkdtempSync(join(tmpdir(), 'pathtrace-http-'));
  const helloPort = await freePort();
  const env: NodeJS.ProcessEnv = backend === 'pg' ? { DATABASE_URL: process.env.DATABASE_URL } : { DATABASE_URL: '', DATA_DIR: dataDir };
  // PROFILE=1: --cpu-prof on the server child; the profile lands in bench/results/profiles/ when it exits.
  const profDir = join(root, 'bench', 'results', 'profiles');
  const nodeArgs = process.env.PROFILE === '1' ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=http-${backend}.cpuprofile`] : [];
  if (nodeArgs.length > 0) mkdirSync(profDir, { recursive: true });
  const svc = await startService({ ...env, HELLO_PORT: String(helloPort) }, { entry: 'bench/http-server.ts', nodeArgs });
  try {
    const posted = await fetch(`${svc.url}/v1/topologies`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    if (posted.status !== 201) throw new Error(`POST answered ${posted.status}: ${(await posted.text()).slice(0, 300)}`);
    const first = await fetch(`${svc.url}${paths[0]}`); // compiles
    if (first.status !== 200) throw new Error(`trace answered ${first.status}: ${(await first.text()).slice(0, 300)}`);
    await first.arrayBuffer();
    // A short warm-up of each route, so the JIT has settled before the measured runs.
    await cannon(`http://127.0.0.1:${helloPort}/`, false, 2);
    await cannon(svc.url, true, 2);
    const hello = await cannon(`http://127.0.0.1:${helloPort}/`, false, seconds);
    const trace = await cannon(svc.url, true, seconds);
    const rss = peakRssMB(svc.child.pid!);
    await fetch(`${svc.url}/v1/topologies/${name}`, { method: 'DELETE' });
    const ratio = Math.round((trace.reqPerSec / hello.reqPerSec) * 100) / 100;
    const ok = (v: boolean) => (v ? 'met' : 'MISSED');
    console.log(`${backend}: hello-world ${hello.reqPerSec.toLocaleString('en')} req/s, p50 ${hello.p50Ms} ms, p99 ${hello.p99Ms} ms`);
    console.log(`${backend}: trace       ${trace.reqPerSec.toLocaleString('en')} req/s, p50 ${trace.p50Ms} ms, p99 ${trace.p99Ms} ms (errors ${trace.errors}, non-2xx ${trace.non2xx})`);
    console.log(`${backend}: ratio ${ratio} (target ≥ 0.5: ${ok(ratio >= 0.5)}), trace p99 ${trace.p99Ms} ms (target ≤ 10: ${ok(trace.p99Ms <= 10)}), peak RSS ${rss} MB`);
    return { backend, hello, trace, ratio, peakRssMB: rss };
  } finally {
    await stopService(svc.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

console.log(`cluster: ${nodes} nodes, ${pods.length} pods; ${connections} connections, ${seconds} s per route`);
const backends: ('pglite' | 'pg')[] = process.env.DATABASE_URL ? ['pglite', 'pg'] : ['pglite'];
const runs = [];
for (const b of backends) runs.push(await run(b));

const result = {
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
  date: new Date().toISOString(),
  cluster: { nodes, pods: pods.length },
  connections,
  seconds,
  targets: { ratio: 0.5, p99Ms: 10 },
  runs,
};
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'http.json'), `${JSON.stringify(result, null, 2)}\n`);
