// CRUD of named topologies and their revisions. Thin: check, store, shape the answer.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { TopologyBody, TopologyPutBody, type TopologyBodyDoc } from '../../topology/schema.js';
import type { ImportWarning } from '../../import/warnings.js';
import { summarize } from '../../topology/summary.js';
import type { StoredTopology, TopologyInput, TopologyMeta } from '../../store/topologies.js';
import { Problem } from '../problem.js';
import { checkTopologyBody } from '../topology-body.js';
import { etag, notModified, parseIfMatch } from '../preconditions.js';
import { decodeCursor, decodeRevisionCursor, encodeCursor } from '../cursor.js';
import { NameParams, PageQuery, RevisionList, RevisionParams, TopologyList, TopologyWritten } from './topologies.schemas.js';

const location = (name: string) => `/v1/topologies/${name}`;

/** The stored input of a body; dumps are converted to the fabric they describe, and the conversion's warnings kept. */
function toInput(name: string, body: TopologyBodyDoc): { input: TopologyInput; warnings: ImportWarning[] } {
  const { spec, warnings } = checkTopologyBody(body);
  return {
    input: {
      name,
      description: body.description,
      form: spec.form,
      documentJson: JSON.stringify(spec.form === 'cluster' ? spec.cluster : spec.fabric),
      summary: summarize(spec),
    },
    warnings,
  };
}

const publicMeta = ({ id: _id, ...meta }: TopologyMeta) => meta;
const written = (meta: TopologyMeta, warnings: ImportWarning[]) =>
  warnings.length > 0 ? { ...publicMeta(meta), warnings } : publicMeta(meta);

// The stored document is spliced into the answer as the text it was stored as: a document of tens of megabytes is
// neither parsed nor serialised again on a read.
function sendDocument(reply: FastifyReply, { documentJson, ...meta }: StoredTopology) {
  const head = JSON.stringify(publicMeta(meta));
  reply.header('etag', etag(meta.revision)).type('application/json; charset=utf-8');
  return reply.send(`${head.slice(0, -1)},${JSON.stringify(meta.form)}:${documentJson}}`);
}

export default async function topologies(plain: FastifyInstance) {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const { store } = app;

  app.post('/topologies', { schema: { body: TopologyBody, response: { 201: TopologyWritten } } }, async (request, reply) => {
    const { input, warnings } = toInput(request.body.name, request.body);
    const meta = await store.create(input);
    await app.compiled.warm(meta.name, meta.revision);
    return reply.code(201).header('location', location(meta.name)).header('etag', etag(meta.revision)).send(written(meta, warnings));
  });

  app.put(
    '/topologies/:name',
    { schema: { params: NameParams, body: TopologyPutBody, response: { 200: TopologyWritten, 201: TopologyWritten } } },
    async (request, reply) => {
      const { name } = request.params;
      if (request.body.name !== undefined && request.body.name !== name) {
        throw new Problem(400, 'invalid-request', `the body names ${request.body.name} but the path names ${name}`, {
          errors: [{ pointer: '/name', detail: `must be ${name}, the name in the path, or be left out` }],
        });
      }
      const { input, warnings } = toInput(name, request.body);
      const ifNoneMatch = request.headers['if-none-match'];
      if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
        throw new Problem(400, 'invalid-request', 'on a write, If-None-Match can only be * (create, do not replace)');
      }
      const { meta, created } = await store.put(input, parseIfMatch(request.headers['if-match']), ifNoneMatch !== undefined);
      await app.compiled.warm(meta.name, meta.revision);
      if (created) reply.code(201).header('location', location(name));
      return reply.header('etag', etag(meta.revision)).send(written(meta, warnings));
    },
  );

  app.get('/topologies', { schema: { querystring: PageQuery, response: { 200: TopologyList } } }, async (request) => {
    const page = await store.list(request.query.limit, decodeCursor(request.query.cursor));
    return {
      items: page.items.map(({ name, revision, description, form, updatedAt, summary }) => ({
        name,
        revision,
        description,
        form,
        updatedAt,
        summary,
      })),
      nextCursor: encodeCursor(page.next),
    };
  });

  app.get('/topologies/:name', { schema: { params: NameParams } }, async (request, reply) => {
    const { name } = request.params;
    const conditional = request.headers['if-none-match'];
    if (conditional !== undefined) {
      const { revision } = await store.head(name);
      if (notModified(conditional, revision)) return reply.code(304).header('etag', etag(revision)).send();
    }
    return sendDocument(reply, await store.get(name));
  });

  app.delete('/topologies/:name', { schema: { params: NameParams } }, async (request, reply) => {
    await store.remove(request.params.name, parseIfMatch(request.headers['if-match']));
    return reply.code(204).send();
  });

  app.get(
    '/topologies/:name/revisions',
    { schema: { params: NameParams, querystring: PageQuery, response: { 200: RevisionList } } },
    async (request) => {
      const { name } = request.params;
      const before = decodeRevisionCursor(request.query.cursor);
      const page = await store.revisions(name, request.query.limit, before);
      return { name, items: page.items, nextCursor: encodeCursor(page.next) };
    },
  );

  app.get('/topologies/:name/revisions/:revision', { schema: { params: RevisionParams } }, async (request, reply) =>
    sendDocument(reply, await store.get(request.params.name, request.params.revision)),
  );
}
