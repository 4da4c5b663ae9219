// The POLICY step of a trace answer: its schema, and the step and sentence built from the engine's PolicyStep.
import { Type, type Static, type TProperties } from '@sinclair/typebox';
import type { AdminRuleRef, PolicyRuleRef, PolicyStep as EnginePolicyStep } from '../engine/trace.js';

const PolicyRef = Type.Object({ namespace: Type.String(), name: Type.String() }, { additionalProperties: false });
const RuleRef = {
  policy: PolicyRef,
  rule: Type.Integer({ description: "The rule's index in the policy's ingress or egress list." }),
  peer: Type.Optional(Type.String({ description: 'The peer of the rule that matched (absent: the rule has no peers, so every peer matches).' })),
  peerIndex: Type.Optional(Type.Integer()),
  port: Type.Optional(Type.String({ description: 'The port entry that matched (absent: the rule has no ports, so every port matches).' })),
  portIndex: Type.Optional(Type.Integer()),
};

const AdminRule = <T extends TProperties>(description: string, more: T = {} as T) =>
  Type.Object(
    {
      kind: Type.Union([Type.Literal('AdminNetworkPolicy'), Type.Literal('BaselineAdminNetworkPolicy')]),
      name: Type.String(),
      priority: Type.Optional(Type.Integer({ description: "An AdminNetworkPolicy's priority (lower numbers first)." })),
      rule: Type.Integer({ description: "The rule's index in the policy's ingress or egress list." }),
      ruleName: Type.Optional(Type.String()),
      action: Type.Union([Type.Literal('Allow'), Type.Literal('Deny'), Type.Literal('Pass')]),
      peer: Type.String({ description: 'The peer of the rule that matched.' }),
      peerIndex: Type.Integer(),
      port: Type.Optional(Type.String({ description: 'The port entry that matched (absent: the rule has no ports, so every port matches).' })),
      portIndex: Type.Optional(Type.Integer()),
      ...more,
    },
    { additionalProperties: false, description },
  );

export const PolicyStepSchema = Type.Object(
  {
    type: Type.Literal('POLICY'),
    explanation: Type.Optional(Type.String({ description: 'One sentence saying what the kernel does here, and why. Only with `detail=full` (the default).' })),
    direction: Type.Union([Type.Literal('ingress'), Type.Literal('egress')]),
    verdict: Type.Union([Type.Literal('ALLOWED'), Type.Literal('DENIED'), Type.Literal('NOT_ISOLATED'), Type.Literal('FROM_NODE')], {
      description:
        'NOT_ISOLATED: no NetworkPolicy selects the pod for this direction, so everything passes. FROM_NODE: the pod is ' +
        'isolated, but the packet comes from its own node, which a pod cannot block (as Kubernetes documents).',
    }),
    pod: Type.String({ description: 'The pod the policies are about: the source for egress, the destination for ingress.' }),
    peer: Type.String({ description: "The other end's address: the destination for egress (after Service DNAT), the source for ingress (after SNAT)." }),
    peerPod: Type.Optional(Type.String({ description: 'The pod that has the peer address, if one does.' })),
    protocol: Type.Union([Type.Literal('TCP'), Type.Literal('UDP'), Type.Literal('SCTP'), Type.Literal('ICMP')]),
    port: Type.Optional(Type.Integer()),
    isolatedBy: Type.Array(PolicyRef, { description: 'Every NetworkPolicy that selects the pod for this direction.' }),
    allowedBy: Type.Optional(Type.Object(RuleRef, { additionalProperties: false, description: 'ALLOWED: the rule that admits the connection.' })),
    closest: Type.Optional(
      Type.Object(
        { ...RuleRef, unmet: Type.Array(Type.String(), { description: 'What the connection does not meet: the peer (namespace labels, pod labels, ipBlock) and the port.' }) },
        { additionalProperties: false, description: 'DENIED: the rule of the isolating policies that misses by the fewest parts.' },
      ),
    ),
    decidedBy: Type.Optional(
      AdminRule(
        'The AdminNetworkPolicy (evaluated before NetworkPolicy) or BaselineAdminNetworkPolicy (after it, for a pod no ' +
          'NetworkPolicy isolates) rule whose Allow or Deny decided. Absent: NetworkPolicy or the default decided.',
      ),
    ),
    passedBy: Type.Optional(AdminRule('The AdminNetworkPolicy rule whose Pass handed the connection on to NetworkPolicy.')),
    closestAdmin: Type.Optional(
      AdminRule(
        'DENIED by an AdminNetworkPolicy or BaselineAdminNetworkPolicy rule: the Allow or Pass rule evaluated before it ' +
          '(earlier policies of its tier by priority, earlier rules of its own) that misses by the fewest parts, with its closest peer.',
        { unmet: Type.Array(Type.String(), { description: 'What the connection does not meet: the peer (namespace labels, pod labels, nodes, networks) and the port.' }) },
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      "The policies' verdict at the pod's edge (AdminNetworkPolicy, NetworkPolicy, BaselineAdminNetworkPolicy, in that " +
      'order): egress as the packet leaves the source pod, ingress as it reaches the destination pod.',
  },
);

type Answer = Static<typeof PolicyStepSchema>;

const refJson = (r: PolicyRuleRef) => ({
  policy: r.policy,
  rule: r.rule,
  ...(r.peer !== undefined ? { peer: r.peer, peerIndex: r.peerIndex! } : {}),
  ...(r.port !== undefined ? { port: r.port, portIndex: r.portIndex! } : {}),
});

export function policyAnswer(step: EnginePolicyStep, prose: boolean): Answer {
  return {
    type: 'POLICY',
    ...(prose ? { explanation: policyText(step) } : {}),
    direction: step.direction,
    verdict: step.verdict,
    pod: step.pod,
    peer: step.peer.toString(),
    ...(step.peerPod !== undefined ? { peerPod: step.peerPod } : {}),
    protocol: step.protocol,
    ...(step.port !== undefined ? { port: step.port } : {}),
    isolatedBy: step.isolatedBy.map((p) => ({ ...p })),
    ...(step.allowedBy ? { allowedBy: refJson(step.allowedBy) } : {}),
    ...(step.closest ? { closest: { ...refJson(step.closest), unmet: [...step.closest.unmet] } } : {}),
    ...(step.decidedBy ? { decidedBy: adminJson(step.decidedBy) } : {}),
    ...(step.passedBy ? { passedBy: adminJson(step.passedBy) } : {}),
    ...(step.closestAdmin ? { closestAdmin: { ...adminJson(step.closestAdmin), unmet: [...step.closestAdmin.unmet] } } : {}),
  };
}

const adminJson = (r: AdminRuleRef) => ({
  kind: r.kind,
  name: r.name,
  ...(r.priority !== undefined ? { priority: r.priority } : {}),
  rule: r.rule,
  ...(r.ruleName !== undefined ? { ruleName: r.ruleName } : {}),
  action: r.action,
  peer: r.peer,
  peerIndex: r.peerIndex,
  ...(r.port !== undefined ? { port: r.port, portIndex: r.portIndex! } : {}),
});

/** `AdminNetworkPolicy sre-deny (priority 10) egress rule 0 "deny-to-db"`. */
export function adminRuleText(r: AdminRuleRef, direction: string): string {
  const priority = r.priority !== undefined ? ` (priority ${r.priority})` : '';
  return `${r.kind} ${r.name}${priority} ${direction} rule ${r.rule}${r.ruleName !== undefined ? ` "${r.ruleName}"` : ''}`;
}

const name = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;

export function policyText(s: EnginePolicyStep): string {
  const peer = s.peerPod ?? s.peer.toString();
  const what = `${s.protocol}${s.port !== undefined ? `/${s.port}` : ''}`;
  const conn = s.direction === 'egress' ? `${s.pod} → ${peer} (${what})` : `${peer} → ${s.pod} (${what})`;
  const d = s.decidedBy;
  if (d !== undefined) {
    const matched = [`peer ${d.peer}`, d.port === undefined ? 'any port' : `port ${d.port}`].join(', ');
    const tier =
      d.kind === 'AdminNetworkPolicy'
        ? 'an AdminNetworkPolicy decides before any NetworkPolicy'
        : `no AdminNetworkPolicy decided and no NetworkPolicy isolates ${s.pod} for ${s.direction}, so the baseline decides`;
    const passed = s.passedBy !== undefined ? `${adminRuleText(s.passedBy, s.direction)} passed it on; ` : '';
    const c = s.closestAdmin;
    const closest = c === undefined ? '' : `; the closest ${c.action} rule before it, ${adminRuleText(c, s.direction)}, does not match: ${c.unmet.join('; ')}`;
    return `${s.direction}: ${conn} is ${d.action === 'Allow' ? 'allowed' : 'denied'} by ${adminRuleText(d, s.direction)} (${matched}): ${passed}${tier}${closest}`;
  }
  const text = networkPolicyText(s, peer, conn);
  return s.passedBy === undefined ? text : `${text} (${adminRuleText(s.passedBy, s.direction)} passed it on to NetworkPolicy)`;
}

function networkPolicyText(s: EnginePolicyStep, peer: string, conn: string): string {
  switch (s.verdict) {
    case 'NOT_ISOLATED':
      return `${s.direction}: no NetworkPolicy selects ${s.pod} for ${s.direction}, so ${conn} is allowed`;
    case 'FROM_NODE':
      return (
        `ingress: ${s.pod} is isolated by ${s.isolatedBy.map(name).join(', ')} and no rule admits ${peer}, but ${peer} is ` +
        `${s.pod}'s own node, which Kubernetes documents a pod cannot block (kubelet probes); most plugins allow it`
      );
    case 'ALLOWED': {
      const a = s.allowedBy!;
      const parts = [a.peer === undefined ? 'any peer' : `peer ${a.peer}`, a.port === undefined ? 'any port' : `port ${a.port}`];
      return `${s.direction}: ${conn} is allowed by ${name(a.policy)} ${s.direction} rule ${a.rule} (${parts.join(', ')})`;
    }
    case 'DENIED': {
      const c = s.closest;
      const closest =
        c === undefined
          ? `they have no ${s.direction} rules at all (deny all)`
          : `the closest rule, ${name(c.policy)} ${s.direction} rule ${c.rule}, does not match: ${c.unmet.join('; ')}`;
      return `${s.direction}: ${conn} is denied: ${s.pod} is isolated for ${s.direction} by ${s.isolatedBy.map(name).join(', ')} and no rule admits it; ${closest}`;
    }
  }
}
