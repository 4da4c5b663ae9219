// What a worker can be asked to do: each job takes the compiled revisions it names (in order) and plain arguments, and
// returns plain data. The answer builders are the same functions the routes used in-process.
import type { CompiledTopology } from '../engine/topology.js';
import type { Flow } from '../engine/trace.js';
import type { AnswerOptions, FlowRequest } from '../answer/trace-answer.js';
import { answerFlow, answerFlowJson } from '../answer/flow.js';
import { checkFlowCount, traceFlows, writeFlows, type BatchOptions } from '../answer/batch.js';
import { renderBatchText } from '../render/batch.js';
import { Buffer } from 'node:buffer';
import {
  SMALLER_MATRIX,
  SMALLER_SERVICE_MATRIX,
  checkMatrixPods,
  checkServiceCells,
  checkServiceTableSize,
  checkTableSize,
  matrixAnswer,
  matrixTable,
  selectPods,
  serviceColumns,
  serviceMatrixAnswer,
  serviceMatrixTable,
  transportOf,
} from '../answer/matrix.js';
import { SERVICE_PREFIX } from '../engine/service/resolve.js';
import { MAX_CELL_PODS, renderHeatmap, type MatrixView } from '../render/heatmap.js';
import { FORMATS, PRINTS_DECISIONS, writeAnswer, type Format } from '../render/formats.js';
import type { MarkdownLayout } from '../render/markdown.js';
import type { RevisionKey, StoredDocument } from './protocol.js';
import type { StagedDocument } from '../store/topologies.js';
import { checkTopologyBody } from '../import/body.js';
import { CniRequiredError, importKubernetes, type CniMode, type CniPlugin, type KubernetesImportBodyDoc } from '../import/kubernetes.js';
import { KubernetesImportBody } from '../import/kubernetes/schema.js';
import { summarize } from '../topology/summary.js';
import { Problem } from '../answer/problem.js';
import { compileTopology } from '../engine/topology.js';
import { materialise } from '../engine/materialise.js';
import { checkTopology } from '../topology/validate.js';
import { applyChanges, mergePatch, type Change } from '../topology/patch.js';
import { checkAsBody } from '../topology/schema-check.js';
import { TopologyBody, TopologyPutBody, type TopologyBodyDoc } from '../topology/schema.js';
import { jsonTextProblem } from '../topology/json-text.js';
import type { TSchema } from '@sinclair/typebox';
import { BatchBody, WhatIfBody, type BatchBodyDoc, type WhatIfBodyDoc } from '../topology/requests.js';
import { checkWhatIf } from '../answer/whatif.js';
import { diffAnswer, podsToCompare, type PodFilter, type StoredDoc } from '../answer/diff.js';

export interface Loaded {
  key: RevisionKey;
  compiled: CompiledTopology;
  /** The stored document, for jobs that asked for it (a diff compares documents too). */
  document?: StoredDocument;
}

const topologyOf = (r: Loaded) => ({ name: r.key.name, revision: r.key.revision });

/**
 * An answer already written out, in the worker, so that the main thread only writes it to the socket: a large one as
 * UTF-8 bytes handed over (transferred, not copied); a small one as its text. Handing over a buffer costs both threads
 * more than copying a few kilobytes of text (a trace's answer), and a text answer leaves the socket in one write with
 * its headers where a buffer takes a second.
 */
export interface Encoded {
  contentType: string;
  body: Uint8Array | string;
  /** The body's size in UTF-8 bytes. */
  bytes: number;
}

/** An answer in the chunks it was written in (a batch's, up to MAX_ANSWER_BYTES), each handed over, sent in turn. */
export interface Chunked extends Omit<Encoded, 'body'> {
  body: Uint8Array[];
}

/** Answers up to this many UTF-16 units cross as text. */
const TEXT_ANSWER = 64 * 1024;

const utf8Of = (text: string): Uint8Array => new TextEncoder().encode(text);

export function encoded(contentType: string, text: string): Encoded {
  if (text.length <= TEXT_ANSWER) return { contentType, body: text, bytes: Buffer.byteLength(text) };
  const body = utf8Of(text);
  return { contentType, body, bytes: body.byteLength };
}

/**
 * A request body's JSON text as it crosses to a worker: a string, or a large body's UTF-8 bytes, which the main thread
 * never decoded (a parsed document of 150,000 pods would take seconds to copy; its text, ~100 ms to decode and copy).
 */
type BodyText = string | Uint8Array;

// Decoded as Buffer#toString decodes a smaller body on the main thread: invalid UTF-8 replaced, a BOM kept (and refused
// by JSON.parse).
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const decoded = (text: BodyText): string => (typeof text === 'string' ? text : utf8.decode(text));

/**
 * A document to store, written out as UTF-8 bytes here: encoding 15 MB of text on the main thread held its event loop
 * for hundreds of milliseconds on a busy machine. With a database server the worker uploads the bytes before answering
 * (worker.ts), and the main thread gets the upload; with the embedded one they cross by transfer and go to its thread.
 */
type DocumentToStore = Uint8Array | StagedDocument;

/** A topology body as it will be stored: checked (consistency, dumps converted) and written out. */
function check(_revisions: Loaded[], args: { text: BodyText; validate?: 'create' | 'put' }) {
  const text = decoded(args.text);
  const body = args.validate === undefined ? (JSON.parse(text) as TopologyBodyDoc) : readBody<TopologyBodyDoc>(text, args.validate === 'create' ? TopologyBody : TopologyPutBody);
  const { spec, warnings } = checkTopologyBody(body);
  const documentJson: DocumentToStore = utf8Of(JSON.stringify(spec.form === 'cluster' ? spec.cluster : spec.fabric));
  return { name: body.name, description: body.description, form: spec.form, documentJson, summary: summarize(spec), warnings };
}

/** A body the main thread did not read (a LargeJson): scanned, parsed and validated here as the HTTP layer would have. */
function readBody<T>(text: string, schema: TSchema): T {
  const problem = jsonTextProblem(text);
  if (problem !== undefined) throw new Problem(400, 'invalid-request', problem.detail, { errors: [{ pointer: '', detail: `${problem.detail} (at ${problem.at})` }] });
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Problem(400, 'invalid-request', 'the request body is not valid JSON');
  }
  checkAsBody(schema, body, '', 'the request body');
  return body as T;
}

/** What `kubectl get … -o json` printed, as the cluster it describes, ready to store, and what the import saw. */
function importCluster(_revisions: Loaded[], args: { text: BodyText; validate: boolean; cni?: CniPlugin; mode?: CniMode; description?: string }) {
  const text = decoded(args.text);
  const body = args.validate ? readBody<KubernetesImportBodyDoc>(text, KubernetesImportBody) : (JSON.parse(text) as KubernetesImportBodyDoc);
  let imported;
  try {
    imported = importKubernetes(body, { plugin: args.cni, mode: args.mode, description: args.description });
  } catch (err) {
    if (err instanceof CniRequiredError) {
      throw new Problem(422, 'cni-required', err.message, { title: 'The CNI data path is needed', errors: err.errors, evidence: err.evidence });
    }
    throw err;
  }
  const { cni } = imported;
  const documentJson: DocumentToStore = utf8Of(JSON.stringify(imported.cluster));
  return {
    description: imported.description,
    documentJson,
    summary: summarize(imported.spec),
    counts: imported.counts,
    cni: {
      ...cni.cni,
      detectedFrom: cni.detectedFrom,
      ...(cni.modeDetectedFrom !== undefined ? { modeDetectedFrom: cni.modeDetectedFrom } : {}),
      evidence: cni.evidence,
      ...(cni.note !== undefined ? { note: cni.note } : {}),
    },
    warnings: imported.warnings,
  };
}

/**
 * A batch: its flows given, or its body (a large one, which the main thread did not read) read here. Such a body is
 * read on the newest revision: one that names another is answered with the revision it names, for the route to ask
 * again with it and `read` (the body was checked already: only parsed again). Without a revision (its topology was not
 * found), the body is only checked.
 */
function batch(
  [r]: Loaded[],
  args: { flows?: FlowRequest[]; bidirectional?: boolean; text?: BodyText; read?: boolean; options: Omit<BatchOptions, 'bidirectional'>; format: 'json' | 'text' },
): ((Encoded | Chunked) & { byDisposition: Record<string, number> }) | { names: { revision?: number } } {
  let { flows, bidirectional } = args;
  if (args.text !== undefined) {
    const text = decoded(args.text);
    const body = args.read ? (JSON.parse(text) as BatchBodyDoc) : readBody<BatchBodyDoc>(text, BatchBody);
    checkFlowCount(body.flows.length);
    if (r === undefined || (body.revision !== undefined && body.revision !== r.key.revision)) return { names: { revision: body.revision } };
    ({ flows, bidirectional } = body);
  }
  const topology = topologyOf(r!);
  const options = { ...args.options, bidirectional: bidirectional ?? false };
  if (args.format === 'text') {
    const answer = traceFlows(r!.compiled, topology, flows!, options);
    return { ...encoded('text/plain; charset=utf-8', renderBatchText(answer)), byDisposition: answer.count.byDisposition };
  }
  const { count, traces } = writeFlows(r!.compiled, topology, flows!, options);
  // As JSON.stringify writes the answer, its traces written out already.
  const head = `{"topology":${JSON.stringify(topology)},"count":${JSON.stringify(count)},"traces":[`;
  const body = traces.framed(head, ']}');
  return { contentType: 'application/json; charset=utf-8', body, bytes: Buffer.byteLength(head) + traces.bytes + 2, byDisposition: count.byDisposition };
}

const parsed = (document: StoredDocument): StoredDoc => ({ form: document.form, document: JSON.parse(document.documentJson) as unknown }) as StoredDoc;

function diff([a, b]: Loaded[], { protocol, port, ...filter }: PodFilter & { protocol?: Flow['protocol']; port?: number }): Encoded {
  const [sa, sb] = [parsed(a!.document!), parsed(b!.document!)];
  // From the documents, before anything is compiled: a diff too large is refused in the time it takes to read them.
  podsToCompare(sa, sb, filter);
  const answer = diffAnswer({
    topology: a!.key.name,
    before: { revision: a!.key.revision, stored: sa, compiled: a!.compiled },
    after: { revision: b!.key.revision, stored: sb, compiled: b!.compiled },
    filter,
    transport: transportOf(protocol, port, { parameter: 'port' }),
  });
  return encoded('application/json; charset=utf-8', JSON.stringify(answer));
}

/**
 * A what-if: flows through a topology given inline, or through a stored one changed by a merge patch and/or changes,
 * each as strictly checked as a topology sent whole.
 */
function whatIf(
  [stored]: Loaded[],
  args: { text: BodyText; validate: boolean; options: Omit<BatchOptions, 'bidirectional'> },
): (Encoded & { byDisposition: Record<string, number> }) | { needs: { name: string; revision?: number } } {
  let body: WhatIfBodyDoc;
  if (args.validate) {
    body = readBody<WhatIfBodyDoc>(decoded(args.text), WhatIfBody);
    checkWhatIf(body);
    if (body.base !== undefined && stored === undefined) return { needs: { name: body.base, revision: body.revision } };
  } else body = JSON.parse(decoded(args.text)) as WhatIfBodyDoc;
  let base = null;
  let spec;
  let before: StoredDoc | undefined;
  if (stored === undefined) spec = checkTopology(body.topology as Parameters<typeof checkTopology>[0]);
  else {
    const document = stored.document!;
    base = topologyOf(stored);
    // The base as stored, kept apart from the copy the patch changes.
    if (body.compare !== undefined) before = parsed(document);
    let doc: { cluster?: unknown; fabric?: unknown } = { [document.form]: JSON.parse(document.documentJson) };
    if (body.patch !== undefined) {
      doc = mergePatch(doc, body.patch) as typeof doc;
      checkAsBody(TopologyPutBody, doc, '/patch', 'the base topology after the patch');
    }
    // A patch may turn the base into any form of a topology body.
    spec = checkTopologyBody(doc as Parameters<typeof checkTopologyBody>[0]).spec;
    if (body.changes !== undefined) {
      const fabric = spec.form === 'fabric' ? spec.fabric : materialise(compileTopology(spec).fabric);
      spec = checkTopology({ fabric: applyChanges(fabric, body.changes as Change[], '/changes') });
    }
  }
  // A comparison too large is refused from the documents, before anything is compiled or traced, as GET …/diff refuses.
  const after = { form: spec.form, document: spec.form === 'cluster' ? spec.cluster : spec.fabric } as StoredDoc;
  if (body.compare !== undefined && before !== undefined) podsToCompare(before, after, body.compare);
  const options = { ...args.options, bidirectional: body.bidirectional ?? false };
  const compiled = compileTopology(spec);
  const { count, traces } = traceFlows(compiled, base ?? { name: 'what-if', revision: 0 }, body.flows ?? [], options);
  let diff;
  if (body.compare !== undefined && base !== null && before !== undefined) {
    const { protocol, port, ...filter } = body.compare;
    const { changes, reachability } = diffAnswer({
      topology: base.name,
      before: { revision: base.revision, stored: before, compiled: stored!.compiled },
      after: { revision: base.revision, stored: after, compiled },
      filter,
      transport: transportOf(protocol, port, { pointer: '/compare/port' }),
    });
    diff = { changes, reachability };
  }
  return { ...encoded('application/json; charset=utf-8', JSON.stringify({ base, count, traces, ...(diff !== undefined ? { diff } : {}) })), byDisposition: count.byDisposition };
}

/**
 * A flow's answer written out: JSON with as much detail as the request asks, or a format drawn from the full answer. The
 * main thread only writes the bytes: serialising a 3 KB answer there cost more than the rest of the request.
 */
function answer([r]: Loaded[], args: { flow: FlowRequest; options: AnswerOptions; format: Format; layout?: MarkdownLayout }): Encoded & { disposition: string } {
  if (args.format === 'json') {
    const { text, disposition } = answerFlowJson(r!.compiled, topologyOf(r!), args.flow, args.options);
    return { ...encoded(`${FORMATS.json}; charset=utf-8`, text), disposition };
  }
  const options = PRINTS_DECISIONS.has(args.format) ? { ...args.options, printed: true } : args.options;
  const built = answerFlow(r!.compiled, topologyOf(r!), args.flow, options);
  const { contentType, text } = writeAnswer(built, args.format, args.layout);
  return { ...encoded(contentType, text), disposition: built.disposition };
}

function matrix(
  [r]: Loaded[],
  args: { namespace?: string; node?: string; format: 'json' | 'svg' | 'rows' | 'csv'; maxBytes: number; protocol?: 'icmp' | 'tcp' | 'udp' | 'sctp'; port?: number; to?: 'pods' | 'services' },
): Encoded {
  const { format, maxBytes, protocol, port, to, ...filter } = args;
  if (to === 'services') return serviceMatrix(r!, filter, { ...(protocol !== undefined ? { protocol } : {}), ...(port !== undefined ? { port } : {}) }, format, maxBytes);
  const topology = topologyOf(r!);
  const pods = selectPods(r!.compiled, filter);
  checkMatrixPods(pods);
  if (format === 'rows' || format === 'csv') checkTableSize(pods, format, maxBytes);
  // The rows, the CSV and the SVG's cells name the policies that decided each pair; the letters and the SVG's overview
  // of blocks have no room for them.
  const decided = format !== 'json' && (format !== 'svg' || pods.length <= MAX_CELL_PODS);
  const answer = matrixAnswer(r!.compiled, topology, pods, transportOf(protocol, port, { parameter: 'port' }), { decided });
  if (format === 'json') return encoded('application/json; charset=utf-8', JSON.stringify(answer));
  if (format === 'rows') return encoded('application/json; charset=utf-8', matrixTable(answer, 'rows', maxBytes));
  // header=present tells a spreadsheet that the first line names the columns (RFC 4180).
  if (format === 'csv') return encoded('text/csv; charset=utf-8; header=present', matrixTable(answer, 'csv', maxBytes));
  const title = `${topology.name} revision ${topology.revision}: ${answer.counts.DELIVERED ?? 0} of ${answer.pairs} pod pairs delivered`;
  return encoded('image/svg+xml; charset=utf-8', matrixSvg({ ...answer, title, decidedBy: answer.policies }, `${answer.endpoints.length} pods`, SMALLER_MATRIX, maxBytes));
}

/** The pods × Services matrix in each format, refused as early as its size is known to pass the limits. */
function serviceMatrix(
  r: Loaded,
  filter: { namespace?: string; node?: string },
  ports: { protocol?: 'icmp' | 'tcp' | 'udp' | 'sctp'; port?: number },
  format: 'json' | 'svg' | 'rows' | 'csv',
  maxBytes: number,
): Encoded {
  const topology = topologyOf(r);
  const pods = selectPods(r.compiled, filter);
  const columns = serviceColumns(r.compiled, ports);
  checkServiceCells(pods, columns);
  if (format === 'rows' || format === 'csv') checkServiceTableSize(pods, columns, format, maxBytes);
  const decided = format !== 'json' && (format !== 'svg' || (pods.length <= MAX_CELL_PODS && columns.length <= MAX_CELL_PODS));
  const answer = serviceMatrixAnswer(r.compiled, topology, pods, columns, ports, { decided });
  if (format === 'json') {
    const { cells: _, ...letters } = answer;
    return encoded('application/json; charset=utf-8', JSON.stringify(letters));
  }
  if (format === 'rows') return encoded('application/json; charset=utf-8', serviceMatrixTable(answer, 'rows', maxBytes));
  if (format === 'csv') return encoded('text/csv; charset=utf-8; header=present', serviceMatrixTable(answer, 'csv', maxBytes));
  const title = `${topology.name} revision ${topology.revision}: ${answer.counts.DELIVERED ?? 0} of ${answer.pairs} pod × Service-port cells delivered`;
  // A column as the map labels it: the Service (namespace/name, grouped by namespace past MAX_CELL_PODS) and its port.
  const svgColumns = columns.map((c) => ({ name: `${c.name.slice(SERVICE_PREFIX.length)} ${c.portName ?? c.port}/${c.protocol}` }));
  const size = `${pods.length} pods × ${columns.length} Service ports`;
  return encoded('image/svg+xml; charset=utf-8', matrixSvg({ ...answer, title, columns: svgColumns, decidedBy: answer.cells }, size, SMALLER_SERVICE_MATRIX, maxBytes));
}

/**
 * The heat map, within `maxBytes`: a cell's title naming what decided it can cost a cell its run of equal neighbours, so
 * a map that passes the limit with them is drawn without them (its title says so), and one that passes it even so is
 * refused (422).
 */
function matrixSvg(view: MatrixView, size: string, smaller: string, maxBytes: number): string {
  const { decidedBy, ...plain } = view;
  if (decidedBy !== undefined) {
    const svg = renderHeatmap(view);
    if (Buffer.byteLength(svg) <= maxBytes) return svg;
  }
  const note = decidedBy === undefined ? '' : ' (what decided each cell, the policies or kube-proxy\'s verdict, left out of the cells: with it the map passes MAX_ANSWER_BYTES; ask for a namespace or node)';
  const svg = renderHeatmap({ ...plain, title: plain.title + note });
  const bytes = Buffer.byteLength(svg);
  if (bytes > maxBytes) {
    throw new Problem(422, 'answer-too-large', `the heat map of ${size} would be ${bytes} bytes, larger than the limit of ${maxBytes} bytes (MAX_ANSWER_BYTES); ${smaller}`);
  }
  return svg;
}

export const JOBS = {
  /** Compiles a revision just written, so that its first trace answers in milliseconds. */
  compile: ([r]: Loaded[]) => void r!.compiled,
  /** A revision as GET answers it: its metadata (`head`, an object's JSON) and the stored document spliced in unparsed. */
  document: ([r]: Loaded[], { head }: { head: string }) =>
    encoded('application/json; charset=utf-8', `${head.slice(0, -1)},${JSON.stringify(r!.document!.form)}:${r!.document!.documentJson}}`),
  check,
  import: importCluster,
  /** A flow's whole answer, as text, diagrams and chat draw it. */
  trace: ([r]: Loaded[], args: { flow: FlowRequest; paths?: number }) => answerFlow(r!.compiled, topologyOf(r!), args.flow, { paths: args.paths }),
  /** A flow's answer written out as the trace route sends it. */
  answer,
  batch,
  matrix,
  diff,
  whatIf,
} satisfies Record<string, (revisions: Loaded[], args: never) => unknown>;

export type JobKind = keyof typeof JOBS;
export type JobArgs<K extends JobKind> = Parameters<(typeof JOBS)[K]>[1];
export type JobResult<K extends JobKind> = ReturnType<(typeof JOBS)[K]>;
