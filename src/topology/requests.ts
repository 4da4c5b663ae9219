// The bodies of the trace requests that a worker may have to read itself (a what-if larger than a megabyte reaches it
// unread): their schemas live below the HTTP layer, which re-exports them next to its routes.
import { Type, type Static } from '@sinclair/typebox';
import { Cluster, Fabric, Route, TopologyName } from './schema.js';

/** Revisions count up from 1; past 2^53 a number is no longer exact (and past int8 no longer a revision). */
export const MAX_REVISION = Number.MAX_SAFE_INTEGER;

export const Port = Type.Integer({ minimum: 1, maximum: 65535 });
/**
 * A destination port by number, or by name: the name a Service gives it (`to=svc/…`), or else the name the destination
 * pod's container gives it (NetworkPolicy's named ports).
 */
export const PortOrName = Type.Union([Port, Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' })]);
export const Protocol = Type.Union([Type.Literal('icmp'), Type.Literal('tcp'), Type.Literal('udp'), Type.Literal('sctp')]);
/** `endpoint`: the Service endpoint to trace when kube-proxy would choose among several. */
export const ServiceEndpointParam = Type.String({ minLength: 2, maxLength: 64 });
export const Family = Type.Union([Type.Literal(4), Type.Literal(6)]);
/** An IP packet's size: from the smallest datagram every IPv4 host must forward to the largest IP length. */
export const Size = Type.Integer({ minimum: 68, maximum: 65535 });

export const Flow = Type.Object(
  {
    from: Type.String({ minLength: 1, maxLength: 253 }),
    to: Type.String({ minLength: 1, maxLength: 253 }),
    protocol: Type.Optional(Protocol),
    port: Type.Optional(PortOrName),
    srcPort: Type.Optional(Port),
    dstPort: Type.Optional(Port),
    family: Type.Optional(Family),
    size: Type.Optional(Size),
    ttl: Type.Optional(Type.Integer({ minimum: 1, maximum: 255 })),
    endpoint: Type.Optional(ServiceEndpointParam),
    // As the single trace's: a client outside the model entering at a node or netns, and a node's source address.
    enter: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'With `from` an address outside the model: the node or netns its packet enters (as the single trace\'s `enter`).' })),
    src: Type.Optional(Type.String({ minLength: 2, maxLength: 64, description: 'The source address a node or netns `from` sends from (as the single trace\'s `src`).' })),
  },
  { additionalProperties: false },
);

const Change = Type.Union([
  Type.Object({ op: Type.Literal('add-route'), netns: Type.String(), route: Route }, { additionalProperties: false }),
  Type.Object(
    { op: Type.Literal('delete-route'), netns: Type.String(), dst: Type.String(), metric: Type.Optional(Type.Integer({ minimum: 0 })) },
    { additionalProperties: false },
  ),
  Type.Object({ op: Type.Union([Type.Literal('link-down'), Type.Literal('link-up')]), netns: Type.String(), link: Type.String() }, { additionalProperties: false }),
  Type.Object({ op: Type.Literal('forwarding'), netns: Type.String(), enabled: Type.Boolean() }, { additionalProperties: false }),
]);

/** Flows in one batch or what-if: a bound on the work and the answer of one request (413 beyond). */
export const MAX_FLOWS = 10_000;

export const BatchBody = Type.Object(
  {
    flows: Type.Array(Flow, { minItems: 1, description: `At most ${MAX_FLOWS} flows (413 beyond).` }),
    bidirectional: Type.Optional(Type.Boolean({ description: 'Also trace every flow back, and flag asymmetric or failing returns.' })),
    revision: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_REVISION })),
  },
  { additionalProperties: false },
);

export type BatchBodyDoc = Static<typeof BatchBody>;

export const WhatIfBody = Type.Object(
  {
    topology: Type.Optional(
      Type.Object({ cluster: Type.Optional(Cluster), fabric: Type.Optional(Fabric) }, { additionalProperties: false, description: 'A topology to trace without storing it.' }),
    ),
    base: Type.Optional(TopologyName),
    revision: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_REVISION })),
    patch: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'An RFC 7396 JSON merge patch of the base document ({cluster: …} or {fabric: …}).' })),
    changes: Type.Optional(Type.Array(Change, { description: 'Route and link changes applied to the fabric the base compiles to.' })),
    flows: Type.Optional(Type.Array(Flow, { minItems: 1 })),
    bidirectional: Type.Optional(Type.Boolean()),
    compare: Type.Optional(
      Type.Object(
        {
          namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
          node: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
          protocol: Type.Optional(Protocol),
          port: Type.Optional(Port),
        },
        {
          additionalProperties: false,
          description:
            'With base: compare every ordered pair of the pods (of `namespace` or `node`) before and after the change, as `GET …/diff` ' +
            'compares two revisions, for `protocol` and `port` (default ICMP echo). At most 5,000 pods (413 beyond).',
        },
      ),
    ),
  },
  { additionalProperties: false },
);

export type WhatIfBodyDoc = Static<typeof WhatIfBody>;
