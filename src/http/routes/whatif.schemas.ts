import { Type, type Static } from '@sinclair/typebox';
import { Cluster, Fabric, Route, TopologyName } from '../../topology/schema.js';
import { answerQuery, BatchItem, Flow } from './traces.schemas.js';
import { MAX_REVISION } from './topologies.schemas.js';

const Change = Type.Union([
  Type.Object({ op: Type.Literal('add-route'), netns: Type.String(), route: Route }, { additionalProperties: false }),
  Type.Object(
    { op: Type.Literal('delete-route'), netns: Type.String(), dst: Type.String(), metric: Type.Optional(Type.Integer({ minimum: 0 })) },
    { additionalProperties: false },
  ),
  Type.Object({ op: Type.Union([Type.Literal('link-down'), Type.Literal('link-up')]), netns: Type.String(), link: Type.String() }, { additionalProperties: false }),
  Type.Object({ op: Type.Literal('forwarding'), netns: Type.String(), enabled: Type.Boolean() }, { additionalProperties: false }),
]);

export const WhatIfBody = Type.Object(
  {
    topology: Type.Optional(
      Type.Object({ cluster: Type.Optional(Cluster), fabric: Type.Optional(Fabric) }, { additionalProperties: false, description: 'A topology to trace without storing it.' }),
    ),
    base: Type.Optional(TopologyName),
    revision: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_REVISION })),
    patch: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'An RFC 7396 JSON merge patch of the base document ({cluster: …} or {fabric: …}).' })),
    changes: Type.Optional(Type.Array(Change, { description: 'Route and link changes applied to the fabric the base compiles to.' })),
    flows: Type.Array(Flow, { minItems: 1 }),
    bidirectional: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const WhatIfQuery = Type.Object(answerQuery(), { additionalProperties: false });

export const WhatIfAnswer = Type.Object({
  base: Type.Union([Type.Object({ name: Type.String(), revision: Type.Integer() }), Type.Null()]),
  count: Type.Object({ flows: Type.Integer(), errors: Type.Integer(), byDisposition: Type.Record(Type.String(), Type.Integer()) }),
  traces: Type.Array(BatchItem),
});
export type WhatIfBodyDoc = Static<typeof WhatIfBody>;
