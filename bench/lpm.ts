// Longest-prefix-match throughput: the compiled table (src/engine/lpm.ts) against the linear reference, on the same
// machine in one run. Run with `npx tsx bench/lpm.ts`; prints a table and writes bench/results/lpm.json.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Addr, type Family } from '../src/engine/addr.js';
import { Prefix } from '../src/engine/prefix.js';
import { Lpm, type LpmEntry } from '../src/engine/lpm.js';
import { LinearLpm } from '../src/engine/lpm-reference.js';
import { createRequire } from 'node:module';
import CIDRMatcher from 'cidr-matcher';

// The best LPM packages on npm we found, on the same tables and addresses (given as strings, their API's input):
// longest-prefix-match (a real LPM: hashmaps over a radix trie, returns the matched prefix's data) and cidr-matcher
// (fast, but membership only: it says whether some prefix contains the address, not which one).
const require = createRequire(import.meta.url);
const LongestPrefixMatch = require('longest-prefix-match') as new () => {
  addPrefix(prefix: string, data: unknown): void;
  getMatch(address: string): unknown[];
};
const PACKAGE_LOOKUPS = 1 << 14;

const FAST_LOOKUPS = 1 << 20;
const ROUNDS = 7;
const INSIDE = 0.7;

// mulberry32: a seeded generator, so every run benchmarks the same tables and addresses.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}
const rand = rng(20240611);
const u32 = () => Math.floor(rand() * 0x1_0000_0000);
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

interface Table {
  name: string;
  family: Family;
  entries: LpmEntry[];
  linearLookups: number;
}

/** Adds prefixes until `n` distinct ones exist; values are their position. */
class Builder {
  private readonly seen = new Set<string>();
  readonly entries: LpmEntry[] = [];
  add(p: Prefix): void {
    const k = p.toString();
    if (this.seen.has(k)) return;
    this.seen.add(k);
    this.entries.push({ prefix: p, value: this.entries.length });
  }
  get size(): number {
    return this.entries.length;
  }
}

const v4 = (a: number, bits: number) => Prefix.of(Addr.v4(a >>> 0), bits);
const ip4 = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

/** A node's view of a mid-size cluster: connected and default routes, Calico /26 blocks, pod /24s, some host routes. */
function table4k5(): Table {
  const b = new Builder();
  b.add(v4(0, 0));
  b.add(v4(ip4(10, 0, 0, 0), 8));
  b.add(v4(ip4(192, 168, 0, 0), 16));
  while (b.size < 3000) b.add(v4(ip4(10, 240 + int(0, 15), int(0, 255), int(0, 3) << 6), 26));
  while (b.size < 4500) b.add(v4(ip4(10, 1, int(0, 255), 0) + (int(0, 15) << 16), 24));
  while (b.size < 4900) b.add(v4(ip4(192, 168, int(0, 255), int(1, 254)), 32));
  while (b.size < 5000) b.add(v4(u32(), int(12, 30)));
  return { name: 'IPv4, 5,000 routes', family: 4, entries: b.entries, linearLookups: 20_000 };
}

/** The IPv6 counterpart: per-node pod /64s, pod /128s, a service /112, external /48s, ULA and default. */
function table6k5(): Table {
  const b = new Builder();
  const p6 = (w0: number, w1: number, w2: number, w3: number, bits: number) => Prefix.of(Addr.v6(w0, w1, w2, w3), bits);
  b.add(p6(0, 0, 0, 0, 0));
  b.add(p6(0xfd000000, 0, 0, 0, 8));
  b.add(p6(0xfd000010, 0x00960000, 0, 0, 112));
  while (b.size < 4000) b.add(p6(0xfd000010, 0x02440000 | int(0, 0xffff), 0, 0, 64));
  while (b.size < 4900) b.add(p6(0xfd000010, 0x02440000 | int(0, 3999), 0, int(1, 200), 128));
  while (b.size < 5000) b.add(p6(0x20010db8, (int(0, 0xffff) << 16) >>> 0, 0, 0, 48));
  return { name: 'IPv6, 5,000 routes', family: 6, entries: b.entries, linearLookups: 5_000 };
}

/**
 * Calico without aggregation, the worst case: every pod of a 5,000-node cluster as a /32 inside its node's /24, plus
 * the /24s and a default. Pods per node range over 1..110 and total `pods` (150,000 is the Kubernetes limit).
 */
function tablePods(pods: number): Table {
  const nodes = 5000;
  const perNode = new Array<number>(nodes).fill(Math.floor(pods / nodes));
  for (let i = 0; i < pods % nodes; i++) perNode[i]++;
  // Skew the counts by moving pods between random nodes, keeping the total.
  for (let k = 0; k < nodes * 20; k++) {
    const from = int(0, nodes - 1);
    const to = int(0, nodes - 1);
    if (perNode[from] > 1 && perNode[to] < 110) {
      perNode[from]--;
      perNode[to]++;
    }
  }
  const b = new Builder();
  b.add(v4(0, 0));
  for (let n = 0; n < nodes; n++) {
    const net = ip4(10, n >>> 8, n & 255, 0);
    b.add(v4(net, 24));
    for (let i = 0; i < perNode[n]; i++) b.add(v4(net + 2 + i, 32));
  }
  const name = `IPv4, ${b.size.toLocaleString('en-US')} routes (${pods.toLocaleString('en-US')} pod /32s)`;
  return { name, family: 4, entries: b.entries, linearLookups: 1_000 };
}

/** A pod's own table, scanned rather than compiled: its subnet, the gateway as a host route, a default. */
function tablePod(): Table {
  const b = new Builder();
  b.add(v4(ip4(10, 1, 1, 0), 24));
  b.add(v4(ip4(169, 254, 1, 1), 32));
  b.add(v4(0, 0));
  return { name: "IPv4, 3 routes (a pod's table)", family: 4, entries: b.entries, linearLookups: 1_000_000 };
}

/** Addresses as words (4 per address for IPv6): ~70% inside a routed prefix other than a default, the rest uniform. */
function addresses(t: Table, n: number): Uint32Array {
  const stride = t.family === 4 ? 1 : 4;
  const out = new Uint32Array(n * stride);
  const routed = t.entries.filter((e) => e.prefix.bits > 0).map((e) => e.prefix);
  for (let i = 0; i < n; i++) {
    let w = [u32(), u32(), u32(), u32()];
    if (rand() < INSIDE) {
      const p = routed[int(0, routed.length - 1)];
      const first = p.first();
      const last = p.last();
      // Random host bits: the bits where first and last differ.
      w = w.map((x, j) => (first.word(j) | (x & (first.word(j) ^ last.word(j)))) >>> 0);
    }
    for (let j = 0; j < stride; j++) out[i * stride + j] = w[j];
  }
  return out;
}

// Address arrays have a power-of-two length, so `i & mask` cycles through them.
// One measuring function per class and family keeps each call site monomorphic, as it would be in the tracer.
function fast4(l: Lpm, a: Uint32Array, n: number): number {
  let sum = 0;
  const mask = a.length - 1;
  for (let i = 0; i < n; i++) sum = (sum + l.lookup4(a[i & mask])) | 0;
  return sum;
}
function fast6(l: Lpm, a: Uint32Array, n: number): number {
  let sum = 0;
  const mask = (a.length >> 2) - 1;
  for (let i = 0; i < n; i++) {
    const k = (i & mask) << 2;
    sum = (sum + l.lookup6(a[k], a[k + 1], a[k + 2], a[k + 3])) | 0;
  }
  return sum;
}
function linear4(l: LinearLpm, a: Uint32Array, n: number): number {
  let sum = 0;
  const mask = a.length - 1;
  for (let i = 0; i < n; i++) sum = (sum + l.lookup4(a[i & mask])) | 0;
  return sum;
}
function linear6(l: LinearLpm, a: Uint32Array, n: number): number {
  let sum = 0;
  const mask = (a.length >> 2) - 1;
  for (let i = 0; i < n; i++) {
    const k = (i & mask) << 2;
    sum = (sum + l.lookup6(a[k], a[k + 1], a[k + 2], a[k + 3])) | 0;
  }
  return sum;
}

let checksum = 0;

/** Median lookups per second over `rounds` timed runs of n lookups, after one untimed warm-up run. */
function rate(run: (n: number) => number, n: number, rounds: number): number {
  checksum = (checksum + run(n)) | 0;
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    checksum = (checksum + run(n)) | 0;
    const ns = Number(process.hrtime.bigint() - t0);
    rates.push((n / ns) * 1e9);
  }
  rates.sort((x, y) => x - y);
  return rates[rates.length >> 1];
}

function timeMs<T>(f: () => T): [T, number] {
  const t0 = process.hrtime.bigint();
  const v = f();
  return [v, Number(process.hrtime.bigint() - t0) / 1e6];
}

interface PackageResult {
  name: string;
  buildMs: number;
  mlps: number;
  /** Share of the sampled addresses where its answer agrees with ours (the value for an LPM, containment for a matcher). */
  agrees: number;
  ratio: number;
}

function addressStrings(t: Table, a: Uint32Array, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push(t.family === 4 ? Addr.v4(a[i]).toString() : Addr.v6(a[4 * i], a[4 * i + 1], a[4 * i + 2], a[4 * i + 3]).toString());
  }
  return out;
}

function packages(t: Table, fast: Lpm, addrs: Uint32Array, fastRate: number): PackageResult[] {
  const strs = addressStrings(t, addrs, PACKAGE_LOOKUPS);
  const ours = strs.map((_, i) => (t.family === 4 ? fast.lookup4(addrs[i]) : fast.lookup6(addrs[4 * i], addrs[4 * i + 1], addrs[4 * i + 2], addrs[4 * i + 3])));
  const out: PackageResult[] = [];
  const mask = PACKAGE_LOOKUPS - 1;
  // Ours given the same strings (parsing included), for a like-for-like comparison of the whole call.
  const oursFromStrings = rate(
    (n) => {
      let sum = 0;
      for (let i = 0; i < n; i++) sum = (sum + fast.lookup(Addr.parse(strs[i & mask]))) | 0;
      return sum;
    },
    PACKAGE_LOOKUPS * 4,
    3,
  );
  out.push({ name: 'ours, from strings', buildMs: 0, mlps: oursFromStrings / 1e6, agrees: 1, ratio: fastRate / oursFromStrings });

  // longest-prefix-match takes only prefixes: an address is asked as a /32 (/128).
  const hosts = strs.map((a) => `${a}/${t.family === 4 ? 32 : 128}`);
  const [lpm, lpmBuild] = timeMs(() => {
    const l = new LongestPrefixMatch();
    for (const e of t.entries) l.addPrefix(e.prefix.toString(), e.value);
    return l;
  });
  let agree = 0;
  for (let i = 0; i < strs.length; i++) if ((lpm.getMatch(hosts[i])[0] ?? -1) === ours[i]) agree++;
  const lpmRate = rate(
    (n) => {
      let sum = 0;
      for (let i = 0; i < n; i++) sum = (sum + ((lpm.getMatch(hosts[i & mask])[0] as number | undefined) ?? -1)) | 0;
      return sum;
    },
    PACKAGE_LOOKUPS,
    3,
  );
  out.push({ name: 'longest-prefix-match', buildMs: Math.round(lpmBuild), mlps: lpmRate / 1e6, agrees: agree / strs.length, ratio: fastRate / lpmRate });

  const [matcher, matcherBuild] = timeMs(() => new CIDRMatcher(t.entries.map((e) => e.prefix.toString())));
  agree = 0;
  for (let i = 0; i < strs.length; i++) if (matcher.contains(strs[i]) === ours[i] >= 0) agree++;
  const matcherRate = rate(
    (n) => {
      let sum = 0;
      for (let i = 0; i < n; i++) sum = (sum + (matcher.contains(strs[i & mask]) ? 1 : 0)) | 0;
      return sum;
    },
    PACKAGE_LOOKUPS,
    3,
  );
  out.push({ name: 'cidr-matcher', buildMs: Math.round(matcherBuild), mlps: matcherRate / 1e6, agrees: agree / strs.length, ratio: fastRate / matcherRate });
  return out;
}

interface Result {
  packages: PackageResult[];
  /** Ours over the fastest package. */
  vsBestPackage: number;
  /** Ours from strings (parsing included) over the fastest package. */
  stringsVsBestPackage: number;
  table: string;
  routes: number;
  buildMs: number;
  bytes: number;
  fastMlps: number;
  linearMlps: number;
  ratio: number;
}

const results: Result[] = [];
for (const make of [table4k5, table6k5, () => tablePods(150_000), () => tablePods(550_000), tablePod]) {
  const t = make();
  const [fast, buildMs] = timeMs(() => new Lpm(t.family, t.entries));
  const linear = new LinearLpm(t.family, t.entries);
  const addrs = addresses(t, FAST_LOOKUPS);
  const fastRate =
    t.family === 4
      ? rate((n) => fast4(fast, addrs, n), FAST_LOOKUPS * 4, ROUNDS)
      : rate((n) => fast6(fast, addrs, n), FAST_LOOKUPS * 4, ROUNDS);
  const linearRate =
    t.family === 4
      ? rate((n) => linear4(linear, addrs, n), t.linearLookups, 3)
      : rate((n) => linear6(linear, addrs, n), t.linearLookups, 3);
  const pkgs = packages(t, fast, addrs, fastRate);
  results.push({
    packages: pkgs.map((p) => ({ ...p, mlps: Number(p.mlps.toPrecision(3)), agrees: Number(p.agrees.toFixed(4)), ratio: Math.round(p.ratio) })),
    vsBestPackage: Math.round(fastRate / (Math.max(...pkgs.slice(1).map((p) => p.mlps)) * 1e6)),
    stringsVsBestPackage: Number((pkgs[0]!.mlps / Math.max(...pkgs.slice(1).map((p) => p.mlps))).toFixed(1)),
    table: t.name,
    routes: fast.size,
    buildMs: Math.round(buildMs * 10) / 10,
    bytes: fast.byteLength,
    fastMlps: Number((fastRate / 1e6).toFixed(1)),
    linearMlps: Number((linearRate / 1e6).toPrecision(3)),
    ratio: Math.round(fastRate / linearRate),
  });
}

const rows = [
  ['table', 'build ms', 'memory', 'fast M/s', 'linear M/s', 'ratio'],
  ...results.map((r) => [
    r.table,
    r.buildMs.toFixed(1),
    r.bytes >= 1e5 ? `${(r.bytes / 1e6).toFixed(2)} MB` : `${r.bytes} B`,
    r.fastMlps.toFixed(1),
    r.linearMlps.toPrecision(3),
    `${r.ratio.toLocaleString('en-US')}x`,
  ]),
];
const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
for (const row of rows) {
  console.log(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
}
console.log('\nnpm packages on the same tables (addresses as strings; agreement with our answers in parentheses):');
for (const r of results) {
  const cells = r.packages.slice(1).map((p) => `${p.name} ${p.mlps.toPrecision(3)} M/s (${(p.agrees * 100).toFixed(1)}%, build ${p.buildMs} ms)`);
  console.log(
    `${r.table.padEnd(widths[0])}  ${cells.join(', ')}; ours ${r.vsBestPackage.toLocaleString('en-US')}x the best ` +
      `(from strings, parsing included: ${r.packages[0]!.mlps.toPrecision(3)} M/s, ${r.stringsVsBestPackage}x)`,
  );
}
const count = FAST_LOOKUPS.toLocaleString('en-US');
console.log(`(${count} addresses, ${INSIDE * 100}% inside routed prefixes; checksum ${checksum})`);

const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'lpm.json');
mkdirSync(dirname(out), { recursive: true });
const machine = { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length };
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), machine, results }, null, 2)}\n`);
console.log(`wrote ${out}`);
