// What a worker's `answer` job (src/work/jobs.ts) spends per HTTP trace, stage by stage, in-process on the 5,000 × 30
// cluster of bench/cluster.ts: the ends resolved from their names, the trace, the explanation, the rest of the answer
// object, the JSON or text written, and its UTF-8 bytes. Each stage's figure is the difference of two loops that do
// everything up to it and up to the stage before (a stage cannot be timed inside the next: explaining a trace twice
// would find on the second time the parts kept from the first). Two workloads: `fresh`, a new random pod pair per
// flow (as bench/http.ts asks: at 150,000 pods a pair is seldom asked twice), and `repeated`, 4,096 pairs asked over
// and over (as bench/trace.ts asks). Each loop's figure is the median of several rounds, with rounds of the loops
// alternated so that a busy moment of a shared machine spreads over all of them, in CPU time (the process's), since
// on a shared machine wall time counts the waits for a core.
// Run with `node --import tsx bench/answer-stages.ts [nodes] [podsPerNode] [data path]`.
import { compileTopology } from '../src/engine/topology.js';
import { answerFlow, traceFlow } from '../src/answer/flow.js';
import { explain } from '../src/answer/explain.js';
import { DEFAULT_PATHS, type FlowRequest } from '../src/answer/trace-answer.js';
import { MAX_PATHS } from '../src/engine/trace.js';
import { PRINTS_DECISIONS, writeAnswer, type Format } from '../src/render/formats.js';
import { JOBS, type Loaded } from '../src/work/jobs.js';
import { DATA_PATHS, generateCluster } from './cluster.js';

const nodes = Number(process.argv[2] ?? 5000);
const podsPerNode = Number(process.argv[3] ?? 30);
const dataPath = process.argv[4] ?? 'bridge-host-gw';
const cluster = generateCluster(nodes, podsPerNode, DATA_PATHS[dataPath]);
const compiled = compileTopology({ form: 'cluster', cluster });
const topology = { name: 'stages', revision: 1 };
const loaded: Loaded[] = [{ key: { id: 'stages', name: topology.name, revision: topology.revision }, compiled }];
const names = cluster.pods!.map((p) => `default/${p.name}`);

let seed = 777;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const randomFlow = (): FlowRequest => ({ from: names[Math.floor(rand() * names.length)]!, to: names[Math.floor(rand() * names.length)]! });
const repeated = Array.from({ length: 4096 }, randomFlow);

const FLOWS = 4000;
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const encoder = new TextEncoder();

/**
 * The options the job answers with: JSON at the default detail; the other formats from the full answer, with only the
 * prose that text, Markdown and Mermaid print.
 */
const optionsOf = (format: Format) =>
  format === 'json' ? { detail: 'full' as const, paths: DEFAULT_PATHS } : { detail: 'full' as const, paths: MAX_PATHS, printed: PRINTS_DECISIONS.has(format) };

// Each stage does the job up to a point; its `sink` keeps the work from being optimised away.
const STAGES: [string, (flow: FlowRequest, format: Format) => number][] = [
  ['resolve ends', (f) => compiled.resolve(f.from, 'source').name.length + compiled.resolve(f.to, 'destination').name.length],
  ['trace', (f) => traceFlow(compiled, f).trace.paths.length],
  [
    'explain',
    (f, format) => {
      const { ends, trace } = traceFlow(compiled, f);
      return explain(compiled.fabric, trace, { from: ends.from.name, to: ends.to.name }, optionsOf(format)).summary.length;
    },
  ],
  ['answer object', (f, format) => answerFlow(compiled, topology, f, optionsOf(format)).summary.length],
  ['serialise', (f, format) => writeAnswer(answerFlow(compiled, topology, f, optionsOf(format)), format).text.length],
  ['encode (the whole job)', (f, format) => JOBS.answer(loaded, { flow: f, options: optionsOf(format), format }).body.length],
];

function run(format: Format, workload: 'fresh' | 'repeated') {
  // A fresh workload draws new pairs for every loop of every round.
  const flows = () => (workload === 'repeated' ? repeated : Array.from({ length: FLOWS }, randomFlow));
  // Warm-up: the JIT, and for `repeated` the kept parts of its pairs.
  for (let r = 0; r < 3; r++) for (const [, fn] of STAGES) for (const f of flows()) fn(f, format);
  const times: number[][] = STAGES.map(() => []);
  let sink = 0;
  for (let round = 0; round < ROUNDS; round++) {
    STAGES.forEach(([, fn], s) => {
      const list = flows();
      const t0 = process.cpuUsage();
      for (const f of list) sink += fn(f, format);
      const { user, system } = process.cpuUsage(t0);
      times[s]!.push((user + system) / list.length);
    });
  }
  const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1]!;
  const cumulative = times.map(median);
  console.log(`\nformat=${format}, ${workload} pairs (CPU µs per trace, median of ${ROUNDS} rounds; sink ${sink & 1}):`);
  cumulative.forEach((t, s) => {
    const stage = t - (s === 0 ? 0 : cumulative[s - 1]!);
    console.log(`  ${STAGES[s]![0].padEnd(24)} ${stage.toFixed(2).padStart(7)}   (up to here ${t.toFixed(2).padStart(7)})`);
  });
}

console.log(`cluster: ${nodes} nodes, ${names.length} pods, ${dataPath}`);
for (const workload of ['fresh', 'repeated'] as const) for (const format of ['json', 'text'] as const) run(format, workload);
