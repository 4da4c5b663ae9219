// The wire shape of a trace answer: what the trace route answers in JSON, what the batch and what-if answers hold per
// flow, and what every renderer draws from. One schema, so a text line, a diagram and the JSON tell the same story.
// The schema types an answer at any detail (what `detail=hops` or `summary` leaves out is optional); the TraceAnswer type
// is the full answer, which the renderers draw.
import { Type, type Static } from '@sinclair/typebox';
import { AnswerStep, Disposition } from './steps.js';
import { MAX_PATHS } from '../engine/trace.js';
import type { AnswerStep as FullStep } from './steps.js';

/** How much a trace answer says; see DETAIL_DOC. */
export const DETAILS = ['summary', 'hops', 'full'] as const;
export type Detail = (typeof DETAILS)[number];
export const DETAIL_DOC =
  'How much each trace says. `full` (the default): everything. `hops`: the hops and every field of their steps, without ' +
  'the prose (no `explanation`, no `candidates`), for clients that draw the path. `summary`: the flow, both ends, the ' +
  '`disposition` and the `summary` line, and `pathCount`; no `hops`, `paths`, `mtu`, `ecmp` or `notes`.';

const Endpoint = Type.Object({ name: Type.String(), kind: Type.String(), netns: Type.Union([Type.String(), Type.Null()]), address: Type.String() });
export const AnswerHop = Type.Object({
  netns: Type.String(),
  kind: Type.String(),
  node: Type.Optional(Type.String()),
  in: Type.Optional(Type.String()),
  out: Type.Optional(Type.String()),
  steps: Type.Array(AnswerStep),
});
const Mtu = Type.Object(
  {
    smallest: Type.Integer({ description: 'The largest packet that gets through every link the packet leaves by (inside a tunnel: the MTU less the outer headers).' }),
    netns: Type.String(),
    link: Type.String({ description: 'Where the smallest MTU is: the first such link on the path.' }),
    size: Type.Optional(Type.Integer()),
    fits: Type.Optional(Type.Boolean()),
    explanation: Type.Optional(
      Type.String({ description: 'With size and `detail=full`: whether it fits, and what Linux does with a packet that does not.' }),
    ),
  },
  { description: 'Absent when the packet leaves by no link.' },
);
export const AnswerPath = Type.Object({
  disposition: Disposition,
  hops: Type.Array(AnswerHop),
  summary: Type.String(),
  choices: Type.Array(Type.Integer()),
  mtu: Type.Optional(Mtu),
});
const HashPolicy = Type.Union([Type.Literal('l3'), Type.Literal('l4')], {
  description: "The netns's fib_multipath_hash_policy: 0 (l3: addresses) or 1 (l4: addresses, protocol and ports).",
});
const Ecmp = Type.Object(
  {
    kernel: Type.Boolean({ description: 'Whether path is the branch the kernel takes (every ECMP netns on it has a known seed).' }),
    path: Type.Union([Type.Integer(), Type.Null()], {
      description: 'The index among the paths traced of the branch the kernel takes (in `paths` unless the list was cut before it); null when unknown.',
    }),
    decisions: Type.Array(
      Type.Object({
        netns: Type.String(),
        dst: Type.String(),
        policy: HashPolicy,
        nexthop: Type.Integer(),
        gateway: Type.Optional(Type.String()),
        dev: Type.String(),
      }),
      { description: 'The ECMP routes on that branch and the next hop the kernel takes at each, up to the first it cannot name.' },
    ),
    unknown: Type.Optional(
      Type.Object(
        {
          netns: Type.String(),
          dst: Type.String(),
          policy: HashPolicy,
          reason: Type.Union(
            ['seed', 'ports', 'flow-label', 'receive-hash', 'tunnel-source-port', 'ipip'].map((r) => Type.Literal(r)),
          ),
        },
        { description: 'The first ECMP route whose branch depends on what the topology does not hold (seed: the per-boot key).' },
      ),
    ),
    note: Type.String(),
  },
  { description: "Which branch of the ECMP routes on the way the kernel's multipath hash gives this flow." },
);

export const TraceAnswer = Type.Object({
  topology: Type.Object({ name: Type.String(), revision: Type.Integer() }),
  flow: Type.Object({
    src: Type.String(),
    dst: Type.String(),
    protocol: Type.String(),
    srcPort: Type.Optional(Type.Integer()),
    dstPort: Type.Optional(Type.Integer()),
    port: Type.Optional(Type.Integer({ description: 'The same as dstPort.' })),
    size: Type.Optional(Type.Integer()),
    ttl: Type.Integer(),
  }),
  source: Endpoint,
  destination: Endpoint,
  disposition: Disposition,
  summary: Type.String(),
  hops: Type.Optional(Type.Array(AnswerHop, { description: 'The worst path, hop by hop; not with `detail=summary`.' })),
  mtu: Type.Optional(Mtu),
  pathCount: Type.Optional(
    Type.Integer({
      minimum: 2,
      description: `When an ECMP route splits the flow: how many paths were traced (at most ${MAX_PATHS}), listed in \`paths\` or not.`,
    }),
  ),
  paths: Type.Optional(Type.Array(AnswerPath, { description: 'The first of the paths traced, as many as the `paths` parameter asks; not with `detail=summary`.' })),
  pathsOmitted: Type.Optional(
    Type.Integer({ minimum: 1, description: 'How many of the paths traced `paths` leaves out, when the `paths` parameter cut the list.' }),
  ),
  ecmp: Type.Optional(Ecmp),
  notes: Type.Optional(Type.Array(Type.String(), { description: 'Routes on the path that the kernel would refuse or has removed, why a packet to a Service address was not translated, and (a bidirectional batch\'s `return`) that a reply within an allowed connection is not checked against policies; not with `detail=summary`.' })),
});

/** A trace answer at any detail, as the schema says. */
export type BareTraceAnswer = Static<typeof TraceAnswer>;
/** A hop at any detail, as the schema says. */
export type BareHop = Static<typeof AnswerHop>;
export type AnswerHop = Omit<BareHop, 'steps'> & { steps: FullStep[] };
export type AnswerPath = Omit<Static<typeof AnswerPath>, 'hops'> & { hops: AnswerHop[] };
/** The full answer (`detail=full`): every hop, with the prose. */
export type TraceAnswer = Omit<BareTraceAnswer, 'hops' | 'paths' | 'notes'> & { hops: AnswerHop[]; paths?: AnswerPath[]; notes: string[] };
