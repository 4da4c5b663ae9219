// The wire shape of a trace answer: what the trace route answers in JSON, what the batch and what-if answers hold per
// flow, and what every renderer draws from. One schema, so a text line, a diagram and the JSON tell the same story.
import { Type, type Static } from '@sinclair/typebox';
import { AnswerStep, Disposition } from './steps.js';

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
    explanation: Type.Optional(Type.String({ description: 'With size: whether it fits, and what Linux does with a packet that does not.' })),
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
    path: Type.Union([Type.Integer(), Type.Null()], { description: 'The index into paths of the branch the kernel takes; null when unknown.' }),
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
  hops: Type.Array(AnswerHop),
  mtu: Type.Optional(Mtu),
  paths: Type.Optional(Type.Array(AnswerPath)),
  ecmp: Type.Optional(Ecmp),
  notes: Type.Array(Type.String(), { description: 'Routes on the path that the kernel would refuse or has removed.' }),
});

export type TraceAnswer = Static<typeof TraceAnswer>;
export type AnswerHop = Static<typeof AnswerHop>;
export type AnswerPath = Static<typeof AnswerPath>;
