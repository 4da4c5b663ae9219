// A what-if's work in its worker (POST /v1/traces compiles its topology per request): check the body of the seed's
// two-node cluster, compile it and answer one trace with its prose, per request. Run with `npx tsx bench/whatif.ts` for
// this checkout, or `npx tsx bench/whatif.ts <dist> <dist>` to compare two builds (`npm run build` in each) in one
// process, alternating rounds: the median and p90 of each, in ms.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

interface Build {
  compile: (spec: unknown) => unknown;
  check: (body: unknown) => { spec: unknown };
  answer: (compiled: unknown, key: object, flow: object) => unknown;
}

const body = JSON.parse(readFileSync(new URL('../examples/two-nodes.json', import.meta.url), 'utf8')) as unknown;
const dirs = process.argv.slice(2);
const load = async (base: string): Promise<Build> => {
  const at = (m: string) => (base.startsWith('file:') ? new URL(m, base).href : pathToFileURL(resolve(base, m)).href);
  const ext = base.startsWith('file:') ? 'ts' : 'js';
  return {
    compile: ((await import(at(`engine/topology.${ext}`))) as { compileTopology: Build['compile'] }).compileTopology,
    check: ((await import(at(`import/body.${ext}`))) as { checkTopologyBody: Build['check'] }).checkTopologyBody,
    answer: ((await import(at(`answer/flow.${ext}`))) as { answerFlow: Build['answer'] }).answerFlow,
  };
};
const builds = dirs.length > 0 ? await Promise.all(dirs.map(load)) : [await load(new URL('../src/', import.meta.url).href)];
const names = dirs.length > 0 ? dirs : ['this checkout'];

const once = (b: Build) => {
  const t0 = performance.now();
  const compiled = b.compile(b.check(structuredClone(body)).spec);
  b.answer(compiled, { name: 'whatif', revision: 1 }, { from: 'pod-a1', to: 'pod-b1', protocol: 'tcp', dstPort: 80 });
  return performance.now() - t0;
};
const times = builds.map((): number[] => []);
for (let r = 0; r < 500; r++) {
  const order = r % 2 === 0 ? builds.map((_, i) => i) : builds.map((_, i) => builds.length - 1 - i);
  for (const i of order) times[i]!.push(once(builds[i]!));
}
times.forEach((t, i) => {
  const s = t.slice(100).sort((a, b) => a - b);
  console.log(`${names[i]}: median ${s[s.length >> 1]!.toFixed(2)} ms, p90 ${s[Math.floor(s.length * 0.9)]!.toFixed(2)} ms per what-if`);
});
