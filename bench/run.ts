// `npm run bench`: every benchmark in turn, each in its own process (so one's heap does not disturb the next).
import { spawnSync } from 'node:child_process';

for (const script of ['bench/lpm.ts', 'bench/trace.ts']) {
  console.log(`\n== ${script}`);
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', script], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
