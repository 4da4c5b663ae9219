// Start-up: how long `npm start` (node dist/server.js, compiled JavaScript) takes to answer 200 on /readyz, on a fresh
// embedded-PGlite data folder (the database is created) and again on the same folder (it exists), and on PostgreSQL when
// DATABASE_URL is set. Builds dist/ first unless NO_BUILD=1. `PROFILE=1` adds --cpu-prof (bench/results/profiles/).
// Run with `npx tsx bench/startup.ts [rounds]`; writes bench/results/startup.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, startService, stopService } from './serve.js';

const rounds = Number(process.argv[2] ?? 3);
if (process.env.NO_BUILD !== '1') execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
const profDir = join(root, 'bench', 'results', 'profiles');
if (process.env.PROFILE === '1') mkdirSync(profDir, { recursive: true });

/** Milliseconds from spawning the service to its first 200 on /readyz. */
async function ready(env: NodeJS.ProcessEnv, label: string): Promise<number> {
  const nodeArgs = process.env.PROFILE === '1' ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=startup-${label}.cpuprofile`] : [];
  const started = performance.now();
  const svc = await startService(env, { entry: 'dist/server.js', compiled: true, nodeArgs, pollMs: 20 });
  const ms = Math.round(performance.now() - started);
  await stopService(svc.child);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const result: Record<string, number[]> = { pgliteFresh: [], pgliteExisting: [], postgres: [] };
for (let r = 0; r < rounds; r++) {
  const dataDir = mkdtempSync(join(tmpdir(), 'pathtrace-startup-'));
  const env = { DATABASE_URL: '', DATA_DIR: dataDir };
  try {
    result.pgliteFresh!.push(await ready(env, 'fresh'));
    result.pgliteExisting!.push(await ready(env, 'existing'));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  if (process.env.DATABASE_URL) result.postgres!.push(await ready({ DATABASE_URL: process.env.DATABASE_URL }, 'postgres'));
}
for (const [k, v] of Object.entries(result)) if (v.length > 0) console.log(`${k.padEnd(16)} median ${median(v)} ms (${v.join(', ')} ms)`);
console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(root, 'bench', 'results', 'startup.json'),
  `${JSON.stringify({ machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version }, date: new Date().toISOString(), loadavg: loadavg(), readyMs: result }, null, 2)}\n`,
);
