// The heat map tells each cell's pair and outcome in words (a title a browser shows on hover, a screen reader reads)
// and, where cells are large enough, by letter: colour is never the only sign.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTopology } from '../../src/engine/topology.js';
import { checkTopology } from '../../src/topology/validate.js';
import { matrixAnswer, selectPods } from '../../src/answer/matrix.js';
import { MAX_CELL_PODS, renderHeatmap, type MatrixView } from '../../src/render/heatmap.js';
import { LEGEND } from '../../src/answer/legend.js';
import { generate } from '../kernel/generate.js';
import { parseXml } from '../helpers/xml.js';

test('every cell is covered by a titled run that names its pair and the outcome, and carries its letter', () => {
  // Seed 18: three nodes, node-0 with forwarding off: pairs delivered and pairs refused.
  const compiled = compileTopology(checkTopology({ fabric: generate(18).fabric }));
  const m = matrixAnswer(compiled, { name: 'no-forwarding', revision: 1 }, selectPods(compiled, {}));
  const svg = renderHeatmap({ ...m, title: 'no-forwarding' });
  const runs = [...svg.matchAll(/<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)" fill="[^"]+"><title>([^<]*)<\/title><\/rect>/g)].map((r) => ({
    x: Number(r[1]), y: Number(r[2]), w: Number(r[3]), h: Number(r[4]), title: r[5]!.replace(/&gt;/g, '>'),
  }));
  const n = m.endpoints.length;
  const cell = runs[0]!.h;
  const left = Math.min(...runs.map((r) => r.x));
  const top = Math.min(...runs.map((r) => r.y));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const x = left + j * cell + cell / 2;
      const y = top + i * cell + cell / 2;
      const run = runs.find((r) => r.x <= x && x < r.x + r.w && r.y <= y && y < r.y + r.h);
      assert.ok(run, `a rectangle covers ${i},${j}`);
      const outcome = i === j ? 'itself' : m.legend[m.rows[i]![j]!]!;
      assert.ok(run.title.startsWith(`${m.endpoints[i]!.name} → `), run.title);
      assert.ok(run.title.endsWith(`: ${outcome}`), `${run.title} should end with ${outcome}`);
      if (run.w === cell) assert.equal(run.title, `${m.endpoints[i]!.name} → ${m.endpoints[j]!.name}: ${outcome}`);
    }
  }
  const letters = [...svg.matchAll(/<text [^>]*aria-hidden="true">(\w)<\/text>/g)].map((l) => l[1]);
  assert.equal(letters.length, n * (n - 1), 'one letter per pair');
  assert.ok(letters.includes('F') && letters.includes('D'));
  parseXml(svg);
});

/** A matrix of `n` pods named by `name(k)` on `node(k)`, the outcome of each pair given by `letter(i, j)`. */
function synthetic(n: number, name: (k: number) => string, node: (k: number) => string, letter: (i: number, j: number) => string): MatrixView {
  const rows = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? '-' : letter(i, j))).join(''));
  const counts: Record<string, number> = {};
  for (const row of rows) for (const c of row) if (c !== '-') counts[LEGEND[c]!] = (counts[LEGEND[c]!] ?? 0) + 1;
  return { endpoints: Array.from({ length: n }, (_, k) => ({ name: name(k), node: node(k) })), legend: { ...LEGEND }, rows, counts, title: 'many' };
}

const blocks = (svg: string) =>
  [...svg.matchAll(/<g class="block"><title>([^<]*)<\/title>(.*?)<\/g>/gs)].map((b) => ({ title: b[1]!.replace(/&gt;/g, '>'), body: b[2]!, letters: /aria-hidden="true">(\w+)</.exec(b[2]!)?.[1] }));

test('past 400 pods the map is a block per pair of namespaces, counted by outcome, a mixed block hatched and lettered twice', () => {
  // 450 pods in nine namespaces; the even pods of ns-8 refuse every other namespace.
  const m = synthetic(450, (k) => `ns-${k % 9}/p-${k}`, (k) => (k < 225 ? 'node-a' : 'node-b'), (i, j) => (j % 9 === 8 && j % 2 === 0 && i % 9 !== 8 ? 'P' : 'D'));
  assert.ok(m.endpoints.length > MAX_CELL_PODS);
  const svg = renderHeatmap(m);
  parseXml(svg);
  const all = blocks(svg);
  assert.equal(all.length, 81);
  const mixed = all.find((b) => b.title.startsWith('ns-0 (50 pods) → ns-8 (50 pods)'))!;
  assert.equal(mixed.title, 'ns-0 (50 pods) → ns-8 (50 pods): 2500 pairs, 1250 DELIVERED, 1250 DENIED');
  assert.equal(mixed.letters, 'DP');
  assert.match(mixed.body, /fill="url\(#mixed\)"/);
  const whole = all.find((b) => b.title.startsWith('ns-8 (50 pods) → ns-8'))!;
  assert.equal(whole.title, 'ns-8 (50 pods) → ns-8 (50 pods): 2450 pairs, 2450 DELIVERED');
  assert.equal(whole.letters, 'D');
  assert.doesNotMatch(whole.body, /url\(#mixed\)/);
  assert.match(svg, /450 pods by namespace: a block per pair of groups/);
  assert.ok(svg.length < 100_000, `${svg.length} bytes`);
});

test('the overview groups by node when one namespace holds every pod, by runs of groups past 40, else in slices', () => {
  const d = () => 'D';
  let all = blocks(renderHeatmap(synthetic(500, (k) => `default/p-${k}`, (k) => `node-${k % 4}`, d)));
  assert.equal(all.length, 16);
  assert.equal(all[1]!.title, 'node-0 (125 pods) → node-1 (125 pods): 15625 pairs, 15625 DELIVERED');
  // 1,000 namespaces of one pod: 40 runs of 25 namespaces.
  all = blocks(renderHeatmap(synthetic(1000, (k) => `ns-${String(k).padStart(4, '0')}/p`, () => 'node-a', d)));
  assert.equal(all.length, 40 * 40);
  assert.match(all[0]!.title, /^ns-0000 … ns-0024 \(25 pods\) → ns-0000 … ns-0024 \(25 pods\): 600 pairs, 600 DELIVERED$/);
  // Nothing tells them apart: slices of 200 pods in the answer's order.
  all = blocks(renderHeatmap(synthetic(401, (k) => `p-${k}`, () => 'node-a', d)));
  assert.equal(all.length, 9);
  assert.match(all[8]!.title, /^p-400 … p-400 \(1 pod\) → p-400 … p-400 \(1 pod\): no pairs$/);
});

test('pods × Service ports past 400 pods: pod groups by Service-port groups, each block counting its cells', () => {
  // 450 pods in three namespaces, four Service ports in two namespaces; ns-2's pods are refused by db's port.
  const columns = ['web/front 80/TCP', 'web/front 443/TCP', 'data/db 5432/TCP', 'data/cache 6379/TCP'].map((name) => ({ name }));
  const names = Array.from({ length: 450 }, (_, k) => `ns-${k % 3}/p-${k}`);
  const rows = names.map((_, i) => columns.map((c) => (i % 3 === 2 && c.name.startsWith('data/db') ? 'J' : 'D')).join(''));
  const m: MatrixView = {
    endpoints: names.map((name) => ({ name, node: 'node-a' })),
    columns,
    legend: { ...LEGEND },
    rows,
    counts: { DELIVERED: 450 * 4 - 150, REJECTED: 150 },
    title: 'services',
  };
  const svg = renderHeatmap(m);
  parseXml(svg);
  const all = blocks(svg);
  assert.equal(all.length, 3 * 2, 'three pod namespaces by two Service namespaces');
  assert.equal(all.find((b) => b.title.startsWith('ns-2 '))!.title, 'ns-2 (150 pods) → data (2 Service ports): 300 pairs, 150 DELIVERED, 150 REJECTED');
  assert.equal(all.find((b) => b.title.startsWith('ns-0 ') && b.title.includes('→ web'))!.title, 'ns-0 (150 pods) → web (2 Service ports): 300 pairs, 300 DELIVERED');
  assert.match(svg, /450 pods by namespace \(rows\), 4 Service ports by namespace \(columns\)/);
});
