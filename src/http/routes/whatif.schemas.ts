import { Type, type Static } from '@sinclair/typebox';
import { answerQuery, BatchItem } from './traces.schemas.js';

export { WhatIfBody, type WhatIfBodyDoc } from '../../topology/requests.js';

export const WhatIfQuery = Type.Object(answerQuery(), { additionalProperties: false });

export const WhatIfAnswer = Type.Object({
  base: Type.Union([Type.Object({ name: Type.String(), revision: Type.Integer() }), Type.Null()]),
  count: Type.Object({ flows: Type.Integer(), errors: Type.Integer(), byDisposition: Type.Record(Type.String(), Type.Integer()) }),
  traces: Type.Array(BatchItem),
});
