// GET /v1/topologies/{name}/diff between two revisions of generated clusters (issue 13): revision 2 loses a pod and gains
// a node with two pods, so every node's routes change. In-process (an in-memory PGlite, app.inject), each case in its own
// process so that one's heap does not weigh on the next. The diff's time and the process's peak RSS are reported; the
// PUT compiles revision 2 (the compiled cache keeps both), as a write does in the service.
// Run with `node --expose-gc --import tsx bench/diff.ts`; writes bench/results/diff.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../src/app.js';
import { openDb } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { DATA_PATHS, generateCluster } from './cluster.js';

interface Case {
  nodes: number;
  podsPerNode: number;
  dataPath: string;
  query: string;
}

const cases: Case[] = [
  { nodes: 84, podsPerNode: 30, dataPath: 'bridge-host-gw', query: '' },
  { nodes: 1250, podsPerNode: 2, dataPath: 'bridge-host-gw', query: '' },
  { nodes: 84, podsPerNode: 30, dataPath: 'calico-bgp', query: '' },
  { nodes: 84, podsPerNode: 30, dataPath: 'cilium-tunnel', query: '' },
  { nodes: 166, podsPerNode: 30, dataPath: 'bridge-host-gw', query: '' },
  { nodes: 5000, podsPerNode: 30, dataPath: 'bridge-host-gw', query: '' },
  { nodes: 5000, podsPerNode: 30, dataPath: 'bridge-host-gw', query: '?node=node-7' },
];

const peakRssMB = () => Math.round(Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024);

async function run(c: Case) {
  const db = await openDb({ memory: true });
  await migrate(db);
  const app = await buildApp({ db, logger: false });
  await app.ready();
  const cni = DATA_PATHS[c.dataPath]!;
  const cluster = generateCluster(c.nodes, c.podsPerNode, cni);
  const next = structuredClone(cluster);
  next.pods!.pop();
  const grown = generateCluster(c.nodes + 1, 2, cni);
  next.nodes.push(grown.nodes.at(-1)!);
  next.pods!.push(...grown.pods!.slice(-2));
  for (const [method, url, payload] of [
    ['POST', '/v1/topologies', { name: 'bench', cluster }],
    ['PUT', '/v1/topologies/bench', { cluster: next }],
  ] as const) {
    const res = await app.inject({ method, url, payload });
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  }
  global.gc?.();
  const before = peakRssMB();
  const t0 = performance.now();
  const res = await app.inject(`/v1/topologies/bench/diff${c.query}`);
  const ms = Math.round(performance.now() - t0);
  const body = res.json();
  await app.close();
  await db.close();
  return {
    ...c,
    pods: cluster.pods!.length,
    status: res.statusCode,
    ms,
    peakRssMBBefore: before,
    peakRssMB: peakRssMB(),
    comparedPods: body.reachability?.pods,
    changedPairs: body.reachability?.changedCount,
    netnsChanged: body.changes?.netns.changed.length,
    detail: body.detail,
  };
}

if (process.argv[2] !== undefined) {
  process.stdout.write(JSON.stringify(await run(cases[Number(process.argv[2])]!)));
} else {
  const results = cases.map((c, i) => {
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), String(i)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${JSON.stringify(c)}: ${r.stderr}`);
    const result = JSON.parse(r.stdout) as Awaited<ReturnType<typeof run>>;
    console.log(
      `${c.nodes} nodes × ${c.podsPerNode} pods (${result.pods}), ${c.dataPath}${c.query}: ${result.status} in ${result.ms} ms, ` +
        `peak RSS ${result.peakRssMBBefore} → ${result.peakRssMB} MB` +
        (result.status === 200 ? `, ${result.comparedPods} pods compared, ${result.netnsChanged} netns changed` : `: ${result.detail}`),
    );
    return result;
  });
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('./results/diff.json', import.meta.url),
    `${JSON.stringify({ machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version }, date: new Date().toISOString(), results }, null, 2)}\n`,
  );
}
