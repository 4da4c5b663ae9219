// CRUD of named topologies and their revisions. Thin: check, store, shape the answer.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { TopologyBody, TopologyPutBody } from '../../topology/schema.js';
import type { ImportWarning } from '../../import/warnings.js';
import type { TopologyInput, TopologyMeta } from '../../store/topologies.js';
import { NotFoundError } from '../../store/errors.js';
import { StaleRevision } from '../../work/protocol.js';
import { sendEncoded } from '../work.js';
import { LargeJson } from '../json-body.js';
import { Problem } from '../problem.js';
import { etag, notModified, parseIfMatch } from '../preconditions.js';
import { decodeCursor, decodeRevisionCursor, encodeCursor } from '../cursor.js';
import {
  DeleteHeaders,
  NameParams,
  PageQuery,
  ReadHeaders,
  RevisionList,
  RevisionParams,
  TopologyDocument,
  TopologyList,
  TopologyWritten,
  WriteHeaders,
} from './topologies.schemas.js';
import { BadRequest, Conflict, ETag, InvalidTopology, Location, NotFound, PayloadTooLarge, PreconditionFailed, UnsupportedMediaType, Busy } from '../responses.js';

const location = (name: string) => `/v1/topologies/${name}`;

/**
 * The body as it will be stored, checked by a worker: dumps converted to the fabric they describe (the conversion's
 * warnings kept). A large body reaches it unread (LargeJson) and is read and validated there; `name` is the path's, or
 * (a create) the body's.
 */
async function toInput(app: FastifyInstance, request: FastifyRequest, path: string | undefined): Promise<{ input: TopologyInput; warnings: ImportWarning[] }> {
  const unread = request.body instanceof LargeJson ? request.body : undefined;
  const text = unread?.bytes ?? request.jsonText!;
  const validate = unread !== undefined ? (path === undefined ? 'create' : 'put') : undefined;
  const checked = await app.work.run('check', [], { text, validate }, { heavy: unread !== undefined, transfer: unread && [unread.bytes.buffer] });
  const name = path ?? checked.name!;
  if (checked.name !== undefined && checked.name !== name) {
    await app.store.discard(checked.documentJson);
    throw new Problem(400, 'invalid-request', `the body names ${checked.name} but the path names ${name}`, {
      errors: [{ pointer: '/name', detail: `must be ${name}, the name in the path, or be left out` }],
    });
  }
  const { description, form, documentJson, summary, warnings } = checked;
  return { input: { name, description, form, documentJson, summary }, warnings };
}

const publicMeta = ({ id: _id, ...meta }: TopologyMeta) => meta;
const written = (meta: TopologyMeta, warnings: ImportWarning[]) =>
  warnings.length > 0 ? { ...publicMeta(meta), warnings } : publicMeta(meta);

/**
 * A revision's answer, written by a worker that reads the document itself (or holds it): the stored text is spliced in,
 * neither parsed nor serialised again, and tens of megabytes never pass through the main thread. A topology deleted
 * meanwhile is gone.
 */
async function sendDocument(app: FastifyInstance, reply: FastifyReply, meta: TopologyMeta) {
  const key = { id: meta.id, name: meta.name, revision: meta.revision };
  const answer = await app.work.pool.run('document', [key], { head: JSON.stringify(publicMeta(meta)) }, { documents: true }).catch((err: unknown) => {
    throw err instanceof StaleRevision ? new NotFoundError(`there is no topology named ${meta.name}`) : err;
  });
  return sendEncoded(reply.header('etag', etag(meta.revision)), answer);
}

const topologyBody = {
  content: {
    'application/json': {
      examples: {
        cluster: { $ref: '#/components/examples/TwoNodeBridgeCluster' },
        fabric: { $ref: '#/components/examples/OneNodeFabric' },
        dumps: { $ref: '#/components/examples/OneNodeDumps' },
        inconsistent: { $ref: '#/components/examples/InconsistentCluster' },
      },
    },
  },
};

const topologyCreated = {
  description: 'Created as revision 1.',
  headers: { Location: Location, ETag: ETag },
  content: {
    'application/json': {
      schema: TopologyWritten,
      examples: {
        cluster: { $ref: '#/components/examples/TwoNodeBridgeClusterMeta' },
        fabric: { $ref: '#/components/examples/OneNodeFabricMeta' },
        dumps: { $ref: '#/components/examples/OneNodeDumpsMeta' },
      },
    },
  },
};

/** A revision as GET answers it, the newest or an older one. */
const documentContent = {
  'application/json': {
    schema: TopologyDocument,
    examples: {
      cluster: { $ref: '#/components/examples/TwoNodeBridgeClusterDocument' },
      fabric: { $ref: '#/components/examples/OneNodeFabricDocument' },
    },
  },
};

const createTopologyDoc = {
  tags: ['topologies'],
  operationId: 'createTopology',
  summary: 'Create a topology',
  description: 'Stores a new topology as revision 1 under the name in the body. The document is checked twice: against the\n' +
    'schema (400, with a JSON pointer per problem) and for consistency (422: overlapping pod CIDRs, pods on unknown\n' +
    'nodes, veth peers that do not point back, routes through links that do not exist...). Use PUT to create or\n' +
    'replace under a name of your choice.\n' +
    '\n' +
    '`dumps` are converted to a fabric first and stored as it (`form: fabric`). Veth peers are resolved from\n' +
    '`link_netnsid` and `link_index`; where that is ambiguous (netnsids only mean something inside one kernel: give each\n' +
    'pod its `node`) or impossible, the answer is 422 with pointers into the dumps, and `peers` settles it. What the\n' +
    'fabric does not model or had to infer is listed in the answer\'s `warnings` (code, count, up to 10 examples).\n',
  'x-request-body': topologyBody,
  response: {
    201: topologyCreated,
    400: BadRequest,
    409: Conflict,
    413: PayloadTooLarge,
    503: Busy,
    415: UnsupportedMediaType,
    422: InvalidTopology,
  },
};

const listTopologiesDoc = {
  tags: ['topologies'],
  operationId: 'listTopologies',
  summary: 'List topologies',
  description: 'The newest revision of every topology, without documents, in name order, one page at a time.',
  response: {
    200: {
      description: 'A page of topologies.',
      content: {
        'application/json': {
          schema: TopologyList,
          example: {
            items: [
              {
                name: 'one-bridge',
                revision: 1,
                description: 'One node: two pods on the cbr0 bridge, and the node\'s uplink to the underlay.',
                form: 'fabric',
                updatedAt: '2026-11-25T17:18:12.116Z',
                summary: { nodes: 1, pods: 2, netns: 3 },
              },
              {
                name: 'two-nodes',
                revision: 2,
                description: 'Two nodes with a bridge per node and host-gw routes between them.',
                form: 'cluster',
                updatedAt: '2026-11-25T17:40:03.512Z',
                summary: { nodes: 2, pods: 4, netns: 6 },
              },
            ],
            nextCursor: 'InR3by1ub2RlcyI',
          },
        },
      },
    },
    400: BadRequest,
  },
};

const getTopologyDoc = {
  tags: ['topologies'],
  operationId: 'getTopology',
  summary: 'Get a topology',
  description: 'The newest revision of a topology: its metadata and its document, under `cluster` or `fabric` as `form` says.\n' +
    'The document is answered as it was stored. With If-None-Match, a client that holds the current revision gets a\n' +
    '304 without a body.\n',
  response: {
    200: {
      description: 'The newest revision.',
      headers: { ETag: ETag },
      content: documentContent,
    },
    304: {
      description: 'If-None-Match matched the current revision; the copy the client holds is current. No body.',
      headers: { ETag: ETag },
      type: 'null',
    },
    400: BadRequest,
    404: NotFound,
  },
};

const putTopologyDoc = {
  tags: ['topologies'],
  operationId: 'putTopology',
  summary: 'Create or replace a topology',
  description: 'Creates the topology (revision 1, answered 201) or replaces it with a new revision (200). The name comes from the\n' +
    'path; a `name` in the body must be the same. Send If-Match with the ETag you read to replace only the revision you\n' +
    'have seen (412 otherwise), or `If-None-Match: *` to create only. Only the newest revisions are kept (50 by\n' +
    'default); older ones are dropped as new ones are written.\n',
  'x-request-body': topologyBody,
  response: {
    200: {
      description: 'Replaced; the answer describes the new revision.',
      headers: { ETag: ETag },
      content: {
        'application/json': {
          schema: TopologyWritten,
          example: {
            name: 'two-nodes',
            revision: 2,
            description: 'Two nodes with a bridge per node and host-gw routes between them.',
            form: 'cluster',
            summary: { nodes: 2, pods: 4, netns: 6 },
            createdAt: '2026-11-25T17:18:12.049Z',
            updatedAt: '2026-11-25T17:40:03.512Z',
          },
        },
      },
    },
    201: topologyCreated,
    400: BadRequest,
    409: Conflict,
    412: PreconditionFailed,
    413: PayloadTooLarge,
    503: Busy,
    415: UnsupportedMediaType,
    422: InvalidTopology,
  },
};

const deleteTopologyDoc = {
  tags: ['topologies'],
  operationId: 'deleteTopology',
  summary: 'Delete a topology',
  description: 'Deletes the topology with all its revisions. With If-Match, only if it is still at one of the given revisions.',
  response: {
    204: { description: 'Deleted. No body.', type: 'null' },
    400: BadRequest,
    404: NotFound,
    412: PreconditionFailed,
  },
};

const listRevisionsDoc = {
  tags: ['topologies'],
  operationId: 'listRevisions',
  summary: 'List the revisions of a topology',
  description: 'The revisions still kept, newest first, without documents, one page at a time.',
  response: {
    200: {
      description: 'A page of revisions.',
      content: {
        'application/json': {
          schema: RevisionList,
          example: {
            name: 'two-nodes',
            items: [
              {
                revision: 2,
                description: 'Two nodes with a bridge per node and host-gw routes between them.',
                form: 'cluster',
                summary: { nodes: 2, pods: 4, netns: 6 },
                createdAt: '2026-11-25T17:40:03.512Z',
              },
              {
                revision: 1,
                description: 'Two nodes, one bridge each.',
                form: 'cluster',
                summary: { nodes: 2, pods: 3, netns: 5 },
                createdAt: '2026-11-25T17:18:12.049Z',
              },
            ],
            nextCursor: null,
          },
        },
      },
    },
    400: BadRequest,
    404: NotFound,
  },
};

const getRevisionDoc = {
  tags: ['topologies'],
  operationId: 'getRevision',
  summary: 'Get a revision of a topology',
  description: 'One revision of a topology, while it is kept, with its metadata and its document as GET /v1/topologies/{name} answers them.',
  response: {
    200: {
      description: 'The revision.',
      headers: { ETag: ETag },
      content: documentContent,
    },
    400: BadRequest,
    404: NotFound,
  },
};

export default async function topologies(plain: FastifyInstance) {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const { store } = app;

  app.post('/topologies', { schema: { ...createTopologyDoc, body: TopologyBody }, config: { largeJson: true } }, async (request, reply) => {
    const { input, warnings } = await toInput(app, request, undefined);
    const meta = await store.create(input);
    await app.work.warm(meta.name, meta.revision, meta.summary.netns);
    return reply.code(201).header('location', location(meta.name)).header('etag', etag(meta.revision)).send(written(meta, warnings));
  });

  app.put(
    '/topologies/:name',
    { schema: { ...putTopologyDoc, params: NameParams, headers: WriteHeaders, body: TopologyPutBody }, config: { largeJson: true } },
    async (request, reply) => {
      const { name } = request.params;
      // The headers are checked before the body: a refused request does no work and leaves no upload behind.
      const ifMatch = parseIfMatch(request.headers['if-match']);
      const ifNoneMatch = request.headers['if-none-match'];
      if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
        throw new Problem(400, 'invalid-request', 'on a write, If-None-Match can only be * (create, do not replace)');
      }
      const { input, warnings } = await toInput(app, request, name);
      const { meta, created } = await store.put(input, ifMatch, ifNoneMatch !== undefined);
      await app.work.warm(meta.name, meta.revision, meta.summary.netns);
      if (created) reply.code(201).header('location', location(name));
      return reply.header('etag', etag(meta.revision)).send(written(meta, warnings));
    },
  );

  app.get('/topologies', { schema: { ...listTopologiesDoc, querystring: PageQuery } }, async (request) => {
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

  app.get('/topologies/:name', { schema: { ...getTopologyDoc, params: NameParams, headers: ReadHeaders } }, async (request, reply) => {
    const { name } = request.params;
    const conditional = request.headers['if-none-match'];
    if (conditional !== undefined) {
      const { revision } = await store.head(name);
      if (notModified(conditional, revision)) return reply.code(304).header('etag', etag(revision)).send();
    }
    return sendDocument(app, reply, await store.meta(name));
  });

  app.delete('/topologies/:name', { schema: { ...deleteTopologyDoc, params: NameParams, headers: DeleteHeaders } }, async (request, reply) => {
    await store.remove(request.params.name, parseIfMatch(request.headers['if-match']));
    app.work.forget(request.params.name);
    return reply.code(204).send();
  });

  app.get(
    '/topologies/:name/revisions',
    { schema: { ...listRevisionsDoc, params: NameParams, querystring: PageQuery } },
    async (request) => {
      const { name } = request.params;
      const before = decodeRevisionCursor(request.query.cursor);
      const page = await store.revisions(name, request.query.limit, before);
      return { name, items: page.items, nextCursor: encodeCursor(page.next) };
    },
  );

  app.get('/topologies/:name/revisions/:revision', { schema: { ...getRevisionDoc, params: RevisionParams } }, async (request, reply) =>
    sendDocument(app, reply, await store.meta(request.params.name, request.params.revision)),
  );
}
