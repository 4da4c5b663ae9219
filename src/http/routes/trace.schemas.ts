import { Type } from '@sinclair/typebox';
import { TopologyName } from '../../topology/schema.js';

export const TraceParams = Type.Object({ name: TopologyName }, { additionalProperties: false });

export const Port = Type.Integer({ minimum: 1, maximum: 65535 });
export const Family = Type.Union([Type.Literal(4), Type.Literal(6)]);
/** An IP packet's size: from the smallest datagram every IPv4 host must forward to the largest IP length. */
export const Size = Type.Integer({ minimum: 68, maximum: 65535 });

export const TraceQuery = Type.Object(
  {
    from: Type.String({ minLength: 1, maxLength: 253, description: 'An address, a pod (namespace/name, or a bare name when unique), a node or a netns.' }),
    to: Type.String({ minLength: 1, maxLength: 253, description: 'Like from; may also be an address that nobody in the topology owns.' }),
    protocol: Type.Union([Type.Literal('icmp'), Type.Literal('tcp'), Type.Literal('udp')], { default: 'icmp' }),
    port: Type.Optional(Port),
    srcPort: Type.Optional(Port),
    dstPort: Type.Optional(Port),
    family: Type.Optional(Family),
    size: Type.Optional(Size),
    ttl: Type.Integer({ minimum: 1, maximum: 255, default: 64 }),
    revision: Type.Optional(Type.Integer({ minimum: 1 })),
    format: Type.Optional(
      Type.Union(['json', 'text', 'markdown', 'mermaid', 'svg'].map((f) => Type.Literal(f)), {
        description: 'The answer format; overrides Accept (application/json, text/plain, text/markdown, text/vnd.mermaid, image/svg+xml).',
      }),
    ),
  },
  { additionalProperties: false },
);

const Endpoint = Type.Object({ name: Type.String(), kind: Type.String(), netns: Type.Union([Type.String(), Type.Null()]), address: Type.String() });
const Step = Type.Object({ type: Type.String(), explanation: Type.String() }, { additionalProperties: true });
const Hop = Type.Object({
  netns: Type.String(),
  kind: Type.String(),
  node: Type.Optional(Type.String()),
  in: Type.Optional(Type.String()),
  out: Type.Optional(Type.String()),
  steps: Type.Array(Step),
});
const Disposition = Type.Union(
  ['DELIVERED', 'EXITS_NETWORK', 'NO_ROUTE', 'BLACKHOLED', 'UNREACHABLE', 'NEIGHBOR_UNREACHABLE', 'LINK_DOWN', 'FORWARDING_DISABLED', 'LOOP', 'TTL_EXCEEDED'].map(
    (d) => Type.Literal(d),
  ),
);
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
const PathReport = Type.Object({
  disposition: Disposition,
  hops: Type.Array(Hop),
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
  hops: Type.Array(Hop),
  mtu: Type.Optional(Mtu),
  paths: Type.Optional(Type.Array(PathReport)),
  ecmp: Type.Optional(Ecmp),
  notes: Type.Array(Type.String(), { description: 'Routes on the path that the kernel would refuse or has removed.' }),
});
