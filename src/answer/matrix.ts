// The disposition of every ordered pair of a set of pods, as rows of one letter per destination: the reachability
// matrix's answer.
import type { CompiledTopology, Endpoint } from '../engine/topology.js';
import { reachability } from '../engine/reachability.js';
import type { Disposition, Flow } from '../engine/trace.js';
import type { ReachabilityAnswerDoc } from '../http/routes/reachability.js';
import { Problem } from './problem.js';

/** One letter per outcome, so a row of the matrix is a short string. */
export const LEGEND: Record<string, Disposition> = {
  D: 'DELIVERED',
  X: 'EXITS_NETWORK',
  R: 'NO_ROUTE',
  B: 'BLACKHOLED',
  U: 'UNREACHABLE',
  N: 'NEIGHBOR_UNREACHABLE',
  L: 'LINK_DOWN',
  F: 'FORWARDING_DISABLED',
  O: 'LOOP',
  T: 'TTL_EXCEEDED',
  J: 'REJECTED',
  P: 'DENIED',
};
const LETTER = new Map(Object.entries(LEGEND).map(([k, v]) => [v, k]));

/** Beyond this many pods a matrix is too large to answer in one response. */
export const MAX_MATRIX_PODS = 5000;

const nodeOf = (e: Endpoint) => (e.netns === undefined ? null : (e.netns.node ?? (e.netns.kind === 'node' ? e.netns.name : null)));

export function selectPods(compiled: CompiledTopology, filter: { namespace?: string; node?: string }): Endpoint[] {
  return compiled
    .pods()
    .filter((e) => filter.namespace === undefined || e.name.startsWith(`${filter.namespace}/`))
    .filter((e) => filter.node === undefined || nodeOf(e) === filter.node);
}

export function matrixAnswer(
  compiled: CompiledTopology,
  topology: { name: string; revision: number },
  pods: Endpoint[],
  transport: Pick<Flow, 'protocol' | 'dstPort'> = {},
): ReachabilityAnswerDoc {
  if (pods.length > MAX_MATRIX_PODS) {
    throw new Problem(413, 'payload-too-large', `${pods.length} pods: a matrix answers at most ${MAX_MATRIX_PODS}; filter by namespace or node`);
  }
  const m = reachability(compiled, pods, transport);
  const n = pods.length;
  const counts: Record<string, number> = {};
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    let row = '';
    for (let j = 0; j < n; j++) {
      if (i === j) {
        row += '-';
        continue;
      }
      const d = m.cells[i * n + j];
      if (d !== undefined) counts[d] = (counts[d] ?? 0) + 1;
      row += d === undefined ? '?' : LETTER.get(d)!;
    }
    rows.push(row);
  }
  return {
    topology,
    ...(transport.protocol !== undefined ? { protocol: transport.protocol } : {}),
    ...(transport.dstPort !== undefined ? { port: transport.dstPort } : {}),
    endpoints: pods.map((e) => ({ name: e.name, node: nodeOf(e), address: e.addrs[0]?.toString() ?? '' })),
    legend: { ...LEGEND },
    rows,
    counts,
    pairs: n * (n - 1),
    traced: m.traced,
  };
}
