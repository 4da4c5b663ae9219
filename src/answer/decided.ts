// Which policy decided a cell of the reachability matrix, as the rows, the CSV and the SVG's cell titles say it: the
// engine's decision ids (engine/policy/decisions.ts) named once per decision, not once per cell.
import { Type, type Static } from '@sinclair/typebox';
import type { Decisions } from '../engine/policy/decisions.js';
import { DENIED, type PolicySet } from '../engine/policy/policies.js';
import { KIND_NAMES, NETWORK_POLICY } from '../engine/policy/admin.js';
import type { PolicyStep } from '../engine/trace.js';
import type { DnatStep } from '../engine/service/describe.js';

export const DecidedBy = Type.Object(
  {
    direction: Type.Union([Type.Literal('egress'), Type.Literal('ingress')], { description: "The source pod's egress or the destination pod's ingress." }),
    verdict: Type.Union([Type.Literal('ALLOWED'), Type.Literal('DENIED')]),
    kind: Type.Union([Type.Literal('NetworkPolicy'), Type.Literal('AdminNetworkPolicy'), Type.Literal('BaselineAdminNetworkPolicy')]),
    namespace: Type.Optional(Type.String({ description: "A NetworkPolicy's namespace (the admin kinds have none)." })),
    name: Type.String(),
    rule: Type.Optional(
      Type.Integer({
        description:
          "The deciding rule's index in the policy's ingress or egress list. Absent for a NetworkPolicy denial: the policy " +
          'isolates the pod and no rule of the isolating policies admits the pair (one entry per isolating policy).',
      }),
    ),
  },
  { additionalProperties: false },
);
export type DecidedByDoc = Static<typeof DecidedBy>;

/** What a cell of the matrix says about one entry: `ingress DENIED by NetworkPolicy shop/db-from-web (no rule admits)`. */
export function decidedText(e: DecidedByDoc): string {
  return `${e.direction} ${e.verdict} by ${e.kind} ${e.namespace === undefined ? '' : `${e.namespace}/`}${e.name} ${e.rule === undefined ? '(no rule admits)' : `rule ${e.rule}`}`;
}

/** What a trace's POLICY step says decided its direction, as a matrix cell names it (nothing when no policy isolates). */
export function policyStepDecidedBy(s: PolicyStep): DecidedByDoc[] {
  if (s.verdict !== 'ALLOWED' && s.verdict !== 'DENIED') return [];
  const head = { direction: s.direction, verdict: s.verdict };
  if (s.decidedBy !== undefined) return [{ ...head, kind: s.decidedBy.kind, name: s.decidedBy.name, rule: s.decidedBy.rule }];
  if (s.allowedBy !== undefined) return [{ ...head, kind: 'NetworkPolicy', ...s.allowedBy.policy, rule: s.allowedBy.rule }];
  return s.isolatedBy.map((p) => ({ ...head, kind: 'NetworkPolicy' as const, namespace: p.namespace, name: p.name }));
}

const SERVICE_VERDICTS = ['reject', 'no-local-endpoints', 'source-range'] as const;

/** kube-proxy's rules refusing a packet to a Service, as a cell of the pods × Services matrix names them. */
export const ServiceDecidedBy = Type.Object(
  {
    kind: Type.Literal('Service'),
    verdict: Type.Union([Type.Literal('REJECTED'), Type.Literal('DENIED')]),
    namespace: Type.String(),
    name: Type.String(),
    dnat: Type.Union(
      SERVICE_VERDICTS.map((v) => Type.Literal(v)),
      {
        description:
          "The DNAT step's verdict: `reject`, no usable endpoint (REJECTED: ICMP port unreachable or a TCP reset); " +
          '`no-local-endpoints`, Local traffic policy and no usable endpoint on `node` (DENIED: dropped); `source-range`, ' +
          'the source is outside loadBalancerSourceRanges (DENIED).',
      },
    ),
    node: Type.String({ description: 'Where the rules that decided run: the node (or netns) of the DNAT step.' }),
  },
  { additionalProperties: false },
);
export type ServiceDecidedByDoc = Static<typeof ServiceDecidedBy>;

/** The DNAT step's refusal as a cell names it, or nothing when it sent the packet to an endpoint. */
export function dnatDecidedBy(s: DnatStep): ServiceDecidedByDoc[] {
  if (s.verdict === 'dnat') return [];
  return [{ kind: 'Service', verdict: s.verdict === 'reject' ? 'REJECTED' : 'DENIED', namespace: s.service.namespace, name: s.service.name, dnat: s.verdict, node: s.netns.name }];
}

const SERVICE_TEXT = {
  reject: 'no usable endpoint',
  'no-local-endpoints': 'Local traffic policy and no usable endpoint on',
  'source-range': 'the source is outside loadBalancerSourceRanges',
} as const;

/** `REJECTED by Service default/empty (no usable endpoint)`; `DENIED by Service default/web (… no usable endpoint on node-a)`. */
export function serviceDecidedText(e: ServiceDecidedByDoc): string {
  const why = e.dnat === 'no-local-endpoints' ? `${SERVICE_TEXT[e.dnat]} ${e.node}` : SERVICE_TEXT[e.dnat];
  return `${e.verdict} by Service ${e.namespace}/${e.name} (${why})`;
}

/** The decisions of a matrix's cells by name: an entry list and a sentence per cell id, each made once. */
export class CellPolicies {
  private readonly entries: DecidedByDoc[][] = [];
  private readonly texts: string[] = [];

  constructor(
    private readonly set: PolicySet,
    /** Per cell (i * n + j), an id in `decisions`, or -1. */
    readonly ids: Int32Array,
    private readonly decisions: Decisions,
  ) {}

  /** What decided a cell id (-1: nothing, an empty list). */
  of(id: number): readonly DecidedByDoc[] {
    if (id < 0) return [];
    return (this.entries[id] ??= [this.decisions.egress[id]!, this.decisions.ingress[id]!].flatMap((d) => (d < 0 ? [] : this.entriesOf(d))));
  }

  /** The same as one line (`ingress DENIED by NetworkPolicy shop/db-from-web (no rule admits)`), or ''. */
  text(id: number): string {
    if (id < 0) return '';
    return (this.texts[id] ??= this.of(id).map(decidedText).join('; '));
  }

  private entriesOf(d: number): DecidedByDoc[] {
    const { egress, verdict, tier, policy, rule, pod } = this.decisions.decisions[d]!;
    const head = { direction: egress ? 'egress' : 'ingress', verdict: verdict === DENIED ? 'DENIED' : 'ALLOWED' } as const;
    if (tier !== NETWORK_POLICY) {
      return [{ ...head, kind: KIND_NAMES[tier]!, name: this.set.admin!.policies[policy]!.name, rule }];
    }
    const named = (n: number) => ({ ...head, kind: 'NetworkPolicy' as const, namespace: this.set.policies[n]!.namespace, name: this.set.policies[n]!.name });
    return policy >= 0 ? [{ ...named(policy), rule }] : [...this.set.isolating(egress, pod)].map(named);
  }
}
