// POST|PUT /v1/topologies/{name}/import/kubernetes: store what `kubectl get nodes,pods -A -o json` prints as a cluster.
import type { FastifyInstance, FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  CniRequiredError,
  importKubernetes,
  type CniMode,
  type CniPlugin,
  type KubernetesImport,
  type KubernetesImportBodyDoc,
} from '../../import/kubernetes.js';
import { summarize } from '../../topology/summary.js';
import type { TopologyInput, TopologyMeta } from '../../store/topologies.js';
import { Problem } from '../problem.js';
import { etag, parseIfMatch } from '../preconditions.js';
import { ImportAnswer, ImportParams, ImportQuery, KubernetesImportBody } from './import.schemas.js';

const location = (name: string) => `/v1/topologies/${name}`;

type Validate = ((data: unknown) => boolean) & { errors?: FastifySchemaValidationError[] | null };

/**
 * The app's validators, except that the body's `if` errors are dropped: a List item that is a Node but not a valid one
 * is reported by the errors of its fields, not once more as "must match then schema".
 */
function withoutIfErrors(base: FastifySchemaCompiler<unknown>): FastifySchemaCompiler<unknown> {
  return (route) => {
    const validate = base(route) as Validate;
    if (route.httpPart !== 'body') return validate;
    const wrapped: Validate = (data: unknown) => {
      const ok = validate(data);
      wrapped.errors = ok ? null : (validate.errors ?? []).filter((e) => e.keyword !== 'if');
      return ok;
    };
    return wrapped;
  };
}

function run(query: { cni?: CniPlugin; mode?: CniMode; description?: string }, body: KubernetesImportBodyDoc): KubernetesImport {
  try {
    return importKubernetes(body, { plugin: query.cni, mode: query.mode, description: query.description });
  } catch (err) {
    if (err instanceof CniRequiredError) {
      throw new Problem(422, 'cni-required', err.message, {
        title: 'The CNI data path is needed',
        errors: err.errors,
        evidence: err.evidence,
      });
    }
    throw err;
  }
}

const toInput = (name: string, imported: KubernetesImport): TopologyInput => ({
  name,
  description: imported.description,
  form: 'cluster',
  documentJson: JSON.stringify(imported.cluster),
  summary: summarize(imported.spec),
});

const answer = ({ id: _id, ...meta }: TopologyMeta, imported: KubernetesImport) => ({
  ...meta,
  counts: imported.counts,
  cni: {
    ...imported.cni.cni,
    detectedFrom: imported.cni.detectedFrom,
    ...(imported.cni.modeDetectedFrom !== undefined ? { modeDetectedFrom: imported.cni.modeDetectedFrom } : {}),
    evidence: imported.cni.evidence,
    ...(imported.cni.note !== undefined ? { note: imported.cni.note } : {}),
  },
  warnings: imported.warnings,
});

export default async function importRoutes(plain: FastifyInstance) {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const { store } = app;
  const base = plain.validatorCompiler;
  if (base === undefined) throw new Error('the validation plugin must be registered before the import routes');
  const validatorCompiler = withoutIfErrors(base);
  const path = '/topologies/:name/import/kubernetes';

  app.post(
    path,
    { schema: { params: ImportParams, querystring: ImportQuery, body: KubernetesImportBody, response: { 201: ImportAnswer } }, validatorCompiler },
    async (request, reply) => {
      const { name } = request.params;
      const imported = run(request.query, request.body);
      const meta = await store.create(toInput(name, imported));
      await app.compiled.warm(meta.name, meta.revision);
      return reply.code(201).header('location', location(name)).header('etag', etag(meta.revision)).send(answer(meta, imported));
    },
  );

  app.put(
    path,
    {
      schema: { params: ImportParams, querystring: ImportQuery, body: KubernetesImportBody, response: { 200: ImportAnswer, 201: ImportAnswer } },
      validatorCompiler,
    },
    async (request, reply) => {
      const { name } = request.params;
      const ifMatch = parseIfMatch(request.headers['if-match']);
      const ifNoneMatch = request.headers['if-none-match'];
      if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
        throw new Problem(400, 'invalid-request', 'on a write, If-None-Match can only be * (create, do not replace)');
      }
      const imported = run(request.query, request.body);
      const { meta, created } = await store.put(toInput(name, imported), ifMatch, ifNoneMatch !== undefined);
      await app.compiled.warm(meta.name, meta.revision);
      if (created) reply.code(201).header('location', location(name));
      return reply.header('etag', etag(meta.revision)).send(answer(meta, imported));
    },
  );
}
