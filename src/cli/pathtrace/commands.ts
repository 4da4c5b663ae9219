// The subcommands of `pathtrace`: each reads its arguments, asks the service (or kubectl, or ip) and prints for a person,
// or as the service answered with --format json. Each resolves with the process's exit code.
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Disposition } from '../../engine/trace/model.js';
import { LEGEND } from '../../answer/legend.js';
import { Client } from './client.js';
import { dumpNode, type Exec } from './dump.js';
import { CommandError, UsageError } from './errors.js';
import { kubectlList } from './kubectl.js';
import { dispositionColour, megabytes, progressOn, styleFor, type Style } from './terminal.js';

/** Exit codes of `pathtrace trace` by disposition; 0 for a packet that arrives or leaves the network as it should. */
export const TRACE_EXIT_CODES: Readonly<Record<Disposition, number>> = {
  DELIVERED: 0,
  EXITS_NETWORK: 0,
  NO_ROUTE: 10,
  BLACKHOLED: 11,
  UNREACHABLE: 12,
  NEIGHBOR_UNREACHABLE: 13,
  LINK_DOWN: 14,
  FORWARDING_DISABLED: 15,
  LOOP: 16,
  TTL_EXCEEDED: 17,
  REJECTED: 18,
  DENIED: 19,
};
/** A disposition this CLI does not know yet (a newer service): still a drop for a script. */
export const EXIT_UNKNOWN_DISPOSITION = 9;
/** The service answered with an error (its problem document is printed). */
export const EXIT_API_ERROR = 1;
/** The command line is wrong. */
export const EXIT_USAGE = 2;
/** The service could not be reached, or kubectl / ip failed. */
export const EXIT_UNAVAILABLE = 3;


export interface Context {
  /** How the user calls us: "pathtrace", or "kubectl pathtrace" as a kubectl plugin. */
  program: string;
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

const COMMON = {
  url: { type: 'string' },
  token: { type: 'string' },
  topology: { type: 'string', short: 't' },
} as const satisfies ParseArgsConfig['options'];

function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    // parseArgs says what is wrong in a sentence ("Unknown option '--colour'"); anything else is ours.
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError((err as Error).message);
    throw err;
  }
}

type Common = { url?: string; token?: string; topology?: string };

function client(ctx: Context, values: Common): Client {
  const url = values.url ?? ctx.env.PATHTRACE_URL ?? 'http://127.0.0.1:8080';
  // "localhost:8080", as curl takes it.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`;
  if (!URL.canParse(withScheme)) throw new UsageError(`${url} is not a URL (--url, PATHTRACE_URL)`);
  return new Client(withScheme, values.token ?? ctx.env.PATHTRACE_TOKEN);
}

function topologyOf(ctx: Context, values: Common): string {
  const name = values.topology ?? ctx.env.PATHTRACE_TOPOLOGY;
  if (!name) throw new UsageError('which topology? give --topology NAME (or set PATHTRACE_TOPOLOGY)');
  return name;
}

const topologyPath = (name: string) => `/topologies/${encodeURIComponent(name)}`;

function integer(value: string | undefined, what: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${what} must be an integer from ${min} to ${max}, not ${value}`);
  return n;
}

function oneOf<T extends string>(value: string | undefined, what: string, allowed: readonly T[]): T | undefined {
  if (value === undefined || (allowed as readonly string[]).includes(value)) return value as T | undefined;
  throw new UsageError(`${what} must be ${allowed.join(', ')}; not ${value}`);
}

const exitCodeOf = (disposition: string) => TRACE_EXIT_CODES[disposition as Disposition] ?? EXIT_UNKNOWN_DISPOSITION;

// --- trace ----------------------------------------------------------------------------------------------------------

export async function trace(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    port: { type: 'string', short: 'p' },
    protocol: { type: 'string' },
    family: { type: 'string' },
    revision: { type: 'string' },
    format: { type: 'string' },
  });
  if (positionals.length !== 2) throw new UsageError(`trace takes a source and a destination; got ${positionals.length} argument(s)`);
  const [from, to] = positionals as [string, string];
  const port = integer(values.port, '--port', 1, 65535);
  const family = integer(values.family, '--family', 4, 6);
  if (family === 5) throw new UsageError('--family must be 4 or 6');
  // A port means a transport protocol: the service refuses a port with ICMP, so TCP is what a port alone asks for.
  const protocol = oneOf(values.protocol, '--protocol', ['icmp', 'tcp', 'udp']) ?? (port !== undefined ? 'tcp' : undefined);
  const format = oneOf(values.format, '--format', ['text', 'json']) ?? 'text';
  const query = { from, to, port, protocol, family, revision: integer(values.revision, '--revision', 1, 2 ** 31 - 1), format };
  const answer = await client(ctx, values).send('GET', `${topologyPath(topologyOf(ctx, values))}/trace`, { query });
  if (format === 'json') {
    ctx.stdout.write(answer.body.endsWith('\n') ? answer.body : `${answer.body}\n`);
    return exitCodeOf((JSON.parse(answer.body) as { disposition: string }).disposition);
  }
  // The text answer starts with the disposition ("NO_ROUTE at node-a: …", "DELIVERED: …").
  const disposition = /^[A-Z_]+/.exec(answer.body)?.[0] ?? '';
  const style = styleFor(ctx.stdout, ctx.env);
  const [summary, ...rest] = answer.body.replace(/\n$/, '').split('\n');
  const out = [
    style('bold', style(dispositionColour(disposition), disposition)) + summary!.slice(disposition.length),
    ...rest.map((line) => line.replace('✗ ', style('red', '✗ ')).replace('✓ ', style('green', '✓ '))),
  ];
  ctx.stdout.write(`${out.join('\n')}\n`);
  return exitCodeOf(disposition);
}

// --- matrix ---------------------------------------------------------------------------------------------------------

/** The matrix as the service writes it with format=json (openapi.yaml's ReachabilityAnswer): a string of letters per pod. */
interface MatrixLetters {
  topology: { name: string; revision: number };
  endpoints: { name: string; node: string | null; address: string }[];
  /** With to=services, the columns: one per Service port. */
  services?: { name: string; port: number; portName?: string; protocol: string; address: string }[];
  legend: Record<string, string>;
  rows: string[];
  pairs: number;
}

/** Column numbers written downwards, one line per digit, so that a column of hundreds of pods stays one letter wide. */
function columnHeads(n: number, indent: number): string[] {
  const digits = String(n).length;
  return Array.from({ length: digits }, (_, d) => {
    const place = 10 ** (digits - 1 - d);
    const line = Array.from({ length: n }, (_, i) => (i + 1 >= place ? String(Math.floor((i + 1) / place) % 10) : ' ')).join('');
    return ' '.repeat(indent) + line;
  });
}

const LETTER_OF = new Map(Object.entries(LEGEND).map(([letter, d]) => [d as string, letter]));
/** The cell of a disposition this CLI has no letter for (a newer service): still told apart from every known one. */
const UNKNOWN_LETTER = '*';

/**
 * The matrix drawn from the service's letters (one byte a pair, so that thousands of pods fit in one answer): a letter
 * per cell, the pods named at the right, a legend naming every letter used and the counts. Each letter is read through
 * the answer's own legend, so a service that abbreviates differently is still drawn right.
 */
export function renderMatrix(m: MatrixLetters, style: Style): string {
  const pods = m.endpoints;
  const n = pods.length;
  const services = m.services;
  // Pod to pod, or pods by Service ports (one column per port).
  const columns = services?.length ?? n;
  const where = `${m.topology.name}, revision ${m.topology.revision}`;
  if (services === undefined && n < 2) return `${where}: fewer than two pods, no pairs\n`;
  if (services !== undefined && (n === 0 || columns === 0)) return `${where}: ${n} pods, ${columns} Service ports, nothing to trace\n`;
  // The service's letter -> this CLI's (its colours); the counts are by disposition.
  const mine = new Map<string, string>([['-', '-'], ['?', '?']]);
  for (const [letter, d] of Object.entries(m.legend)) mine.set(letter, LETTER_OF.get(d) ?? UNKNOWN_LETTER);
  const counts = new Map<string, number>();
  let unknown = false;
  let noFamily = false;
  const colour = (letter: string) => {
    const d = LEGEND[letter];
    return d === undefined ? style('dim', letter) : style(dispositionColour(d), letter);
  };
  const width = String(n).length;
  const head = services === undefined ? `${n} pods, ${m.pairs} pairs` : `${n} pods × ${columns} Service ports, ${m.pairs} pairs`;
  const lines = [`${where}: ${head}`, ...columnHeads(columns, width + 2)];
  for (let i = 0; i < n; i++) {
    const row = m.rows[i] ?? '';
    let cells = '';
    for (let j = 0; j < columns; j++) {
      const theirs = row[j] ?? '?';
      const letter = mine.get(theirs) ?? UNKNOWN_LETTER;
      if (letter === UNKNOWN_LETTER) unknown = true;
      else if (letter === '?') noFamily = true;
      const d = m.legend[theirs];
      if (d !== undefined) counts.set(d, (counts.get(d) ?? 0) + 1);
      cells += colour(letter);
    }
    const p = pods[i]!;
    lines.push(`${String(i + 1).padStart(width)}  ${cells}  ${p.name} (${p.address}${p.node ? ` on ${p.node}` : ''})`);
  }
  if (services !== undefined) {
    // The columns, numbered as above: what `trace FROM svc/NS/NAME --port PORT` asks.
    const cw = String(columns).length;
    lines.push('columns:');
    services.forEach((c, j) => lines.push(`${String(j + 1).padStart(cw + 2)}  ${c.name} port ${c.port}${c.portName ? ` (${c.portName})` : ''}/${c.protocol} at ${c.address}`));
  }
  const legend = Object.entries(LEGEND)
    .filter(([, d]) => counts.has(d))
    .map(([letter, d]) => `${colour(letter)} ${d}`);
  if (services === undefined) legend.push(`${style('dim', '-')} itself`);
  if (unknown) legend.push(`${style('dim', UNKNOWN_LETTER)} a disposition this version does not know (see --format json)`);
  if (noFamily) legend.push(`${style('dim', '?')} no common address family`);
  lines.push(`legend: ${legend.join(', ')}`);
  if (counts.size > 0) lines.push(`counts: ${[...counts].map(([d, c]) => `${d} ${c}`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

export async function matrix(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    namespace: { type: 'string', short: 'n' },
    node: { type: 'string' },
    revision: { type: 'string' },
    protocol: { type: 'string' },
    port: { type: 'string', short: 'p' },
    format: { type: 'string' },
    services: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError(`matrix takes no arguments; got ${positionals.join(' ')}`);
  const format = oneOf(values.format, '--format', ['text', 'json', 'csv', 'svg']) ?? 'text';
  const port = integer(values.port, '--port', 1, 65535);
  const revision = integer(values.revision, '--revision', 1, 2 ** 31 - 1);
  const query = {
    namespace: values.namespace,
    node: values.node,
    revision,
    // As for trace: a port alone asks for TCP.
    protocol: oneOf(values.protocol, '--protocol', ['icmp', 'tcp', 'udp', 'sctp']) ?? (port !== undefined ? 'tcp' : undefined),
    port,
    to: values.services ? 'services' : undefined,
    // A script gets one object per pair (or CSV): it reads the outcome of a pair by name, not by a letter in a string.
    // The text is drawn from the letters, which stay within the service's answer limit for thousands of pods.
    format: format === 'json' ? 'rows' : format === 'text' ? 'json' : format,
  };
  const answer = await client(ctx, values).send('GET', `${topologyPath(topologyOf(ctx, values))}/reachability`, {
    query,
    accept: format === 'csv' ? 'text/csv' : format === 'svg' ? 'image/svg+xml' : 'application/json',
  });
  const body = answer.body.endsWith('\n') ? answer.body : `${answer.body}\n`;
  ctx.stdout.write(format === 'text' ? renderMatrix(JSON.parse(answer.body) as MatrixLetters, styleFor(ctx.stdout, ctx.env)) : body);
  return 0;
}

// --- diff -----------------------------------------------------------------------------------------------------------

interface Diff {
  topology: string;
  from: number;
  to: number;
  changes: {
    nodes: Names;
    pods: Names;
    netns: Names;
    links: { netns: string; link: string; change: string }[];
    routes: { netns: string; added: string[]; removed: string[] }[];
    routesOmitted?: number;
  };
  reachability: { pods: number; changedCount: number; changed: { from: string; to: string; before: string; after: string }[] };
}
interface Names {
  added: string[];
  removed: string[];
  changed: string[];
}

function renderDiff(d: Diff, style: Style): string {
  const lines = [`${d.topology}: revision ${d.from} → ${d.to}`];
  const names = (what: string, n: Names) => {
    const parts = [...n.added.map((x) => style('green', `+${x}`)), ...n.removed.map((x) => style('red', `-${x}`)), ...n.changed.map((x) => style('yellow', `~${x}`))];
    if (parts.length > 0) lines.push(`${what}: ${parts.join(' ')}`);
  };
  names('nodes', d.changes.nodes);
  names('pods', d.changes.pods);
  names('netns', d.changes.netns);
  for (const l of d.changes.links) lines.push(`link ${l.netns} ${l.link}: ${l.change}`);
  for (const r of d.changes.routes) {
    lines.push(`routes of ${r.netns}:`);
    for (const route of r.added) lines.push(style('green', `  + ${route}`));
    for (const route of r.removed) lines.push(style('red', `  - ${route}`));
  }
  if (d.changes.routesOmitted) lines.push(`(the route changes of ${d.changes.routesOmitted} more netns are not listed)`);
  if (lines.length === 1) lines.push('no change to nodes, pods, netns, links or routes');
  const r = d.reachability;
  lines.push(`reachability: ${r.changedCount} of the pairs of ${r.pods} pods changed outcome`);
  for (const c of r.changed) {
    lines.push(`  ${c.from} → ${c.to}: ${style(dispositionColour(c.before), c.before)} → ${style(dispositionColour(c.after), c.after)}`);
  }
  if (r.changed.length < r.changedCount) lines.push(`  (${r.changedCount - r.changed.length} more)`);
  return `${lines.join('\n')}\n`;
}

export async function diff(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { namespace: { type: 'string', short: 'n' }, node: { type: 'string' }, format: { type: 'string' } });
  if (positionals.length > 2) throw new UsageError(`diff takes at most two revisions; got ${positionals.length} arguments`);
  const [from, to] = positionals.map((p, i) => integer(p, i === 0 ? 'the first revision' : 'the second revision', 1, 2 ** 31 - 1));
  const format = oneOf(values.format, '--format', ['text', 'json']) ?? 'text';
  const query = { from: to === undefined ? undefined : from, to: to ?? from, namespace: values.namespace, node: values.node };
  const answer = await client(ctx, values).send('GET', `${topologyPath(topologyOf(ctx, values))}/diff`, { query });
  ctx.stdout.write(format === 'json' ? answer.body : renderDiff(JSON.parse(answer.body) as Diff, styleFor(ctx.stdout, ctx.env)));
  return 0;
}

// --- import ---------------------------------------------------------------------------------------------------------

/** Runs a command and resolves with its stdout; a failure (not found, non-zero exit) is a CommandError with its stderr. */
export const run: Exec = (argv) =>
  new Promise((resolve, reject) => {
    // A cluster's objects can be hundreds of MB: no buffer limit.
    execFile(argv[0]!, argv.slice(1), { maxBuffer: Infinity, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err === null) return resolve(stdout);
      const code = (err as NodeJS.ErrnoException).code;
      const said = stderr.trim() || err.message;
      reject(new CommandError(code === 'ENOENT' ? `${argv[0]} is not on PATH` : `${argv.join(' ')} failed: ${said}`));
    });
  });

interface Imported {
  name: string;
  revision: number;
  counts?: { nodes: number; pods: number; skipped: Record<string, number>; skippedNodes: Record<string, number> };
  cni?: { plugin: string; detectedFrom: string } & Record<string, unknown>;
  summary?: { netns?: number };
  warnings: { code: string; count: number; detail: string }[];
}

function renderImported(a: Imported, style: Style): string {
  const lines = [`${style('green', '✓')} ${a.name} revision ${a.revision}`];
  if (a.counts) {
    const skipped = Object.entries({ ...a.counts.skipped, ...a.counts.skippedNodes }).filter(([, n]) => n > 0);
    lines.push(`  ${a.counts.nodes} nodes, ${a.counts.pods} pods${skipped.length ? `; left out: ${skipped.map(([why, n]) => `${why} ${n}`).join(', ')}` : ''}`);
  }
  if (a.cni) {
    // Each plugin names its mode its own way, as the cluster document's cni does.
    const mode = ['routes', 'backend', 'mode', 'routing', 'tunnel'].map((k) => a.cni![k]).filter((v) => typeof v === 'string');
    lines.push(`  data path: ${[a.cni.plugin, ...mode].join(' ')} (${a.cni.detectedFrom})`);
  }
  for (const w of a.warnings) lines.push(`  ${style('yellow', 'warning')} ${w.code} (${w.count}): ${w.detail}`);
  return `${lines.join('\n')}\n`;
}

export async function importCommand(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    kubectl: { type: 'boolean' },
    context: { type: 'string' },
    kubeconfig: { type: 'string' },
    dumps: { type: 'boolean' },
    cni: { type: 'string' },
    mode: { type: 'string' },
    description: { type: 'string' },
    format: { type: 'string' },
  });
  const name = topologyOf(ctx, values);
  const format = oneOf(values.format, '--format', ['text', 'json']) ?? 'text';
  const progress = progressOn(ctx.stderr);
  try {
    let body: Buffer;
    let path: string;
    let query: Record<string, string | undefined> = {};
    if (values.dumps) {
      // The lines `pathtrace dump` wrote on each node, from files or stdin, as one dumps document.
      if (values.kubectl || values.context || values.cni || values.mode) throw new UsageError('--dumps takes files of pathtrace dump, not --kubectl, --context, --cni or --mode');
      progress.step('reading the dumps');
      const files = positionals.length === 0 ? ['-'] : positionals;
      const texts = await Promise.all(files.map((f) => (f === '-' ? readStdin() : readFile(f, 'utf8'))));
      const netns = texts.flatMap((t, i) => t.split('\n').flatMap((line, n) => (line.trim() === '' ? [] : [jsonLine(line, files[i]!, n + 1)])));
      body = Buffer.from(JSON.stringify({ ...(values.description ? { description: values.description } : {}), dumps: { netns } }));
      path = topologyPath(name);
    } else {
      if (Boolean(values.kubectl) === positionals.length > 0) throw new UsageError('import takes --kubectl, or a file (- for stdin) of kubectl get nodes,pods -A -o json');
      if (!values.kubectl && (values.context || values.kubeconfig)) throw new UsageError('--context and --kubeconfig go with --kubectl');
      let text: string;
      if (values.kubectl) {
        const prefix = ['kubectl', ...(values.kubeconfig ? ['--kubeconfig', values.kubeconfig] : []), ...(values.context ? ['--context', values.context] : [])];
        text = await kubectlList(run, prefix, progress);
      } else {
        text = positionals[0] === '-' ? await readStdin() : await readFile(positionals[0]!, 'utf8');
      }
      body = Buffer.from(text);
      path = `${topologyPath(name)}/import/kubernetes`;
      query = { cni: values.cni, mode: values.mode, description: values.description };
    }
    const total = megabytes(body.length);
    const answer = await client(ctx, values).send('PUT', path, {
      query,
      body,
      onUpload: (sent, all) => progress.step(sent < all ? `uploading ${megabytes(sent)} of ${total}` : `importing ${total} (the service is reading it)`),
    });
    progress.done();
    ctx.stdout.write(format === 'json' ? answer.body : renderImported(JSON.parse(answer.body) as Imported, styleFor(ctx.stdout, ctx.env)));
    return 0;
  } finally {
    progress.done();
  }
}

function jsonLine(line: string, file: string, n: number): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new UsageError(`line ${n} of ${file === '-' ? 'stdin' : file} is not JSON: give the files pathtrace dump wrote`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

// --- dump -----------------------------------------------------------------------------------------------------------

export async function dump(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { name: { type: 'string' }, output: { type: 'string', short: 'o' } });
  if (positionals.length > 0) throw new UsageError(`dump takes no arguments; got ${positionals.join(' ')}`);
  const node = values.name ?? hostname();
  const progress = progressOn(ctx.stderr);
  try {
    const docs = await dumpNode(run, node, (ns) => progress.step(`dumping ${ns}`));
    progress.done();
    const text = docs.map((d) => JSON.stringify(d)).join('\n') + '\n';
    if (values.output === undefined || values.output === '-') {
      ctx.stdout.write(text);
    } else {
      await new Promise<void>((resolve, reject) => createWriteStream(values.output!).on('error', reject).end(text, resolve));
      ctx.stderr.write(`${docs.length} namespaces of ${node} written to ${values.output}\n`);
    }
    return 0;
  } finally {
    progress.done();
  }
}
