// A POLICY entry of a walk's record (record.ts) decoded into the step a person reads: the policies by name, the rule
// that allowed, or for a denial the rule that came closest and what it misses (explain.ts).
import type { Addr } from '../addr.js';
import type { AdminRuleRef, Flow, PolicyRef, PolicyRuleRef, PolicyStep } from '../trace/model.js';
import { closestAdminRule, closestRule, peerText, portText } from './explain.js';
import { ALLOWED, DENIED, FROM_NODE, PROTOCOL_NAMES, type PolicySet } from './policies.js';
import { protocolOf } from './check.js';
import { ACTION_NAMES, ADMIN, BASELINE, KIND_NAMES, type AdminPolicies } from './admin.js';
import { adminPeerText, adminPortText } from './explain.js';

const VERDICTS = { [ALLOWED]: 'ALLOWED', [DENIED]: 'DENIED', [FROM_NODE]: 'FROM_NODE' } as const;

/**
 * The operands of a POLICY entry: direction verdict pod peerPod policy rule peer port tier passPolicy passRule; `port`
 * as NAT has left it.
 */
export function policyStep(set: PolicySet, operands: readonly number[], at: number, peer: Addr, flow: Flow, port: number | undefined): PolicyStep {
  const egress = operands[at] === 1;
  const verdict = operands[at + 1]!;
  const pod = operands[at + 2]!;
  const peerPod = operands[at + 3]!;
  const [policy, rule, peerIndex, portIndex] = [operands[at + 4]!, operands[at + 5]!, operands[at + 6]!, operands[at + 7]!];
  const protocol = protocolOf(flow);
  const ref = (n: number): PolicyRef => ({ namespace: set.policies[n]!.namespace, name: set.policies[n]!.name });
  const ruleRef = (n: number, r: number, pe: number, po: number): PolicyRuleRef => {
    const doc = set.policies[n]!.doc.spec;
    const ruleDoc = egress ? doc.egress![r]! : doc.ingress![r]!;
    const peers = (egress ? (ruleDoc as { to?: [] }).to : (ruleDoc as { from?: [] }).from) ?? [];
    return {
      policy: ref(n),
      rule: r,
      peer: pe >= 0 ? peerText(peers[pe]!) : undefined,
      peerIndex: pe >= 0 ? pe : undefined,
      port: po >= 0 ? portText(ruleDoc.ports![po]!) : undefined,
      portIndex: po >= 0 ? po : undefined,
    };
  };
  const [tier, passPolicy, passRule] = [operands[at + 8]!, operands[at + 9]!, operands[at + 10]!];
  const admin = tier === ADMIN || tier === BASELINE;
  const denied = { egress, subject: pod, peerPod, peerAddr: peer, protocol, port: port ?? 0 };
  const closest = verdict === DENIED && !admin ? closestRule(set, denied) : undefined;
  const closestAdmin = verdict === DENIED && admin ? closestAdminRule(set, denied, tier, policy, rule) : undefined;
  return {
    type: 'POLICY',
    direction: egress ? 'egress' : 'ingress',
    verdict: VERDICTS[verdict as keyof typeof VERDICTS] ?? 'NOT_ISOLATED',
    pod: set.pods[pod]!.key,
    peer,
    peerPod: peerPod >= 0 ? set.pods[peerPod]!.key : undefined,
    protocol: PROTOCOL_NAMES[protocol]!,
    port,
    isolatedBy: [...set.isolating(egress, pod)].map(ref),
    allowedBy: verdict === ALLOWED && !admin ? ruleRef(policy, rule, peerIndex, portIndex) : undefined,
    closest: closest === undefined ? undefined : { ...ruleRef(closest.policy, closest.rule, -1, -1), unmet: closest.unmet },
    ...(admin ? { decidedBy: adminRuleRef(set.admin!, egress, policy, rule, peerIndex, portIndex) } : {}),
    ...(passPolicy >= 0 ? { passedBy: adminRuleRef(set.admin!, egress, passPolicy, passRule, -1, -1) } : {}),
    ...(closestAdmin !== undefined
      ? { closestAdmin: { ...adminRuleRef(set.admin!, egress, closestAdmin.policy, closestAdmin.rule, closestAdmin.peer, -1), unmet: closestAdmin.unmet } }
      : {}),
  };
}

/** An admin rule by kind, name and index, with the peer and port entry that matched (the first peer for a Pass). */
function adminRuleRef(admin: AdminPolicies, egress: boolean, n: number, r: number, pe: number, po: number): AdminRuleRef {
  const policy = admin.policies[n]!;
  const doc = (egress ? policy.doc.spec.egress : policy.doc.spec.ingress)![r]!;
  const peers = (egress ? doc.to : doc.from) ?? [];
  return {
    kind: KIND_NAMES[policy.tier] as AdminRuleRef['kind'],
    name: policy.name,
    priority: policy.tier === ADMIN ? policy.priority : undefined,
    rule: r,
    ruleName: doc.name || undefined,
    action: ACTION_NAMES[(egress ? policy.egress : policy.ingress)[r]!.action]!,
    peer: adminPeerText(peers[Math.max(pe, 0)]!),
    peerIndex: Math.max(pe, 0),
    port: po >= 0 ? adminPortText(doc.ports![po]!) : undefined,
    portIndex: po >= 0 ? po : undefined,
  };
}
