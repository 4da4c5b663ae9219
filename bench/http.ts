// HTTP traces (issue 18's targets): autocannon against GET /v1/topologies/<name>/trace, as JSON and as text, between
// random pod pairs of a 5,000-node / 150,000-pod cluster and, in the same run and the same server process, against a bare
// Fastify hello-world route (bench/http-server.ts); then a batch of 10,000 flows and the matrix of a 1,000-pod cluster,
// timed over HTTP. 64 connections, ~10 s each, loopback only. Every request draws a fresh pair out of 22.5 billion, so
// that no cache of answers can stand in for tracing. The server runs on embedded PGlite (a temp DATA_DIR) and, when
// DATABASE_URL is set, on PostgreSQL too. Run with `npx tsx bench/http.ts [nodes] [podsPerNode] [seconds]`; writes
// bench/results/http.json.
import autocannon from 'autocannon';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCluster } from './cluster.js';
import { freePort, peakRssMB, root, settled, startService, stopService } from './serve.js';

const nodes = Number(process.argv[2] ?? 5000);
const podsPerNode = Number(process.argv[3] ?? 30);
const seconds = Number(process.argv[4] ?? 10);
const connections = 64;
// The service's default (src/config.ts), which the child inherits unless WORKERS is set.
const workers = Number(process.env.WORKERS ?? Math.max(2, availableParallelism()));

const cluster = generateCluster(nodes, podsPerNode);
const pods = cluster.pods!;
const name = `http-${nodes}-${process.pid}`;
const body = JSON.stringify({ name, cluster });

let seed = 4242;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const pod = () => `default%2F${pods[Math.floor(rand() * pods.length)]!.name}`;
const tracePath = (format: string) => `/v1/topologies/${name}/trace?from=${pod()}&to=${pod()}${format}`;
/** The targets, against the trivial route of the same run. */
const TARGETS = { json: 0.6, text: 0.8, p99Ratio: 1.5, batchMs: 1000, matrixMs: 500 };
// At detail=hops: 10,000 answers with their prose take more than the default MAX_ANSWER_BYTES (32 MB).
const BATCH_FLOWS = 10_000;
const batchBody = JSON.stringify({
  flows: Array.from({ length: BATCH_FLOWS }, () => ({ from: `default/${pods[Math.floor(rand() * pods.length)]!.name}`, to: `default/${pods[Math.floor(rand() * pods.length)]!.name}` })),
});
// 1,000 pods on 100 nodes: the shape of bench/matrix.ts's many small nodes, where few pairs share a trace.
const matrixName = `http-matrix-${process.pid}`;
const matrixBody = JSON.stringify({ name: matrixName, cluster: generateCluster(100, 10) });

interface Figures {
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  non2xx: number;
  requests: number;
  /** The server's CPU time per request, in µs: its main thread's, and all its other threads' (workers, GC, PGlite). */
  cpuUs: { main: number; others: number };
}

/** CPU seconds the process's threads have used: the main thread's (its id is the process's) and the others'. */
function cpuSeconds(pid: number): { main: number; others: number } {
  const sum = { main: 0, others: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      // utime and stime, in clock ticks (USER_HZ, 100 on Linux), after the command name in parentheses.
      const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
      if (Number(tid) === pid) sum.main += seconds;
      else sum.others += seconds;
    } catch {
      // The thread ended meanwhile.
    }
  }
  return sum;
}

const perRequest = (a: { main: number; others: number }, b: { main: number; others: number }, n: number) => ({
  main: Math.round(((b.main - a.main) * 1e6) / n),
  others: Math.round(((b.others - a.others) * 1e6) / n),
});

/** `format`: undefined for the trivial route, else the trace route's format parameter ('' for JSON). */
async function cannon(pid: number, url: string, format: string | undefined, duration: number): Promise<Figures> {
  const before = cpuSeconds(pid);
  const r = await autocannon({
    url,
    connections,
    duration,
    requests:
      format === undefined
        ? undefined
        : [
            {
              method: 'GET',
              setupRequest: (req) => {
                req.path = tracePath(format);
                return req;
              },
            },
          ],
  });
  return {
    reqPerSec: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    requests: r.requests.total,
    cpuUs: perRequest(before, cpuSeconds(pid), r.requests.total),
  };
}

/** The median of `n` requests' times in ms, each answered 200. */
async function timed(n: number, request: () => Promise<Response>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await request();
    const bytes = await r.arrayBuffer();
    times.push(performance.now() - t0);
    if (r.status !== 200) throw new Error(`answered ${r.status}: ${Buffer.from(bytes).toString().slice(0, 300)}`);
  }
  return Math.round(times.sort((a, b) => a - b)[n >> 1]!);
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
    const pid = svc.child.pid!;
    const posted = await fetch(`${svc.url}/v1/topologies`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    if (posted.status !== 201) throw new Error(`POST answered ${posted.status}: ${(await posted.text()).slice(0, 300)}`);
    const first = await fetch(`${svc.url}${tracePath('')}`);
    if (first.status !== 200) throw new Error(`trace answered ${first.status}: ${(await first.text()).slice(0, 300)}`);
    await first.arrayBuffer();
    // A short warm-up of each route, so the JIT has settled before the measured runs; then a wait for every worker that
    // took a trace to have compiled the revision, so that no compile runs during the measured seconds.
    await cannon(pid, `http://127.0.0.1:${helloPort}/`, undefined, 2);
    await cannon(pid, svc.url, '', 2);
    await settled(svc.url, workers, () => tracePath(''));
    await cannon(pid, svc.url, '&format=text', 1);
    const hello = await cannon(pid, `http://127.0.0.1:${helloPort}/`, undefined, seconds);
    // The service's own cheapest route: what its plugins (ids, auth, rate limits, metrics, CORS) add to every request.
    const health = await cannon(pid, `${svc.url}/healthz`, undefined, seconds);
    const json = await cannon(pid, svc.url, '', seconds);
    const text = await cannon(pid, svc.url, '&format=text', seconds);
    // The batch's code is warmed as the trace routes' is (twice: each worker may take one), not timed with the JIT's
    // first compilations in it: those made the first two of three batches 250-400 ms slower than the rest.
    await timed(2, () => fetch(`${svc.url}/v1/topologies/${name}/traces?detail=hops`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: batchBody }));
    const batchMs = await timed(3, () => fetch(`${svc.url}/v1/topologies/${name}/traces?detail=hops`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: batchBody }));
    const matrixPosted = await fetch(`${svc.url}/v1/topologies`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: matrixBody });
    if (matrixPosted.status !== 201) throw new Error(`POST answered ${matrixPosted.status}: ${(await matrixPosted.text()).slice(0, 300)}`);
    const matrixMs = await timed(3, () => fetch(`${svc.url}/v1/topologies/${matrixName}/reachability`));
    const rss = peakRssMB(svc.child.pid!);
    await fetch(`${svc.url}/v1/topologies/${name}`, { method: 'DELETE' });
    await fetch(`${svc.url}/v1/topologies/${matrixName}`, { method: 'DELETE' });
    const ratio = (f: Figures) => Math.round((f.reqPerSec / hello.reqPerSec) * 100) / 100;
    const ratios = { json: ratio(json), text: ratio(text), jsonP99: Math.round((json.p99Ms / hello.p99Ms) * 100) / 100, textP99: Math.round((text.p99Ms / hello.p99Ms) * 100) / 100 };
    const ok = (v: boolean) => (v ? 'met' : 'MISSED');
    const line = (label: string, f: Figures) =>
      `${backend}: ${label.padEnd(11)} ${f.reqPerSec.toLocaleString('en')} req/s, p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms (errors ${f.errors}, non-2xx ${f.non2xx}); CPU per request: main thread ${f.cpuUs.main} µs, others ${f.cpuUs.others} µs`;
    console.log(line('hello-world', hello));
    console.log(line('/healthz', health));
    console.log(line('trace json', json));
    console.log(line('trace text', text));
    console.log(`${backend}: JSON ${ratios.json}× (target ≥ ${TARGETS.json}: ${ok(ratios.json >= TARGETS.json)}), p99 ${ratios.jsonP99}× (target ≤ ${TARGETS.p99Ratio}: ${ok(ratios.jsonP99 <= TARGETS.p99Ratio)})`);
    console.log(`${backend}: text ${ratios.text}× (target ≥ ${TARGETS.text}: ${ok(ratios.text >= TARGETS.text)}), p99 ${ratios.textP99}× (target ≤ ${TARGETS.p99Ratio}: ${ok(ratios.textP99 <= TARGETS.p99Ratio)})`);
    console.log(`${backend}: batch of ${BATCH_FLOWS.toLocaleString('en')} flows ${batchMs} ms (target ≤ ${TARGETS.batchMs}: ${ok(batchMs <= TARGETS.batchMs)}), 1,000-pod matrix ${matrixMs} ms (target ≤ ${TARGETS.matrixMs}: ${ok(matrixMs <= TARGETS.matrixMs)}), peak RSS ${rss} MB`);
    return { backend, hello, health, json, text, ratios, batchMs, matrixMs, peakRssMB: rss };
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
  targets: TARGETS,
  runs,
};
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'http.json'), `${JSON.stringify(result, null, 2)}\n`);
