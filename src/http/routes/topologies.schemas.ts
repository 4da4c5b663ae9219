// Request and response schemas of the topology routes.
import { Type } from '@sinclair/typebox';
import { TopologyName } from '../../topology/schema.js';

export const NameParams = Type.Object({ name: TopologyName }, { additionalProperties: false });
export const RevisionParams = Type.Object(
  { name: TopologyName, revision: Type.Integer({ minimum: 1 }) },
  { additionalProperties: false },
);

export const PageQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  },
  { additionalProperties: false },
);

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
