// Which policy decided a cell of the reachability matrix, as the rows, the CSV and the SVG's cell titles say it: the
// engine's decision ids (engine/policy/decisions.ts) named once per decision, not once per cell.
import { Type, type Static } from '@sinclair/typebox';
import type { Decisions } from '../engine/policy/decisions.js';
import { DENIED, type PolicySet } from '../engine/policy/policies.js';
import { KIND_NAMES, NETWORK_POLICY } from '../engine/policy/admin.js';

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
    return (this.texts[id] ??= this.of(id)
      .map((e) => `${e.direction} ${e.verdict} by ${e.kind} ${e.namespace === undefined ? '' : `${e.namespace}/`}${e.name} ${e.rule === undefined ? '(no rule admits)' : `rule ${e.rule}`}`)
      .join('; '));
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
