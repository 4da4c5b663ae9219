import { Type, type Static } from '@sinclair/typebox';
import { answerQuery, BatchItem } from './traces.schemas.js';
import { DiffAnswer } from '../../answer/diff.js';

export { WhatIfBody, type WhatIfBodyDoc } from '../../topology/requests.js';

export const WhatIfQuery = Type.Object(answerQuery(), { additionalProperties: false });

export const WhatIfAnswer = Type.Object({
  base: Type.Union([Type.Object({ name: Type.String(), revision: Type.Integer() }), Type.Null()]),
  count: Type.Object({ flows: Type.Integer(), errors: Type.Integer(), byDisposition: Type.Record(Type.String(), Type.Integer()) }),
  traces: Type.Array(BatchItem),
  diff: Type.Optional(
    Type.Object(
      { changes: DiffAnswer.properties.changes, reachability: DiffAnswer.properties.reachability },
      { description: 'With `compare`: what the change alters, as `GET …/diff` answers between two revisions.' },
    ),
  ),
});
