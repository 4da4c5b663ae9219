// Summarises a .cpuprofile (from --cpu-prof): the functions and the files with the most self time, and, for named
// functions, their total (inclusive) time. Run with `npx tsx bench/profile-summary.ts <file.cpuprofile> [top] [fn,fn,...]`.
import { readProfile, selfByFunction, shortUrl } from './profile.js';

const [file, topArg, namesArg] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary <file.cpuprofile> [top] [fn,fn,...]');
const top = Number(topArg ?? 25);
// WINDOW=from-to (ms since the profile started) keeps only the samples in that window, e.g. one phase of a benchmark;
// WINDOW_BEFORE_END=from-to counts back from the profile's end instead (a phase that ended a known time before exit).
const [winFrom, winTo] = (process.env.WINDOW_BEFORE_END ?? process.env.WINDOW ?? '0-1e12').split('-').map(Number) as [number, number];
const prof = readProfile(file, { from: winFrom, to: winTo, beforeEnd: process.env.WINDOW_BEFORE_END !== undefined });
const { byId, self } = prof;
console.log(`profile spans ${prof.span.toFixed(0)} ms`);
const total = [...self.values()].reduce((a, b) => a + b, 0);

const fnSelf = selfByFunction(prof);
const fileSelf = new Map<string, number>();
for (const [id, ms] of self) {
  const n = byId.get(id)!;
  const f = shortUrl(n.callFrame.url) || `(${n.callFrame.functionName})`;
  fileSelf.set(f, (fileSelf.get(f) ?? 0) + ms);
}
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, ms] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${ms.toFixed(0).padStart(8)} ms ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
  }
};
console.log(`${file}: ${total.toFixed(0)} ms sampled`);
show('self time by function', fnSelf);
show('self time by file', fileSelf);

if (namesArg) {
  // Inclusive time: a node's self time plus its descendants', counted once per name on each stack.
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const names = namesArg.split(',');
  const incl = new Map<string, number>(names.map((x) => [x, 0]));
  for (const [id, ms] of self) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const fn = byId.get(cur)!.callFrame.functionName;
      if (incl.has(fn) && !seen.has(fn)) {
        seen.add(fn);
        incl.set(fn, incl.get(fn)! + ms);
      }
    }
  }
  console.log('\ninclusive time');
  for (const [k, ms] of incl) console.log(`${ms.toFixed(0).padStart(8)} ms ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
}
