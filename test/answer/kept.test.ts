// Explanations are made from steps, sentence templates and whole hops kept per compiled revision (src/answer/explain.ts):
// an answer made from what other flows left behind must be the answer made afresh, byte for byte, for every data path,
// tunnels, ECMP and drops included, at every detail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { answerFlow } from '../../src/answer/flow.js';
import { compileTopology, type CompiledTopology } from '../../src/engine/topology.js';
import { checkTopologyBody } from '../../src/import/body.js';
import { DETAILS } from '../../src/answer/schema.js';
import type { FlowRequest } from '../../src/answer/trace-answer.js';
import { twoTunnels } from '../engine/trace/fabrics.js';

const examples = new URL('../../examples/', import.meta.url);
const bodies: [string, Parameters<typeof checkTopologyBody>[0]][] = [
  ...readdirSync(examples).filter((f) => f.endsWith('.json')).map((f): [string, Parameters<typeof checkTopologyBody>[0]] => [f, JSON.parse(readFileSync(new URL(f, examples), 'utf8'))]),
  ['kitchen-sink', JSON.parse(readFileSync(new URL('../fixtures/iproute/kitchen-sink.json', import.meta.url), 'utf8'))],
  ['two tunnels (ECMP)', { fabric: twoTunnels() }],
];

const compile = (body: Parameters<typeof checkTopologyBody>[0]): CompiledTopology => compileTopology(checkTopologyBody(body).spec);

/** Every netns to every netns and to addresses that nobody (or somebody outside) owns, as TCP with ports. */
function flows(compiled: CompiledTopology): FlowRequest[] {
  const names = compiled.fabric.netns.map((ns) => ns.name);
  const to = [...names, '10.1.2.99', '8.8.8.8', '10.99.0.1', 'fd00::99'];
  return names.flatMap((from) => to.filter((t) => t !== from).map((t) => ({ from, to: t, protocol: 'tcp' as const, srcPort: 40000, dstPort: 443 })));
}

function answer(compiled: CompiledTopology, flow: FlowRequest, detail: (typeof DETAILS)[number]): string {
  try {
    return JSON.stringify(answerFlow(compiled, { name: 'kept', revision: 1 }, flow, { detail }));
  } catch (err) {
    return `problem: ${(err as Error).message}`;
  }
}

test('an answer made from kept steps and templates is the answer made afresh, for every flow of every example', () => {
  let compared = 0;
  let explained = 0;
  for (const [name, body] of bodies) {
    const warm = compile(body);
    const all = flows(warm);
    // Every flow twice, in reverse, so that each answer compared below is made from what the others left behind (a step,
    // sentence or hop is kept from the second time it is made).
    for (let pass = 0; pass < 2; pass++) for (const flow of [...all].reverse()) for (const detail of DETAILS) answer(warm, flow, detail);
    for (const flow of all) {
      // A revision compiled for this flow alone: its answer is made with nothing kept from any other flow.
      const fresh = compile(body);
      for (const detail of DETAILS) {
        const made = answer(fresh, flow, detail);
        assert.equal(answer(warm, flow, detail), made, `${name}: ${flow.from} → ${flow.to} (${detail})`);
        compared++;
        if (!made.startsWith('problem') && detail === 'full') explained++;
      }
    }
  }
  // The comparison covered the flows that matter: thousands of answers with their prose.
  assert.ok(explained > 1000, `${explained} full answers compared`);
  assert.ok(compared > 3 * explained);
});
