// The disposition of every ordered pair of a set of pods, as rows of one letter per destination: the reachability
// matrix's answer.
import type { CompiledTopology, Endpoint } from '../engine/topology.js';
import { reachability } from '../engine/reachability.js';
import { worstPath, type Disposition, type Flow, type Path } from '../engine/trace.js';
import { SERVICE_PREFIX } from '../engine/service/resolve.js';
import { PROTOCOLS } from '../engine/service/table.js';
import { traceFlow } from './flow.js';
import type { ReachabilityAnswerDoc } from '../http/routes/reachability.js';
import { Buffer } from 'node:buffer';
import { Problem } from './problem.js';
import { LEGEND } from './legend.js';
import { hostPort } from './batch.js';
import { CellPolicies, decidedText, dnatDecidedBy, policyStepDecidedBy, serviceDecidedText, type DecidedByDoc, type ServiceDecidedByDoc } from './decided.js';

export { LEGEND };
const LETTER = new Map(Object.entries(LEGEND).map(([k, v]) => [v, k]));
/** The letters as ASCII codes, and those of a pod with itself and of a pair without a common family. */
const LETTER_CODE = new Map([...LETTER].map(([d, letter]) => [d, letter.charCodeAt(0)]));
const DASH = '-'.charCodeAt(0);
const UNKNOWN = '?'.charCodeAt(0);

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
  // Each row's letters are written as bytes and read out as one flat string: appended a letter at a time, a 1,000-pod
  // matrix made a million strings, for the garbage collector and then for JSON.stringify to flatten (~100 ms of 200).
  const row = Buffer.allocUnsafe(n);
  const tally = new Int32Array(128);
  // The dispositions in the order they first occur, as the counts have always listed them.
  const seen: Disposition[] = [];
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) {
        row[j] = DASH;
        continue;
      }
      const d = m.cells[i * n + j];
      const code = d === undefined ? UNKNOWN : LETTER_CODE.get(d)!;
      if (d !== undefined && tally[code]++ === 0) seen.push(d);
      row[j] = code;
    }
    rows.push(row.toString('latin1', 0, n));
  }
  const counts: Record<string, number> = {};
  for (const d of seen) counts[d] = tally[LETTER_CODE.get(d)!]!;
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

/** How to ask for a smaller matrix than MAX_ANSWER_BYTES allows, as every 422 of the matrix says it. */
export const SMALLER_MATRIX = 'ask for the pods of one namespace or node (namespace=, node=), or for the letters (format=json), one byte a pair';
/** The same for the pods × Services matrix, whose Service ports can be narrowed too. */
export const SMALLER_SERVICE_MATRIX =
  'ask for the pods of one namespace or node (namespace=, node=), the Service ports of one protocol or port (protocol=, port=), or for the letters (format=json), one byte a cell';

const tooLarge = (what: string, format: 'rows' | 'csv', maxBytes: number, smaller: string) =>
  new Problem(
    422,
    'answer-too-large',
    `${what} as ${format === 'rows' ? 'JSON rows' : 'CSV'} would be larger than the limit of ${maxBytes} bytes (MAX_ANSWER_BYTES); ${smaller}`,
  );

/**
 * Refuses (422) rows or CSV that cannot fit in `maxBytes` before any cell is traced: every row holds at least its
 * fields' punctuation (`skeleton`: a row with every field empty) and `names` bytes of names and addresses in all.
 */
function refuseAhead(skeleton: Record<string, unknown>, cells: number, names: number, format: 'rows' | 'csv', maxBytes: number, refusal: () => Problem): void {
  // A row and the comma between rows; a CSV line's commas (one a field, the deciding policies' column included) and CRLF.
  const fixed = format === 'rows' ? (JSON.stringify(skeleton).length + 1) * cells - 1 : (Object.keys(skeleton).length + 2) * cells;
  if (fixed + names > maxBytes) throw refusal();
}

const nameBytes = (e: Endpoint) => e.name.length + (e.addrs[0]?.toString().length ?? 0);

/** Refuses (422) pod-pair rows or CSV that cannot fit in `maxBytes`, before any pair is traced. */
export function checkTableSize(pods: readonly Endpoint[], format: 'rows' | 'csv', maxBytes: number): void {
  const n = pods.length;
  const pairs = n * (n - 1);
  let names = 0;
  for (const e of pods) names += nameBytes(e);
  // Each pod is the source of n - 1 rows and the destination of n - 1.
  const empty = Object.fromEntries(ROW_FIELDS.map((f) => [f, '']));
  refuseAhead(empty, pairs, 2 * (n - 1) * names, format, maxBytes, () => tooLarge(`${pairs} pairs`, format, maxBytes, SMALLER_MATRIX));
}

/**
 * Rows written out as a JSON array or as CSV with a header line (the deciding entries in one last column), measured while
 * they are written: rows take about 200 bytes a cell where the letters take one, so past `maxBytes` they are refused (422).
 */
class TableWriter {
  private readonly parts: string[];
  private bytes = 0;

  constructor(
    private readonly format: 'rows' | 'csv',
    private readonly fields: readonly string[],
    private readonly maxBytes: number,
    private readonly refusal: () => Problem,
  ) {
    this.parts = [format === 'rows' ? '[' : `${[...fields, 'decidedBy'].join(',')}\r\n`];
  }

  /** A row's values in the order of `fields`, and what decided it (as entries for JSON, as a line for CSV). */
  add(values: readonly (string | number | null)[], decidedBy: readonly unknown[], decidedText: string): void {
    let line: string;
    if (this.format === 'rows') {
      const row: Record<string, unknown> = Object.fromEntries(this.fields.map((f, k) => [f, values[k]]));
      if (decidedBy.length > 0) row.decidedBy = decidedBy;
      line = `${this.parts.length > 1 ? ',' : ''}${JSON.stringify(row)}`;
    } else {
      line = `${[...values, decidedText].map(csvField).join(',')}\r\n`;
    }
    this.bytes += Buffer.byteLength(line);
    if (this.bytes > this.maxBytes) throw this.refusal();
    this.parts.push(line);
  }

  end(): string {
    if (this.format === 'rows') this.parts.push(']');
    return this.parts.join('');
  }
}

const sideOf = (name: string) => {
  const slash = name.indexOf('/');
  return slash > 0 ? name.slice(0, slash) : null;
};

/**
 * The matrix as one entry per ordered pair of distinct pods (a pod to itself is left out), written out as JSON rows or
 * CSV, with the policies that decided the pair when the answer has them.
 */
export function matrixTable(answer: MatrixAnswer, format: 'rows' | 'csv', maxBytes: number): string {
  const n = answer.endpoints.length;
  const sides = answer.endpoints.map((e) => ({ name: e.name, namespace: sideOf(e.name), node: e.node, address: e.address }));
  const policies = answer.policies;
  const table = new TableWriter(format, ROW_FIELDS, maxBytes, () => tooLarge(`${answer.pairs} pairs`, format, maxBytes, SMALLER_MATRIX));
  for (let i = 0; i < n; i++) {
    const a = sides[i]!;
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const b = sides[j]!;
      const disposition = answer.legend[answer.rows[i]![j]!] ?? null;
      const decided = policies === undefined ? -1 : policies.ids[i * n + j]!;
      table.add(
        [a.name, a.namespace, a.node, a.address, b.name, b.namespace, b.node, b.address, disposition],
        decided >= 0 ? policies!.of(decided) : [],
        decided >= 0 ? policies!.text(decided) : '',
      );
    }
  }
  return table.end();
}

/**
 * A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. A name is the user's: one that starts
 * as a formula (= + - @, a tab or CR) would be run by a spreadsheet that opens the file, so it gets a leading quote mark.
 */
function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
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
 * The columns of the pods × Services matrix: one per Service port with a ClusterIP (of `protocol` and `port` when
 * given), in the port of the family a trace to the Service by name takes (its first ClusterIP's).
 */
export function serviceColumns(compiled: CompiledTopology, filter: { protocol?: string; port?: number }): ServiceColumn[] {
  const t = compiled.services;
  const columns: ServiceColumn[] = [];
  const proto = filter.protocol?.toUpperCase();
  for (let sp = 0; t !== undefined && sp < t.size; sp++) {
    const svc = t.services[t.spService[sp]!]!;
    const first = svc.clusterIPs[0];
    if (first === undefined || t.spFamily[sp] !== first.family) continue;
    const protocol = PROTOCOLS[t.spProto[sp]!] as ServiceColumn['protocol'];
    if ((proto !== undefined && protocol !== proto) || (filter.port !== undefined && t.spPort[sp] !== filter.port)) continue;
    const portName = t.spPortName[sp]!;
    columns.push({ name: `${SERVICE_PREFIX}${svc.namespace}/${svc.name}`, port: t.spPort[sp]!, ...(portName ? { portName } : {}), protocol, address: first.toString() });
  }
  return columns;
}

/** Refuses (413) a Service matrix of more cells than MAX_SERVICE_CELLS. */
export function checkServiceCells(pods: readonly Endpoint[], columns: readonly ServiceColumn[]): void {
  const cells = pods.length * columns.length;
  if (cells > MAX_SERVICE_CELLS) {
    throw new Problem(
      413,
      'payload-too-large',
      `${pods.length} pods × ${columns.length} Service ports is ${cells} traces: a Service matrix answers at most ${MAX_SERVICE_CELLS}; ` +
        'filter the pods by namespace or node, or the Service ports by protocol and port',
    );
  }
}

/** One cell of the pods × Services matrix as a dashboard's table or a spreadsheet takes it (the fields of ServiceMatrixRow). */
const SERVICE_ROW_FIELDS = [
  'from', 'fromNamespace', 'fromNode', 'fromAddress', 'service', 'serviceNamespace', 'clusterIP', 'port', 'portName', 'protocol', 'endpoint', 'disposition',
] as const;

const serviceCellsTooLarge = (cells: number, format: 'rows' | 'csv', maxBytes: number) =>
  tooLarge(`${cells} pod × Service-port cells`, format, maxBytes, SMALLER_SERVICE_MATRIX);

/** Refuses (422) Service-matrix rows or CSV that cannot fit in `maxBytes`, before any cell is traced. */
export function checkServiceTableSize(pods: readonly Endpoint[], columns: readonly ServiceColumn[], format: 'rows' | 'csv', maxBytes: number): void {
  let podNames = 0;
  for (const e of pods) podNames += nameBytes(e);
  // A column's Service as the row names it (namespace/name, without the `svc/` of a trace's `to`), its ClusterIP and protocol.
  let columnNames = 0;
  for (const c of columns) columnNames += c.name.length - SERVICE_PREFIX.length + c.address.length + c.protocol.length;
  const cells = pods.length * columns.length;
  // The port is a number of one digit or more: 0 is the least it adds to a row.
  const empty = Object.fromEntries(SERVICE_ROW_FIELDS.map((f) => [f, f === 'port' ? 0 : '']));
  refuseAhead(empty, cells, columns.length * podNames + pods.length * columnNames, format, maxBytes, () => serviceCellsTooLarge(cells, format, maxBytes));
}

/** What decided each cell of a Service matrix, by id as CellPolicies has them (the same cells share an id), and the endpoint. */
export class ServiceCells {
  /** Per cell (i * columns + j), an id in the lists below, or -1 when nothing decided. */
  readonly ids: Int32Array;
  /** Per cell, the endpoint (address:port) the reported path was sent to, or null when kube-proxy refused it. */
  readonly endpoints: (string | null)[];
  private readonly lists: (DecidedByDoc | ServiceDecidedByDoc)[][] = [];
  private readonly texts: string[] = [];
  private readonly byKey = new Map<string, number>();

  constructor(cells: number) {
    this.ids = new Int32Array(cells).fill(-1);
    this.endpoints = new Array<string | null>(cells).fill(null);
  }

  /** Records what decided cell `k` of the path a cell reports: the DNAT step's refusal and the policies on the way. */
  record(k: number, path: Path): void {
    const found: (DecidedByDoc | ServiceDecidedByDoc)[] = [];
    for (const hop of path.hops) {
      for (const step of hop.steps) {
        if (step.type === 'POLICY') found.push(...policyStepDecidedBy(step));
        else if (step.type === 'DNAT') {
          found.push(...dnatDecidedBy(step));
          if (step.to !== undefined) this.endpoints[k] = hostPort(step.to.address, step.to.port);
        }
      }
    }
    if (found.length === 0) return;
    const key = JSON.stringify(found);
    let id = this.byKey.get(key);
    if (id === undefined) {
      id = this.lists.push(found) - 1;
      this.texts.push(found.map((e) => (e.kind === 'Service' ? serviceDecidedText(e) : decidedText(e))).join('; '));
      this.byKey.set(key, id);
    }
    this.ids[k] = id;
  }

  of(id: number): readonly (DecidedByDoc | ServiceDecidedByDoc)[] {
    return id < 0 ? [] : this.lists[id]!;
  }

  text(id: number): string {
    return id < 0 ? '' : this.texts[id]!;
  }
}

/** The Service matrix's letters, and when asked for, what decided each cell (for the rows, the CSV and the SVG's titles). */
export type ServiceMatrixAnswer = ReachabilityAnswerDoc & { services: ServiceColumn[]; cells?: ServiceCells };

/**
 * Which pod reaches which Service port: one row per pod, one letter per column (serviceColumns), the worst of the
 * paths a trace to its ClusterIP follows (one per endpoint), as a single trace to `svc/<namespace>/<name>` with that
 * port answers it; with `decided`, what decided that worst path.
 */
export function serviceMatrixAnswer(
  compiled: CompiledTopology,
  topology: { name: string; revision: number },
  pods: Endpoint[],
  columns: ServiceColumn[],
  filter: { protocol?: 'icmp' | 'tcp' | 'udp' | 'sctp'; port?: number } = {},
  options: { decided?: boolean } = {},
): ServiceMatrixAnswer {
  checkServiceCells(pods, columns);
  const cells = options.decided ? new ServiceCells(pods.length * columns.length) : undefined;
  const counts: Record<string, number> = {};
  const rows: string[] = [];
  pods.forEach((pod, i) => {
    let row = '';
    columns.forEach((c, j) => {
      let d: Disposition | undefined;
      try {
        const { trace } = traceFlow(compiled, { from: pod.name, to: c.name, port: c.port, protocol: c.protocol.toLowerCase() as 'tcp' | 'udp' | 'sctp' });
        const path = trace.paths[worstPath(trace.paths)]!;
        d = path.disposition;
        cells?.record(i * columns.length + j, path);
      } catch (err) {
        // A pod without an address of the Service's family: no trace, as a pair without a common family.
        if (!(err instanceof Problem)) throw err;
      }
      if (d !== undefined) counts[d] = (counts[d] ?? 0) + 1;
      row += d === undefined ? '?' : LETTER.get(d)!;
    });
    rows.push(row);
  });
  return {
    ...head(topology, filter.protocol, filter.port, pods),
    services: columns,
    legend: { ...LEGEND },
    rows,
    counts,
    pairs: pods.length * columns.length,
    traced: Object.values(counts).reduce((a, b) => a + b, 0),
    ...(cells !== undefined ? { cells } : {}),
  };
}

/** The Service matrix as one entry per pod and Service port, written out as JSON rows or CSV with what decided each. */
export function serviceMatrixTable(answer: ServiceMatrixAnswer, format: 'rows' | 'csv', maxBytes: number): string {
  const m = answer.services.length;
  const table = new TableWriter(format, SERVICE_ROW_FIELDS, maxBytes, () => serviceCellsTooLarge(answer.pairs, format, maxBytes));
  const columns = answer.services.map((c) => {
    const name = c.name.slice(SERVICE_PREFIX.length);
    return { ...c, name, namespace: sideOf(name) };
  });
  const cells = answer.cells;
  answer.endpoints.forEach((a, i) => {
    const namespace = sideOf(a.name);
    columns.forEach((c, j) => {
      const k = i * m + j;
      const id = cells === undefined ? -1 : cells.ids[k]!;
      table.add(
        [a.name, namespace, a.node, a.address, c.name, c.namespace, c.address, c.port, c.portName ?? null, c.protocol, cells?.endpoints[k] ?? null, answer.legend[answer.rows[i]![j]!] ?? null],
        cells?.of(id) ?? [],
        cells?.text(id) ?? '',
      );
    });
  });
  return table.end();
}
