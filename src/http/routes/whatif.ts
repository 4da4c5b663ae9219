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
import { MAX_FLOWS } from './traces.schemas.js';
import { traceFlows } from './traces.js';
import { WhatIfAnswer, WhatIfBody } from './whatif.schemas.js';

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

    const stored = await app.store.get(body.base!, body.revision);
    let doc: { cluster?: unknown; fabric?: unknown } = { [stored.form]: JSON.parse(stored.documentJson) };
    if (body.patch !== undefined) doc = mergePatch(doc, body.patch) as typeof doc;
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
