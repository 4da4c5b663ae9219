// Which policy decided each cell of the reachability matrix: the matrix traces one source of a class for all its members,
// and reads the deciding rules from the walk's record without decoding it; every cell must still name what a trace of
// that very pair names in its POLICY steps, through ANP, NetworkPolicy and BANP, Pass included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { compileTopology } from '../../src/engine/topology.js';
import { checkTopology } from '../../src/topology/validate.js';
import { worstPath, type PolicyStep } from '../../src/engine/trace.js';
import { checkTableSize, matrixAnswer, matrixTable, selectPods } from '../../src/answer/matrix.js';
import type { DecidedByDoc } from '../../src/answer/decided.js';
import type { ClusterDoc } from '../../src/topology/schema.js';
import { Problem } from '../../src/answer/problem.js';

interface Fixture {
  cluster: ClusterDoc;
  cases: { name: string; steps: ({ name: string } & Pick<ClusterDoc, 'adminNetworkPolicies' | 'baselineAdminNetworkPolicies' | 'networkPolicies'>)[] }[];
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/anp-conformance/cases.json', import.meta.url), 'utf8')) as Fixture;
const integration = fixture.cases.find((c) => c.name === 'AdminNetworkPolicyIntegration')!;

/** What a trace's POLICY step says decided its direction, as a matrix row's decidedBy says it. */
function fromStep(s: PolicyStep): DecidedByDoc[] {
  if (s.verdict !== 'ALLOWED' && s.verdict !== 'DENIED') return [];
  const head = { direction: s.direction, verdict: s.verdict };
  if (s.decidedBy !== undefined) return [{ ...head, kind: s.decidedBy.kind, name: s.decidedBy.name, rule: s.decidedBy.rule }];
  if (s.allowedBy !== undefined) return [{ ...head, kind: 'NetworkPolicy', ...s.allowedBy.policy, rule: s.allowedBy.rule }];
  return s.isolatedBy.map((p) => ({ ...head, kind: 'NetworkPolicy' as const, ...p }));
}

function compiledStep(k: number) {
  const { name: _, ...policies } = integration.steps[k]!;
  return compileTopology(checkTopology({ cluster: { ...fixture.cluster, ...policies } }));
}

test('every cell names the rules a trace of that pair names, in each step of the ANP integration test', () => {
  const kinds = new Set<string>();
  for (let k = 0; k < integration.steps.length; k++) {
    const compiled = compiledStep(k);
    const pods = selectPods(compiled, {});
    const answer = matrixAnswer(compiled, { name: 'x', revision: 1 }, pods, { protocol: 'tcp', dstPort: 80 }, { decided: true });
    assert.ok(answer.traced < pods.length * (pods.length - 1), 'sources share traces');
    const n = pods.length;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        const t = compiled.trace(pods[i]!, pods[j]!, 64, undefined, { protocol: 'tcp', dstPort: 80 });
        const path = t.paths[worstPath(t.paths)]!;
        const steps = path.hops.flatMap((h) => h.steps).filter((s): s is PolicyStep => s.type === 'POLICY');
        const got = answer.policies!.of(answer.policies!.ids[i * n + j]!);
        assert.deepEqual(got, steps.flatMap(fromStep), `${integration.steps[k]!.name}: ${pods[i]!.name} → ${pods[j]!.name}`);
        for (const e of got) kinds.add(`${e.kind} ${e.verdict}`);
      }
    }
  }
  // The steps between them decide by every tier, both ways.
  assert.deepEqual([...kinds].sort(), [
    'AdminNetworkPolicy DENIED',
    'BaselineAdminNetworkPolicy DENIED',
    'NetworkPolicy ALLOWED',
    'NetworkPolicy DENIED',
  ]);
});

test('the rows name the ANP that denies, the NetworkPolicy that allows after a Pass, and the CSV says the same', () => {
  const row = (k: number, from: string, to: string) => {
    const compiled = compiledStep(k);
    const answer = matrixAnswer(compiled, { name: 'x', revision: 1 }, selectPods(compiled, {}), { protocol: 'tcp', dstPort: 80 }, { decided: true });
    const rows = JSON.parse(matrixTable(answer, 'rows', 1e7)) as { from: string; to: string; disposition: string; decidedBy?: DecidedByDoc[] }[];
    const csv = matrixTable(answer, 'csv', 1e7).split('\r\n');
    const ns = (p: string) => `network-policy-conformance-${p}`;
    const found = rows.find((r) => r.from === ns(from) && r.to === ns(to))!;
    return { ...found, csv: csv.find((l) => l.startsWith(`${ns(from)},`) && l.includes(`,${ns(to)},`))!.split(',').at(-1) };
  };
  // Step 0: the ANP denies slytherin's ingress into gryffindor, before the NetworkPolicy that would allow it.
  const denied = row(0, 'slytherin/draco-malfoy-0', 'gryffindor/harry-potter-0');
  assert.equal(denied.disposition, 'DENIED');
  assert.deepEqual(denied.decidedBy, [{ direction: 'ingress', verdict: 'DENIED', kind: 'AdminNetworkPolicy', name: 'pass-example', rule: 0 }]);
  assert.equal(denied.csv, 'ingress DENIED by AdminNetworkPolicy pass-example rule 0');
  // Step 2: the ANP passes slytherin's ingress into gryffindor on, and gryffindor's NetworkPolicy allows it.
  const passed = row(2, 'slytherin/draco-malfoy-1', 'gryffindor/harry-potter-0');
  assert.equal(passed.disposition, 'DELIVERED');
  assert.deepEqual(passed.decidedBy, [
    {
      direction: 'ingress',
      verdict: 'ALLOWED',
      kind: 'NetworkPolicy',
      namespace: 'network-policy-conformance-gryffindor',
      name: 'allow-gress-from-to-slytherin-to-gryffindor',
      rule: 0,
    },
  ]);
  // A pair no policy decides has no decidedBy, and an empty CSV field.
  const free = row(2, 'hufflepuff/cedric-diggory-0', 'ravenclaw/luna-lovegood-1');
  assert.equal(free.decidedBy, undefined);
  assert.equal(free.csv, '');
});

test('rows or CSV that cannot fit are refused before any pair is traced, never ones that fit', () => {
  const compiled = compiledStep(0);
  const pods = selectPods(compiled, {});
  const answer = matrixAnswer(compiled, { name: 'x', revision: 1 }, pods, { protocol: 'tcp', dstPort: 80 }, { decided: true });
  for (const format of ['rows', 'csv'] as const) {
    const table = matrixTable(answer, format, 1e7);
    // What matrixTable measures: the rows without the brackets, the CSV without its header.
    const bytes = Buffer.byteLength(format === 'rows' ? table.slice(1, -1) : table.slice(table.indexOf('\r\n') + 2));
    checkTableSize(pods, format, bytes);
    assert.throws(() => matrixTable(answer, format, bytes - 1), (e: unknown) => e instanceof Problem && e.status === 422);
    // Refused ahead once even the fields' punctuation and the pods' names and addresses pass the limit.
    assert.throws(
      () => checkTableSize(pods, format, Math.floor(bytes / 4)),
      (e: unknown) => e instanceof Problem && e.status === 422 && /MAX_ANSWER_BYTES.*namespace=, node=/.test(e.message),
    );
  }
});
