// Explanations are made from steps, sentence templates and whole hops kept per compiled revision (src/answer/explain.ts):
// an answer made from what other flows left behind must be the answer made afresh, byte for byte, for every data path,
// tunnels, ECMP and drops included, at every detail. So must the answers made the fast way: text, Markdown and Mermaid
// made with only the prose they print, and the answer object built field by field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { answerFlow, traceFlow } from '../../src/answer/flow.js';
import { compileTopology, type CompiledTopology } from '../../src/engine/topology.js';
import { checkTopologyBody } from '../../src/import/body.js';
import { DETAILS } from '../../src/answer/schema.js';
import { keptBits, keptHops } from '../../src/answer/explain.js';
import { traceAnswer, type AnswerOptions, type FlowRequest } from '../../src/answer/trace-answer.js';
import type { TraceAnswer } from '../../src/answer/schema.js';
import { MAX_PATHS } from '../../src/engine/trace.js';
import type { Format } from '../../src/render/formats.js';
import { renderText } from '../../src/render/text.js';
import { renderMarkdown, type MarkdownLayout } from '../../src/render/markdown.js';
import { renderMermaid } from '../../src/render/mermaid.js';
import { JOBS, type Loaded } from '../../src/work/jobs.js';
import { twoTunnels } from '../engine/trace/fabrics.js';
import { serviceCluster } from '../engine/service/clusters.js';
import { referenceAnswer } from './reference-answer.js';

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
    // Every flow three times, in reverse, so that each answer compared below is made from what the others left behind (a
    // step or sentence is kept from the second time it is made, a hop from the third).
    for (let pass = 0; pass < 3; pass++) for (const flow of [...all].reverse()) for (const detail of DETAILS) answer(warm, flow, detail);
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

// Service flows too (`svc/…`, named and numbered ports), and a Service cluster with endpoints of every kind.
const withServices: [string, Parameters<typeof checkTopologyBody>[0]][] = [...bodies, ['service cluster', { cluster: serviceCluster() }]];

/** Up to `n` flows of a topology, netns to netns, Service or address, with transports, sizes and TTLs drawn from a seed. */
function sampledFlows(compiled: CompiledTopology, n: number): FlowRequest[] {
  let seed = 7;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const services = (compiled.services?.services ?? []).map((s) => `svc/${s.namespace}/${s.name}`);
  const names = compiled.fabric.netns.map((ns) => ns.name);
  const to = [...names, ...services, '10.1.2.99', '8.8.8.8', 'fd00::99'];
  return Array.from({ length: n }, (): FlowRequest => {
    const flow = { from: pick(names), to: pick(to) };
    const transport = pick(['none', 'ports', 'sized'] as const);
    if (transport === 'ports') return { ...flow, protocol: 'tcp', srcPort: 40000 + Math.floor(rand() * 1000), dstPort: pick([53, 80, 443, 8080]) };
    if (transport === 'sized') return { ...flow, protocol: pick(['udp', 'tcp'] as const), port: pick([53, 80]), size: pick([1400, 1500, 9000]), ttl: pick([2, 3, 64]) };
    return flow;
  });
}

const loaded = (compiled: CompiledTopology): Loaded[] => [{ key: { id: 'kept', name: 'kept', revision: 1 }, compiled }];
const job = (compiled: CompiledTopology, flow: FlowRequest, format: Format, options: AnswerOptions, layout?: MarkdownLayout): string => {
  try {
    const { body } = JOBS.answer(loaded(compiled), { flow, options, format, layout });
    return typeof body === 'string' ? body : new TextDecoder().decode(body);
  } catch (err) {
    return `problem: ${(err as Error).message}`;
  }
};
const drawn = (compiled: CompiledTopology, flow: FlowRequest, render: (a: TraceAnswer) => string): string => {
  try {
    return render(answerFlow(compiled, { name: 'kept', revision: 1 }, flow, { paths: MAX_PATHS }));
  } catch (err) {
    return `problem: ${(err as Error).message}`;
  }
};

test('text, Markdown and Mermaid made with only the prose they print are the ones drawn from the full answer', () => {
  let drawnCount = 0;
  for (const [name, body] of withServices) {
    const compiled = compile(body);
    const all = sampledFlows(compiled, 150);
    // Three times: the third time from kept hops.
    for (let pass = 0; pass < 3; pass++) {
      for (const flow of all) {
        const renderers: [Format, MarkdownLayout | undefined, (a: TraceAnswer) => string][] = [
          ['text', undefined, renderText],
          ['markdown', 'table', (a) => renderMarkdown(a, 'table')],
          ['markdown', 'list', (a) => renderMarkdown(a, 'list')],
          ['mermaid', undefined, renderMermaid],
        ];
        for (const [format, layout, render] of renderers) {
          const expected = drawn(compiled, flow, render);
          assert.equal(job(compiled, flow, format, { paths: MAX_PATHS }, layout), expected, `${name}: ${JSON.stringify(flow)} as ${format} ${layout ?? ''}`);
          if (!expected.startsWith('problem')) drawnCount++;
        }
      }
    }
  }
  assert.ok(drawnCount > 5000, `${drawnCount} drawings compared`);
});

test('the answer object is built field by field as the plain builder spreads it, byte for byte at every detail', () => {
  let compared = 0;
  for (const [name, body] of withServices) {
    const compiled = compile(body);
    for (const flow of sampledFlows(compiled, 150)) {
      let traced: ReturnType<typeof traceFlow>;
      try {
        traced = traceFlow(compiled, flow);
      } catch {
        continue;
      }
      const options: AnswerOptions[] = [...DETAILS.map((detail) => ({ detail })), { paths: 1 }, { paths: MAX_PATHS, printed: true }];
      for (const o of options) {
        const topology = { name: 'kept', revision: 1 };
        // The reference first, so that both are made from the same kept parts.
        const expected = JSON.stringify(referenceAnswer(compiled, topology, flow, traced.ends, traced.trace, o));
        assert.equal(JSON.stringify(traceAnswer(compiled, topology, flow, traced.ends, traced.trace, o)), expected, `${name}: ${JSON.stringify(flow)} ${JSON.stringify(o)}`);
        // The JSON the trace route sends is that answer's.
        if (o.printed !== true) assert.equal(job(compiled, flow, 'json', o), expected);
        compared++;
      }
    }
  }
  assert.ok(compared > 10_000, `${compared} answers compared`);
});

test('a JSON answer written from the hops\' kept text is the answer object serialised, byte for byte at every detail', () => {
  let spliced = 0;
  const kept = { hops: 0, senders: 0 };
  for (const [name, body] of withServices) {
    const compiled = compile(body);
    const all = sampledFlows(compiled, 150);
    // Four times: a hop is kept from its third answer, and its text is made and used from then on.
    for (let pass = 0; pass < 4; pass++) {
      for (const flow of all) {
        for (const detail of DETAILS) {
          const expected = answer(compiled, flow, detail);
          const written = job(compiled, flow, 'json', { detail });
          assert.equal(written, expected, `${name}: ${JSON.stringify(flow)} at ${detail}, pass ${pass + 1}`);
          if (pass === 3 && detail !== 'summary' && !expected.startsWith('problem') && JSON.parse(expected).pathCount === undefined) spliced++;
        }
      }
    }
    const held = keptHops(compiled.fabric);
    kept.hops += held.hops;
    kept.senders += held.senders;
  }
  assert.ok(spliced > 1000, `${spliced} one-path answers written from kept text`);
  // Hops were kept, senders' among them (their ORIGINATE step filled with the source's text).
  assert.ok(kept.hops > 2000 && kept.senders > 500, JSON.stringify(kept));
});

test('the table of kept steps is sized by the revision: a small topology (a what-if\'s, compiled per request) does not make the large cluster\'s', () => {
  // 2^18 slots for 5,000 nodes and 150,000 pods; a two-node cluster's table is 256 times smaller (making the large one
  // took ~30 ms, which every what-if request paid).
  assert.equal(keptBits(155_000), 18);
  assert.equal(keptBits(1_550), 15);
  assert.equal(keptBits(8), 10);
  assert.ok(keptBits(compile(JSON.parse(readFileSync(new URL('two-nodes.json', examples), 'utf8'))).fabric.netns.length) <= 10);
});
