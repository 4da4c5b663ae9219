// `npm run bench`: every benchmark in turn, each in its own process (so one's heap does not disturb the next).
// Growth runs bench/trace.ts at 50, 500 and 5,000 nodes (the last is the 5,000-node trace benchmark itself); Services
// traces 10,000 Services of a 5,000-node cluster.
// Ingest and HTTP start the service in child processes; with DATABASE_URL set they also run against PostgreSQL. The
// HTTP ceiling serves traces from a bare Fastify of its own (bench/http-ceiling-server.ts).
import { spawnSync } from 'node:child_process';

for (const script of ['bench/lpm.ts', 'bench/growth.ts', 'bench/matrix.ts', 'bench/services.ts', 'bench/ingest.ts', 'bench/http.ts', 'bench/http-ceiling.ts']) {
  console.log(`\n== ${script}`);
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', script], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
