// Ingest: POST of a 5,000-node / 150,000-pod cluster to the real service in a child process, on embedded PGlite (a temp
// DATA_DIR) and, when DATABASE_URL is set, on PostgreSQL too. Measures the time to 201 (stored), then the time to the
// first trace answered (which compiles the topology), and the child's peak RSS (VmHWM).
// Run with `npx tsx bench/ingest.ts [nodes] [podsPerNode]`; `PROFILE=1` adds --cpu-prof on the child (profiles land in
// bench/results/profiles/). Writes bench/results/ingest.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCluster } from './cluster.js';
import { peakRssMB, root, startService, stopService } from './serve.js';

const nodes = Number(process.argv[2] ?? 5000);
const podsPerNode = Number(process.argv[3] ?? 30);
const profile = process.env.PROFILE === '1';

const cluster = generateCluster(nodes, podsPerNode);
const name = `ingest-${nodes}-${process.pid}`;
const body = JSON.stringify({ name, description: 'bench/ingest.ts', cluster });
const bodyMB = Math.round((Buffer.byteLength(body) / 1048576) * 10) / 10;
const pods = cluster.pods!;
// Two pods on different nodes, far apart.
const from = `default/${pods[0]!.name}`;
const to = `default/${pods[pods.length - 1]!.name}`;
console.log(`cluster: ${nodes} nodes, ${pods.length} pods; body ${bodyMB} MB`);

interface Run {
  backend: string;
  storedMs: number;
  firstTraceMs: number;
  secondTraceMs: number;
  peakRssMB: number;
  idleRssMB: number;
  disposition: string;
}

async function run(backend: 'pglite' | 'pg'): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pathtrace-ingest-'));
  const profDir = join(root, 'bench', 'results', 'profiles');
  if (profile) mkdirSync(profDir, { recursive: true });
  const env: NodeJS.ProcessEnv = backend === 'pg' ? { DATABASE_URL: process.env.DATABASE_URL } : { DATABASE_URL: '', DATA_DIR: dataDir };
  const nodeArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=ingest-${backend}.cpuprofile`] : [];
  const svc = await startService(env, { nodeArgs });
  try {
    const idleRss = peakRssMB(svc.child.pid!);
    const t0 = performance.now();
    const posted = await fetch(`${svc.url}/v1/topologies`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const storedMs = performance.now() - t0;
    if (posted.status !== 201) throw new Error(`POST answered ${posted.status}: ${(await posted.text()).slice(0, 500)}`);
    await posted.arrayBuffer();
    const traceUrl = `${svc.url}/v1/topologies/${name}/trace?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
    const t1 = performance.now();
    const traced = await fetch(traceUrl);
    const answer = (await traced.json()) as { disposition?: string };
    const firstTraceMs = performance.now() - t1;
    if (traced.status !== 200) throw new Error(`trace answered ${traced.status}: ${JSON.stringify(answer).slice(0, 500)}`);
    const t2 = performance.now();
    await (await fetch(traceUrl)).arrayBuffer();
    const secondTraceMs = performance.now() - t2;
    const peak = peakRssMB(svc.child.pid!);
    await fetch(`${svc.url}/v1/topologies/${name}`, { method: 'DELETE' });
    return { backend, storedMs: Math.round(storedMs), firstTraceMs: Math.round(firstTraceMs), secondTraceMs: Math.round(secondTraceMs * 10) / 10, peakRssMB: peak, idleRssMB: idleRss, disposition: answer.disposition ?? '?' };
  } finally {
    await stopService(svc.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const backends: ('pglite' | 'pg')[] = process.env.DATABASE_URL ? ['pglite', 'pg'] : ['pglite'];
const runs: Run[] = [];
for (const b of backends) {
  const r = await run(b);
  runs.push(r);
  const ok = (v: boolean) => (v ? 'met' : 'MISSED');
  console.log(
    `${b.padEnd(7)} stored in ${r.storedMs} ms (target ≤ 5000: ${ok(r.storedMs <= 5000)}), first trace ${r.firstTraceMs} ms more (≤ 1000: ${ok(r.firstTraceMs <= 1000)}; ${r.disposition}), ` +
      `next trace ${r.secondTraceMs} ms, peak RSS ${r.peakRssMB} MB (≤ 1536: ${ok(r.peakRssMB <= 1536)}; idle ${r.idleRssMB} MB)`,
  );
}

const result = {
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
  date: new Date().toISOString(),
  cluster: { nodes, pods: pods.length, bodyMB },
  targets: { storedMs: 5000, firstTraceMs: 1000, peakRssMB: 1536 },
  runs,
};
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'ingest.json'), `${JSON.stringify(result, null, 2)}\n`);
