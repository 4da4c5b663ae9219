// Every body the service takes, mutated at random from valid documents: no input may get a 5xx, and every refusal is a
// problem document. FUZZ_INPUTS inputs per run (CI runs the suite on both backends: twice that in total); FUZZ_SEED
// repeats a run. Mutations replace values with hostile ones (numbers past int8 and 2^53, NUL, deep nesting, wrong types,
// huge strings, prototype keys), delete and add keys, empty and repeat arrays, and move values between places.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { openTestApp, seedTwoNodes, type TestApp } from '../helpers/app.js';
import { example } from '../helpers/examples.js';
import { narrow } from '../helpers/fabrics.js';
import { seeded, type Rng } from '../helpers/rng.js';

const INPUTS = Number(process.env.FUZZ_INPUTS ?? 50_000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const IN_FLIGHT = 4;

let t: TestApp;
before(async () => {
  t = await openTestApp({ revisionsKept: 3, work: { cacheMb: 4 } });
  await seedTwoNodes(t);
});
after(() => t.close());

// Raw JSON text for values JSON.stringify cannot write (integers past 2^53 keep their digits), spliced in by marker.
const RAW = ['9223372036854775808', '1e21', '-9223372036854775809', '1e400', '0.5', '-0', '4294967296', '65536', '256'];
const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const RAW_DEEP = [deep(64), deep(5000), '{"a":'.repeat(2000) + '1' + '}'.repeat(2000)];
const STRINGS = [
  '', 'x', '\u0000', 'a\u0000b', '\u202e', '\ud800', 'x'.repeat(100_000), '10.1.1.5/24', '10.1.1.0/24', '::', 'fe80::1/64',
  '::ffff:10.1.1.2', '0.0.0.0/0', 'default', '256.1.1.1', '10.1.1.1/33', '-1', 'NaN', 'pod-a1', 'default/pod-a1', 'node-a',
  'eth0', 'cbr0', '<!channel>', '../../etc/passwd', '__proto__', 'constructor', '%00', 'ä', '🙂',
];
const VALUES: unknown[] = [null, true, false, 0, -1, 1, 2 ** 31, 2 ** 53, Number.MAX_VALUE, 1.5, {}, [], [null], { __proto__: { x: 1 } }, { constructor: 1 }];

function hostile(r: Rng, raw: string[]): unknown {
  const roll = r.next();
  if (roll < 0.15) return marker(raw, r.pick(RAW));
  if (roll < 0.2) return marker(raw, r.pick(RAW_DEEP));
  if (roll < 0.6) return r.pick(STRINGS);
  return structuredClone(r.pick(VALUES));
}

function marker(raw: string[], text: string): string {
  raw.push(text);
  return `\u0001RAW${raw.length - 1}\u0001`;
}

/** Every place in a document: [parent, key] pairs. */
function places(doc: unknown): [Record<string, unknown> | unknown[], string | number][] {
  const out: [Record<string, unknown> | unknown[], string | number][] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach((x, i) => (out.push([v, i]), walk(x)));
    else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) out.push([v as Record<string, unknown>, k]), walk((v as Record<string, unknown>)[k]);
  };
  walk(doc);
  return out;
}

function mutate(r: Rng, original: unknown): string {
  const doc = structuredClone(original) as Record<string, unknown>;
  const raw: string[] = [];
  for (let n = 1 + r.int(0, 2); n > 0; n--) {
    const all = places(doc);
    if (all.length === 0) break;
    const [parent, key] = r.pick(all);
    const kind = r.int(0, 5);
    if (kind <= 1) (parent as Record<string, unknown>)[key] = hostile(r, raw);
    else if (kind === 2) {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
    } else if (kind === 3) {
      if (Array.isArray(parent)) parent.push(...Array.from({ length: 1 + r.int(0, 2) }, () => structuredClone(parent[key as number])));
      else parent[r.pick(['extra', 'nodes', 'cluster', 'fabric', 'flows', 'items', 'x-unknown'])] = hostile(r, raw);
    } else if (kind === 4) {
      const [other, otherKey] = r.pick(all);
      (parent as Record<string, unknown>)[key] = structuredClone((other as Record<string, unknown>)[otherKey]);
    } else if (Array.isArray((parent as Record<string, unknown>)[key])) (parent as Record<string, unknown[]>)[key] = [];
    else (parent as Record<string, unknown>)[key] = hostile(r, raw);
  }
  return JSON.stringify(doc).replace(/"\\u0001RAW(\d+)\\u0001"/g, (_, i: string) => raw[Number(i)]!);
}

const twoNodes = example('two-nodes') as Record<string, unknown>;
const flows = [{ from: 'pod-a1', to: 'pod-b1', protocol: 'tcp', dstPort: 443 }, { from: 'pod-a2', to: '10.1.2.99', family: 4, size: 1500, ttl: 3 }];
const targets: { name: string; method: 'POST' | 'PUT'; url: string; doc: unknown }[] = [
  { name: 'cluster', method: 'PUT', url: '/v1/topologies/fz-cluster', doc: { ...twoNodes, name: 'fz-cluster' } },
  { name: 'cluster (create)', method: 'POST', url: '/v1/topologies', doc: { ...twoNodes, name: 'fz-create' } },
  { name: 'fabric', method: 'PUT', url: '/v1/topologies/fz-fabric', doc: { name: 'fz-fabric', fabric: narrow } },
  { name: 'dumps', method: 'PUT', url: '/v1/topologies/fz-dumps', doc: { name: 'fz-dumps', ...JSON.parse(readFileSync(new URL('../fixtures/iproute/kitchen-sink.json', import.meta.url), 'utf8')) } },
  { name: 'kubectl List', method: 'PUT', url: '/v1/topologies/fz-kubectl/import/kubernetes?cni=flannel', doc: JSON.parse(readFileSync(new URL('../fixtures/kubernetes/flannel-host-gw.json', import.meta.url), 'utf8')) },
  { name: 'batch', method: 'POST', url: '/v1/topologies/two-nodes/traces', doc: { flows, bidirectional: true } },
  { name: 'what-if patch', method: 'POST', url: '/v1/traces', doc: { base: 'two-nodes', patch: { cluster: { nodes: twoNodes.cluster && (twoNodes.cluster as { nodes: unknown }).nodes } }, flows } },
  { name: 'what-if changes', method: 'POST', url: '/v1/traces', doc: { base: 'two-nodes', changes: [{ op: 'delete-route', netns: 'node-a', dst: '10.1.2.0/24' }, { op: 'link-down', netns: 'node-b', link: 'eth0' }, { op: 'add-route', netns: 'node-a', route: { dst: '10.9.0.0/16', gateway: '192.168.0.12' } }, { op: 'forwarding', netns: 'node-b', enabled: false }], flows } },
  { name: 'what-if inline', method: 'POST', url: '/v1/traces', doc: { topology: { fabric: narrow }, flows: [{ from: 'pod-a', to: 'pod-b' }] } },
];

test(`${INPUTS} mutated bodies over ${targets.length} endpoints: no 5xx, every refusal a problem document (FUZZ_SEED=${SEED})`, async () => {
  const r = seeded(SEED);
  const statuses = new Map<string, number>();
  // The first failures of each endpoint, all reported at the end: one run shows every kind of failure at once.
  const failures = new Map<string, string[]>();
  const send = async (i: number, target: (typeof targets)[number], payload: string) => {
    const res = await t.app.inject({ method: target.method, url: target.url, payload, headers: { 'content-type': 'application/json' } });
    const key = `${target.name} ${res.statusCode}`;
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
    if (res.statusCode >= 500 || (res.statusCode >= 400 && !/^application\/problem\+json/.test(String(res.headers['content-type'])))) {
      const seen = failures.get(target.name) ?? [];
      if (seen.length < 3) seen.push(`input ${i}: ${res.statusCode} ${res.body.slice(0, 200)}\n    body: ${payload.slice(0, 500)}`);
      failures.set(target.name, seen);
    }
  };
  // IN_FLIGHT requests at a time, as concurrent clients send them (the inputs are drawn in order, so a seed repeats the
  // run's inputs): the database, the workers and the main thread all busy at once, within the service's queue limits.
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < INPUTS; i++) {
    const target = targets[i % targets.length]!;
    const sent = send(i, target, mutate(r, target.doc)).finally(() => inFlight.delete(sent));
    inFlight.add(sent);
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const report = [...failures].map(([name, xs]) => `${name}:\n  ${xs.join('\n  ')}`).join('\n');
  assert.equal(failures.size, 0, `FUZZ_SEED=${SEED}\n${report}`);
  // The mutations must reach past the schema too: some of every target's inputs are accepted.
  for (const target of targets) {
    const accepted = [...statuses].filter(([k]) => k.startsWith(`${target.name} 2`)).reduce((n, [, c]) => n + c, 0);
    assert.ok(accepted > 0 || INPUTS < targets.length * 20, `no ${target.name} input was accepted: ${JSON.stringify([...statuses])}`);
  }
});
