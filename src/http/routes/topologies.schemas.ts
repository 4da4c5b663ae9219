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
