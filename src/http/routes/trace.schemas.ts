import { Type } from '@sinclair/typebox';
import { TopologyName } from '../../topology/schema.js';

export const TraceParams = Type.Object({ name: TopologyName }, { additionalProperties: false });

export const TraceQuery = Type.Object(
  {
    from: Type.String({ minLength: 1, maxLength: 253, description: 'An address, a pod (namespace/name, or a bare name when unique), a node or a netns.' }),
    to: Type.String({ minLength: 1, maxLength: 253, description: 'Like from; may also be an address that nobody in the topology owns.' }),
    protocol: Type.Union([Type.Literal('icmp'), Type.Literal('tcp'), Type.Literal('udp')], { default: 'icmp' }),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
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
const PathReport = Type.Object({ disposition: Disposition, hops: Type.Array(Hop), summary: Type.String(), choices: Type.Array(Type.Integer()) });

export const TraceAnswer = Type.Object({
  topology: Type.Object({ name: Type.String(), revision: Type.Integer() }),
  flow: Type.Object({
    src: Type.String(),
    dst: Type.String(),
    protocol: Type.String(),
    port: Type.Optional(Type.Integer()),
    ttl: Type.Integer(),
  }),
  source: Endpoint,
  destination: Endpoint,
  disposition: Disposition,
  summary: Type.String(),
  hops: Type.Array(Hop),
  paths: Type.Optional(Type.Array(PathReport)),
  notes: Type.Array(Type.String(), { description: 'Routes on the path that the kernel would refuse or has removed.' }),
});
