// The heat map tells each cell's pair and outcome in words (a title a browser shows on hover, a screen reader reads)
// and, where cells are large enough, by letter: colour is never the only sign.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTopology } from '../../src/engine/topology.js';
import { checkTopology } from '../../src/topology/validate.js';
import { matrixAnswer, selectPods } from '../../src/answer/matrix.js';
import { renderHeatmap } from '../../src/render/heatmap.js';
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
