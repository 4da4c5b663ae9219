// The SVG is looked at the way a person would: Chromium renders it, and the screenshot is checked for what a glance
// must show — the outcome's colour at the end, a red drop box where the packet died, and no blank or error page.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { TraceAnswer } from '../../src/answer/schema.js';
import { renderSvg } from '../../src/render/svg.js';
import { tracedAnswers } from '../helpers/traced.js';
import { example } from '../helpers/examples.js';
import { launch, noBrowser } from '../helpers/browser.js';
import { compileTopology } from '../../src/engine/topology.js';
import { checkTopology } from '../../src/topology/validate.js';
import { answerFlow } from '../../src/answer/flow.js';

const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

let delivered: TraceAnswer;
let dropped: TraceAnswer;
before(async () => {
  [delivered, dropped] = await tracedAnswers(['from=pod-a1&to=pod-b1', 'from=pod-a1&to=10.1.2.99']);
});

function screenshot(svg: string): PNG {
  const dir = mkdtempSync(join(tmpdir(), 'pathtrace-svg-'));
  const width = Number(/width="(\d+)"/.exec(svg)![1]);
  const height = Number(/height="(\d+)"/.exec(svg)![1]);
  writeFileSync(join(dir, 'trace.svg'), svg);
  execFileSync(chromium!, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${join(dir, 'profile')}`, '--hide-scrollbars',
    `--window-size=${width},${height}`, `--screenshot=${join(dir, 'trace.png')}`, `file://${join(dir, 'trace.svg')}`,
  ], { stdio: 'ignore', timeout: 60_000 });
  return PNG.sync.read(readFileSync(join(dir, 'trace.png')));
}

/** Share of pixels in a region close to a colour. */
function share(png: PNG, colour: [number, number, number], region = { x: 0, y: 0, w: png.width, h: png.height }): number {
  let hits = 0;
  for (let y = region.y; y < region.y + region.h; y++) {
    for (let x = region.x; x < region.x + region.w; x++) {
      const i = (png.width * y + x) * 4;
      const d = Math.abs(png.data[i]! - colour[0]) + Math.abs(png.data[i + 1]! - colour[1]) + Math.abs(png.data[i + 2]! - colour[2]);
      if (d < 60) hits++;
    }
  }
  return hits / (region.w * region.h);
}

const RED: [number, number, number] = [0xc6, 0x28, 0x28];
const GREEN: [number, number, number] = [0x2e, 0x7d, 0x32];
const DROP_FILL: [number, number, number] = [0xfd, 0xe0, 0xdc];

test('the SVG is well-formed and self-contained', () => {
  const svg = renderSvg(dropped);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.doesNotMatch(svg, /<script|href="http|@import|<image/);
  assert.equal((svg.match(/<text/g) ?? []).length, (svg.match(/<\/text>/g) ?? []).length);
  for (const hop of dropped.hops) assert.ok(svg.includes(`>${hop.netns}<`), `a box for ${hop.netns}`);
  // A hop's title (the tooltip) has a line per step, broken by a real line break, not the text "\u000a".
  const title = /<g class="hop" data-hop="1"><title>([^<]*)<\/title>/.exec(svg)![1]!;
  assert.doesNotMatch(title, /\\u000a/);
  assert.equal(title.split('&#10;').length, dropped.hops[1]!.steps.length);
});

test('rendered in Chromium: a dropped trace shows a red outcome and the red drop box; a delivered one is green', { skip: !chromium && 'Chromium is not installed (apt-get install chromium)' }, () => {
  const drop = screenshot(renderSvg(dropped));
  assert.ok(share(drop, [255, 255, 255]) < 0.97, 'not a blank page');
  assert.ok(share(drop, RED) > 0.002, 'red marks the failure');
  assert.ok(share(drop, GREEN) < 0.0005, 'no green on a failure');
  // The third box (node-b, where the packet died) is filled with the drop colour; the first box is not.
  const boxY = 90;
  const third = { x: 24 + 12 + 2 * 304 + 20, y: boxY, w: 150, h: 20 };
  const first = { x: 24 + 12 + 20, y: boxY, w: 150, h: 20 };
  assert.ok(share(drop, DROP_FILL, third) > 0.5, 'the drop box is filled');
  assert.ok(share(drop, DROP_FILL, first) < 0.05, 'a hop that forwarded is not');

  const ok = screenshot(renderSvg(delivered));
  assert.ok(share(ok, GREEN) > 0.002, 'green marks delivery');
  assert.ok(share(ok, RED) < 0.0005, 'no red on a delivery');
});

interface Extent { left: number; right: number; top: number; bottom: number; text: string }
interface Measured { width: number; texts: Extent[]; hops: Extent[]; labels: Extent[] }
const MEASURE = `(() => {
  const svg = document.querySelector('svg');
  const box = (e) => {
    const b = e.getBBox();
    return { left: b.x, right: b.x + b.width, top: b.y, bottom: b.y + b.height, text: e.textContent };
  };
  return {
    width: svg.width.baseVal.value,
    texts: [...svg.querySelectorAll('text')].map(box),
    hops: [...svg.querySelectorAll('g.hop > rect')].map(box),
    labels: [...svg.querySelectorAll('g.tunnel > text, line + text')].map(box),
  };
})()`;

test('in Chromium, nothing is cut at the right edge and labels between boxes keep clear of them', { skip: noBrowser }, async () => {
  const calico = example('calico-vxlan-two-nodes');
  const tunnelled = answerFlow(compileTopology(checkTopology({ cluster: calico.cluster })), { name: calico.name, revision: 1 }, { from: 'pod-a1', to: 'pod-b1' });
  // Long names and a summary with a word longer than a line: the layout must wrap or cut them, never overflow.
  const long = structuredClone(dropped);
  long.hops.forEach((hop, i) => (hop.netns = `${'very-long-namespace-name-'.repeat(3)}${i}`));
  long.summary = `${long.summary} ${'x'.repeat(300)} ${'W'.repeat(80)}`;
  long.hops[2]!.steps.at(-1)!.explanation += ` ${'M'.repeat(200)}`;
  const browser = await launch();
  try {
    const page = await browser.newPage();
    for (const answer of [dropped, delivered, tunnelled, long]) {
      await page.setContent(renderSvg(answer));
      // Source text, not a function: tsx would wrap a function's inner arrows in a helper the page does not have.
      const found = (await page.evaluate(MEASURE)) as Measured;
      for (const t of found.texts) assert.ok(t.right <= found.width - 4, `"${t.text}" ends at ${t.right}, the diagram at ${found.width}`);
      for (const l of found.labels) {
        for (const h of found.hops) {
          const apart = l.right + 4 <= h.left || l.left >= h.right + 4 || l.bottom <= h.top || l.top >= h.bottom;
          assert.ok(apart, `the label "${l.text}" (${l.left}–${l.right}) touches a box (${h.left}–${h.right})`);
        }
      }
      if (answer === tunnelled) assert.ok(found.labels.some((l) => l.text === 'vxlan.calico'), 'the tunnel is labelled');
    }
  } finally {
    await browser.close();
  }
});
