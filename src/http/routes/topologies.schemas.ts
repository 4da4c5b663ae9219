// Request and response schemas of the topology routes.
import { CloneType, Type } from '@sinclair/typebox';
import { Cluster, Fabric, TopologyName } from '../../topology/schema.js';

const NameParam = CloneType(TopologyName, { description: 'The name of the topology.', examples: ['two-nodes'] });
import { MAX_REVISION } from '../../topology/requests.js';

export { MAX_REVISION };

export const NameParams = Type.Object({ name: NameParam }, { additionalProperties: false });
export const RevisionParams = Type.Object(
  {
    name: NameParam,
    revision: Type.Integer({
      minimum: 1,
      maximum: MAX_REVISION,
      description: 'A revision number, as the ETag of a write or the revisions list gives it.',
      examples: [2],
    }),
  },
  { additionalProperties: false },
);

export const PageQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'How many items a page holds at most.' }),
    cursor: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 512,
        description: 'The `nextCursor` of the previous page, unchanged. Leave it out for the first page.',
        examples: ['InR3by1ub2RlcyI'],
      }),
    ),
  },
  { additionalProperties: false },
);

// The preconditions are checked by the routes (preconditions.ts), which answer a malformed one with a problem document
// of their own: the schemas only document them.
const IfMatch = Type.String({
  description:
    'Entity tags of the revisions the client has seen, such as `"3"` (quotes included), or `*` for "if it exists". ' +
    'The write happens only if the current revision is one of them (strong comparison: a weak tag `W/"3"` never ' +
    'matches); otherwise 412, with the current revision in `currentRevision`. A value that is not a list of entity ' +
    'tags is answered 400.',
  examples: ['"3"'],
});
const IfNoneMatchWrite = Type.String({
  description: 'Only `*`, meaning "create, never replace": 412 when the topology exists. Any other value is answered 400.',
  examples: ['*'],
});
const IfNoneMatchRead = Type.String({
  description:
    'Entity tags of the copies the client holds, such as `"3"`, or `*`. When one of them is the current revision (weak ' +
    'comparison: `W/"3"` matches too) the answer is 304 without a body.',
  examples: ['"3"'],
});
export const ReadHeaders = Type.Object({ 'if-none-match': Type.Optional(IfNoneMatchRead) });
export const WriteHeaders = Type.Object({ 'if-match': Type.Optional(IfMatch), 'if-none-match': Type.Optional(IfNoneMatchWrite) });
export const DeleteHeaders = Type.Object({ 'if-match': Type.Optional(IfMatch) });

export const Summary = Type.Object({ nodes: Type.Integer(), pods: Type.Integer(), netns: Type.Integer() });
const Form = Type.Union([Type.Literal('cluster'), Type.Literal('fabric')]);
const Description = Type.Union([Type.String(), Type.Null()]);

export const TopologyMeta = Type.Object({
  name: Type.String(),
  revision: Type.Integer(),
  description: Description,
  form: Form,
  summary: Summary,
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

/** A revision of a topology as GET answers it: its metadata, and its document under the key `form` names. */
export const TopologyDocument = Type.Intersect(
  [TopologyMeta, Type.Object({ cluster: Type.Optional(Cluster), fabric: Type.Optional(Fabric) })],
  { description: 'A revision of a topology, its metadata and its document, under `cluster` or `fabric` as `form` says.' },
);

export const TopologyWarning = Type.Object({
  code: Type.String(),
  count: Type.Integer({ minimum: 1 }),
  detail: Type.String(),
  examples: Type.Array(Type.Object({ pointer: Type.String(), detail: Type.String() }), {
    maxItems: 10,
    description: 'Up to 10 of the places concerned, as JSON pointers into the request body.',
  }),
});

/** The answer to a write: the stored revision, and for dumps, what the conversion left out or inferred. */
export const TopologyWritten = Type.Object({
  ...TopologyMeta.properties,
  warnings: Type.Optional(
    Type.Array(TopologyWarning, {
      description: 'Only for dumps, when there is something to say: what the fabric does not model, or had to infer.',
    }),
  ),
});

export const TopologyListItem = Type.Object({
  name: Type.String(),
  revision: Type.Integer(),
  description: Description,
  form: Form,
  updatedAt: Type.String({ format: 'date-time' }),
  summary: Summary,
});
export const TopologyList = Type.Object({ items: Type.Array(TopologyListItem), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const RevisionItem = Type.Object({
  revision: Type.Integer(),
  description: Description,
  form: Form,
  summary: Summary,
  createdAt: Type.String({ format: 'date-time' }),
});
export const RevisionList = Type.Object({
  name: Type.String(),
  items: Type.Array(RevisionItem),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
