// POST /v1/traces: what-if. Traces flows through a topology given inline, or through a stored one with changes on top,
// and stores nothing.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { compileTopology } from '../../engine/topology.js';
import { materialise } from '../../engine/materialise.js';
import { checkTopology } from '../../topology/validate.js';
import { applyChanges, mergePatch, type Change } from '../../topology/patch.js';
import { Problem } from '../problem.js';
import { checkTopologyBody } from '../topology-body.js';
import { checkAsBody } from '../validation.js';
import { TopologyPutBody } from '../../topology/schema.js';
import { MAX_FLOWS } from './traces.schemas.js';
import { traceFlows } from './traces.js';
import { WhatIfAnswer, WhatIfBody } from './whatif.schemas.js';

/** Deeper than any topology document: a patch nested further is refused before anything recurses into it. */
const MAX_PATCH_DEPTH = 32;

function checkDepth(patch: unknown, at: string): void {
  const stack: [unknown, number][] = [[patch, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_PATCH_DEPTH) {
      throw new Problem(400, 'invalid-request', `the patch is nested deeper than ${MAX_PATCH_DEPTH} levels; no topology document is`, {
        errors: [{ pointer: at, detail: `nested deeper than ${MAX_PATCH_DEPTH} levels` }],
      });
    }
    for (const v of Object.values(value)) stack.push([v, depth + 1]);
  }
}

export default async function whatIfRoutes(plain: FastifyInstance) {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();

  app.post('/traces', { schema: { body: WhatIfBody, response: { 200: WhatIfAnswer } } }, async (request) => {
    const body = request.body;
    if (body.flows.length > MAX_FLOWS) {
      throw new Problem(413, 'payload-too-large', `${body.flows.length} flows in one request; the limit is ${MAX_FLOWS}: split the batch`);
    }
    if ((body.topology === undefined) === (body.base === undefined)) {
      throw new Problem(400, 'invalid-request', 'give either topology (a document to trace as it is) or base (a stored topology to change)', {
        errors: [{ pointer: body.topology === undefined ? '' : '/base', detail: 'exactly one of topology or base' }],
      });
    }
    if (body.topology !== undefined) {
      if (body.patch !== undefined || body.changes !== undefined || body.revision !== undefined) {
        throw new Problem(400, 'invalid-request', 'patch, changes and revision go with base, not with an inline topology', {
          errors: [{ pointer: body.patch !== undefined ? '/patch' : body.changes !== undefined ? '/changes' : '/revision', detail: 'only with base' }],
        });
      }
      const compiled = compileTopology(checkTopology(body.topology));
      const { count, traces } = traceFlows(compiled, { name: 'what-if', revision: 0 }, body.flows, body.bidirectional ?? false);
      return { base: null, count, traces };
    }

    if (body.patch !== undefined) checkDepth(body.patch, '/patch');
    const stored = await app.store.get(body.base!, body.revision);
    let doc: { cluster?: unknown; fabric?: unknown } = { [stored.form]: JSON.parse(stored.documentJson) };
    if (body.patch !== undefined) {
      doc = mergePatch(doc, body.patch) as typeof doc;
      // The patched document is a topology body like any other: as strictly checked as one that was sent whole.
      checkAsBody(TopologyPutBody, doc, '/patch', 'the base topology after the patch');
    }
    // A patch may turn the base into any form of a topology body.
    let spec = checkTopologyBody(doc as Parameters<typeof checkTopologyBody>[0]).spec;
    if (body.changes !== undefined) {
      const fabric = spec.form === 'fabric' ? spec.fabric : materialise(compileTopology(spec).fabric);
      spec = checkTopology({ fabric: applyChanges(fabric, body.changes as Change[], '/changes') });
    }
    const base = { name: stored.name, revision: stored.revision };
    const { count, traces } = traceFlows(compileTopology(spec), base, body.flows, body.bidirectional ?? false);
    return { base, count, traces };
  });
}
