// The disposition of every ordered pair of a set of pods, as rows of one letter per destination: the reachability
// matrix's answer.
import type { CompiledTopology, Endpoint } from '../engine/topology.js';
import { reachability } from '../engine/reachability.js';
import { worstPath, type Disposition, type Flow } from '../engine/trace.js';
import { SERVICE_PREFIX } from '../engine/service/resolve.js';
import { PROTOCOLS } from '../engine/service/table.js';
import { traceFlow } from './flow.js';
import type { ReachabilityAnswerDoc } from '../http/routes/reachability.js';
import { Buffer } from 'node:buffer';
import { Problem } from './problem.js';
import { LEGEND } from './legend.js';
import { CellPolicies } from './decided.js';

export { LEGEND };
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

/** What every flow of a matrix (or of a diff's pairs) carries: NetworkPolicy rules match on it. */
export type Transport = Pick<Flow, 'protocol' | 'dstPort'>;

/**
 * The transport asked for by `protocol` and `port` (query parameters, or a what-if's `compare`): a port only goes with
 * a protocol that has ports.
 */
export function transportOf(protocol: Flow['protocol'] | undefined, port: number | undefined, where: { parameter: string } | { pointer: string }): Transport {
  if (port !== undefined && (protocol ?? 'icmp') === 'icmp') {
    throw new Problem(400, 'invalid-request', 'port goes with protocol=tcp, udp or sctp', { errors: [{ ...where, detail: 'needs protocol tcp, udp or sctp' }] });
  }
  return { ...(protocol !== undefined ? { protocol } : {}), ...(port !== undefined ? { dstPort: port } : {}) };
}

/** What every matrix answer starts with: the revision, the transport asked for, and the pods of its rows. */
const head = (topology: { name: string; revision: number }, protocol: string | undefined, port: number | undefined, pods: Endpoint[]) => ({
  topology,
  ...(protocol !== undefined ? { protocol } : {}),
  ...(port !== undefined ? { port } : {}),
  endpoints: pods.map((e) => ({ name: e.name, node: nodeOf(e), address: e.addrs[0]?.toString() ?? '' })),
});

/** Refuses (413) a matrix of more pods than one response answers. */
export function checkMatrixPods(pods: readonly Endpoint[]): void {
  if (pods.length > MAX_MATRIX_PODS) {
    throw new Problem(413, 'payload-too-large', `${pods.length} pods: a matrix answers at most ${MAX_MATRIX_PODS}; filter by namespace or node`);
  }
}

/** The letters, and when asked for, which policy decided each cell (for the rows, the CSV and the SVG's titles). */
export type MatrixAnswer = ReachabilityAnswerDoc & { policies?: CellPolicies };

export function matrixAnswer(
  compiled: CompiledTopology,
  topology: { name: string; revision: number },
  pods: Endpoint[],
  transport: Transport = {},
  options: { decided?: boolean } = {},
): MatrixAnswer {
  checkMatrixPods(pods);
  const m = reachability(compiled, pods, transport, options);
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
    ...head(topology, transport.protocol, transport.dstPort, pods),
    legend: { ...LEGEND },
    rows,
    counts,
    pairs: n * (n - 1),
    traced: m.traced,
    ...(m.decided !== undefined ? { policies: new CellPolicies(compiled.fabric.policies!, m.decided, m.decisions!) } : {}),
  };
}

/** One ordered pair of the matrix, as a dashboard's table or a spreadsheet takes it (the fields of MatrixRow). */
const ROW_FIELDS = ['from', 'fromNamespace', 'fromNode', 'fromAddress', 'to', 'toNamespace', 'toNode', 'toAddress', 'disposition'] as const;
/** The CSV's columns: the row's, and the deciding policies in one line (the rows' `decidedBy` is a list). */
const CSV_FIELDS = [...ROW_FIELDS, 'decidedBy'] as const;

/** How to ask for a smaller matrix than MAX_ANSWER_BYTES allows, as every 422 of the matrix says it. */
export const SMALLER_MATRIX = 'ask for the pods of one namespace or node (namespace=, node=), or for the letters (format=json), one byte a pair';

const tooLarge = (pairs: number, format: 'rows' | 'csv', maxBytes: number) =>
  new Problem(
    422,
    'answer-too-large',
    `${pairs} pairs as ${format === 'rows' ? 'JSON rows' : 'CSV'} would be larger than the limit of ${maxBytes} bytes (MAX_ANSWER_BYTES); ${SMALLER_MATRIX}`,
  );

/**
 * Refuses (422) rows or CSV that cannot fit in `maxBytes` before any pair is traced: every row holds at least both pods'
 * names and addresses and the punctuation of its fields.
 */
export function checkTableSize(pods: readonly Endpoint[], format: 'rows' | 'csv', maxBytes: number): void {
  const n = pods.length;
  const pairs = n * (n - 1);
  // A row with every field empty, and the comma between rows; a CSV line's commas and CRLF.
  const empty = Object.fromEntries(ROW_FIELDS.map((f) => [f, '']));
  const fixed = format === 'rows' ? (JSON.stringify(empty).length + 1) * pairs - 1 : (CSV_FIELDS.length + 1) * pairs;
  let names = 0;
  for (const e of pods) names += e.name.length + (e.addrs[0]?.toString().length ?? 0);
  // Each pod is the source of n - 1 rows and the destination of n - 1.
  if (fixed + 2 * (n - 1) * names > maxBytes) throw tooLarge(pairs, format, maxBytes);
}

/**
 * The matrix as one entry per ordered pair of distinct pods (a pod to itself is left out), written out as JSON rows or
 * CSV, with the policies that decided the pair when the answer has them. Rows take about 200 bytes a pair where the
 * letters take one, so the answer is measured while it is written and refused (422) past `maxBytes`.
 */
export function matrixTable(answer: MatrixAnswer, format: 'rows' | 'csv', maxBytes: number): string {
  const n = answer.endpoints.length;
  const sides = answer.endpoints.map((e) => {
    const slash = e.name.indexOf('/');
    return { name: e.name, namespace: slash > 0 ? e.name.slice(0, slash) : null, node: e.node, address: e.address };
  });
  const policies = answer.policies;
  const parts: string[] = [format === 'rows' ? '[' : `${CSV_FIELDS.join(',')}\r\n`];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const a = sides[i]!;
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const b = sides[j]!;
      const disposition = answer.legend[answer.rows[i]![j]!] ?? null;
      const values = [a.name, a.namespace, a.node, a.address, b.name, b.namespace, b.node, b.address, disposition];
      const decided = policies === undefined ? -1 : policies.ids[i * n + j]!;
      let line: string;
      if (format === 'rows') {
        const row: Record<string, unknown> = Object.fromEntries(ROW_FIELDS.map((f, k) => [f, values[k]]));
        if (decided >= 0) row.decidedBy = policies!.of(decided);
        line = `${parts.length > 1 ? ',' : ''}${JSON.stringify(row)}`;
      } else {
        line = `${[...values, decided >= 0 ? policies!.text(decided) : null].map(csvField).join(',')}\r\n`;
      }
      bytes += Buffer.byteLength(line);
      if (bytes > maxBytes) throw tooLarge(answer.pairs, format, maxBytes);
      parts.push(line);
    }
  }
  if (format === 'rows') parts.push(']');
  return parts.join('');
}

/**
 * A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. A name is the user's: one that starts
 * as a formula (= + - @, a tab or CR) would be run by a spreadsheet that opens the file, so it gets a leading quote mark.
 */
function csvField(value: string | null): string {
  if (value === null) return '';
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Beyond this many pod × Service-port cells a Service matrix is refused (each cell traces every endpoint, up to 64). */
export const MAX_SERVICE_CELLS = 100_000;

export interface ServiceColumn {
  name: string;
  port: number;
  portName?: string;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  address: string;
}

/**
 * Which pod reaches which Service port: one row per pod, one letter per Service port with a ClusterIP (of `protocol`
 * and `port` when given), the worst of the paths a trace to its ClusterIP follows (one per endpoint), as a single trace
 * to `svc/<namespace>/<name>` with that port answers it.
 */
export function serviceMatrixAnswer(
  compiled: CompiledTopology,
  topology: { name: string; revision: number },
  pods: Endpoint[],
  filter: { protocol?: 'icmp' | 'tcp' | 'udp' | 'sctp'; port?: number } = {},
): ReachabilityAnswerDoc {
  const t = compiled.services;
  const columns: ServiceColumn[] = [];
  const proto = filter.protocol?.toUpperCase();
  for (let sp = 0; t !== undefined && sp < t.size; sp++) {
    const svc = t.services[t.spService[sp]!]!;
    // The port of the family a trace to the Service by name takes (its first ClusterIP's), once per Service port.
    const first = svc.clusterIPs[0];
    if (first === undefined || t.spFamily[sp] !== first.family) continue;
    const protocol = PROTOCOLS[t.spProto[sp]!] as ServiceColumn['protocol'];
    if ((proto !== undefined && protocol !== proto) || (filter.port !== undefined && t.spPort[sp] !== filter.port)) continue;
    const portName = t.spPortName[sp]!;
    columns.push({ name: `${SERVICE_PREFIX}${svc.namespace}/${svc.name}`, port: t.spPort[sp]!, ...(portName ? { portName } : {}), protocol, address: first.toString() });
  }
  const cells = pods.length * columns.length;
  if (cells > MAX_SERVICE_CELLS) {
    throw new Problem(
      413,
      'payload-too-large',
      `${pods.length} pods × ${columns.length} Service ports is ${cells} traces: a Service matrix answers at most ${MAX_SERVICE_CELLS}; ` +
        'filter the pods by namespace or node, or the Service ports by protocol and port',
    );
  }
  const counts: Record<string, number> = {};
  const rows: string[] = [];
  for (const pod of pods) {
    let row = '';
    for (const c of columns) {
      let d: Disposition | undefined;
      try {
        const { trace } = traceFlow(compiled, { from: pod.name, to: c.name, port: c.port, protocol: c.protocol.toLowerCase() as 'tcp' | 'udp' | 'sctp' });
        d = trace.paths[worstPath(trace.paths)]!.disposition;
      } catch (err) {
        // A pod without an address of the Service's family: no trace, as a pair without a common family.
        if (!(err instanceof Problem)) throw err;
      }
      if (d !== undefined) counts[d] = (counts[d] ?? 0) + 1;
      row += d === undefined ? '?' : LETTER.get(d)!;
    }
    rows.push(row);
  }
  return {
    ...head(topology, filter.protocol, filter.port, pods),
    services: columns,
    legend: { ...LEGEND },
    rows,
    counts,
    pairs: cells,
    traced: Object.values(counts).reduce((a, b) => a + b, 0),
  };
}
