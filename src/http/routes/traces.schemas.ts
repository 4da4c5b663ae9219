import { Type } from '@sinclair/typebox';
import { NameParams } from './topologies.schemas.js';
import { DETAIL_DOC, DETAILS, TraceAnswer } from '../../answer/schema.js';
import { DEFAULT_PATHS } from '../../answer/trace-answer.js';
import { MAX_PATHS } from '../../engine/trace.js';
import { MAX_REVISION } from './topologies.schemas.js';
export { BatchBody, Family, Flow, MAX_FLOWS, Port, PortOrName, Protocol, ServiceEndpointParam, Size } from '../../topology/requests.js';
import { Flow } from '../../topology/requests.js';

/**
 * The query parameters that say how much a trace answer holds: the single trace's, the batch's and the what-if's. `note`
 * is what a route adds of them.
 */
export const answerQuery = (note = '') => ({
  detail: Type.Optional(
    Type.Union(
      DETAILS.map((d) => Type.Literal(d)),
      { default: 'full', description: `${DETAIL_DOC} Less detail is a smaller answer, and a faster one: what is left out is not made.${note}`, examples: ['hops'] },
    ),
  ),
  paths: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_PATHS,
      default: DEFAULT_PATHS,
      description:
        `When an ECMP route splits a flow: how many of its paths \`paths\` lists, the first ones (up to ${MAX_PATHS}, every path ` +
        'the engine follows). Every path is still traced: `pathCount` counts them, `pathsOmitted` says how many the list leaves ' +
        `out, and the \`disposition\` is the worst of them all.${note}`,
      examples: [MAX_PATHS],
    }),
  ),
});

export const BatchParams = NameParams;
export const BatchQuery = Type.Object(
  {
    format: Type.Optional(
      Type.Union([Type.Literal('json'), Type.Literal('text')], { description: '`json` (the default) or `text` (one summary line per flow, made at `detail=summary`).' }),
    ),
    ...answerQuery(),
  },
  { additionalProperties: false },
);


const FlowTrace = Type.Omit(TraceAnswer, ['topology']);
const FlowError = Type.Object(
  { type: Type.String(), title: Type.String(), status: Type.Integer(), detail: Type.String() },
  { additionalProperties: true },
);

export const BatchItem = Type.Object({
  flow: Flow,
  trace: Type.Optional(FlowTrace),
  error: Type.Optional(FlowError),
  return: Type.Optional(Type.Union([FlowTrace, Type.Null()])),
  returnError: Type.Optional(FlowError),
  asymmetric: Type.Optional(Type.Boolean({ description: 'The way back crosses other namespaces than the way there.' })),
  returnFails: Type.Optional(Type.Boolean({ description: 'Delivered there but not back (or the other way round).' })),
});

export const BatchAnswer = Type.Object({
  topology: Type.Object({ name: Type.String(), revision: Type.Integer() }),
  count: Type.Object({ flows: Type.Integer(), errors: Type.Integer(), byDisposition: Type.Record(Type.String(), Type.Integer()) }),
  traces: Type.Array(BatchItem),
});
