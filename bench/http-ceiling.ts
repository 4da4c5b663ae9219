// What an HTTP trace can reach on this machine whatever the service does around it (issue 18's ratios): autocannon, 64
// connections, against a bare Fastify in one process (bench/http-ceiling-server.ts) serving, on its main thread, with no
// plugin and no worker: a hello-world route; the trace's answer made once (JSON, text); and traces answered there, as a
// worker answers them, between fresh random pod pairs (as bench/http.ts asks) and between 4,096 pairs asked over again.
// Each route's requests/s as a ratio of the hello-world route's, in two alternating rounds.
// Run with `npx tsx bench/http-ceiling.ts [nodes] [podsPerNode] [seconds]`; writes bench/results/http-ceiling.json.
import autocannon from 'autocannon';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { generateCluster } from './cluster.js';
import { root, startService, stopService } from './serve.js';

const nodes = Number(process.argv[2] ?? 5000);
const podsPerNode = Number(process.argv[3] ?? 30);
const seconds = Number(process.argv[4] ?? 8);
const pods = generateCluster(nodes, podsPerNode).pods!;

let seed = 4242;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const pod = () => `default%2F${pods[Math.floor(rand() * pods.length)]!.name}`;
const repeated = Array.from({ length: 4096 }, () => `from=${pod()}&to=${pod()}`);
let next = 0;

const ROUTES: Record<string, (() => string) | undefined> = {
  'hello-world': undefined,
  'made once, json': () => '/made?format=json',
  'made once, text': () => '/made?format=text',
  'fresh pairs, json': () => `/trace?from=${pod()}&to=${pod()}&format=json`,
  'fresh pairs, text': () => `/trace?from=${pod()}&to=${pod()}&format=text`,
  'repeated pairs, json': () => `/trace?${repeated[next++ & 4095]}&format=json`,
};

async function cannon(url: string, path: (() => string) | undefined, duration: number) {
  const r = await autocannon({
    url,
    connections: 64,
    duration,
    requests: path === undefined ? undefined : [{ method: 'GET', setupRequest: (req) => ({ ...req, path: path() }) }],
  });
  if (r.non2xx + r.errors + r.timeouts > 0) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  return { reqPerSec: Math.round(r.requests.average), p99Ms: r.latency.p99 };
}

const svc = await startService({ NODES: String(nodes), PODS_PER_NODE: String(podsPerNode) }, { entry: 'bench/http-ceiling-server.ts' });
const rounds: Record<string, { reqPerSec: number; p99Ms: number; ratio: number }>[] = [];
try {
  // A short warm-up of each route, so the JIT has settled before the measured rounds.
  for (const path of Object.values(ROUTES)) await cannon(svc.url, path, 2);
  for (let round = 0; round < 2; round++) {
    const figures: (typeof rounds)[number] = {};
    let hello = 0;
    for (const [label, path] of Object.entries(ROUTES)) {
      const f = await cannon(svc.url, path, seconds);
      if (path === undefined) hello = f.reqPerSec;
      figures[label] = { ...f, ratio: Math.round((f.reqPerSec / hello) * 100) / 100 };
      console.log(`round ${round + 1}: ${label.padEnd(21)} ${f.reqPerSec.toLocaleString('en').padStart(7)} req/s, p99 ${f.p99Ms} ms, ${figures[label]!.ratio}×`);
    }
    rounds.push(figures);
  }
} finally {
  await stopService(svc.child);
}

const result = {
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
  date: new Date().toISOString(),
  cluster: { nodes, pods: pods.length },
  connections: 64,
  seconds,
  rounds,
};
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'http-ceiling.json'), `${JSON.stringify(result, null, 2)}\n`);
