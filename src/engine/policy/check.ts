// NetworkPolicy (and the admin tiers around it, admin.ts) at the pod's edge, as the walk meets it: the egress check where the packet enters the source pod's node
// (after kube-proxy's DNAT there, so against the endpoint), the ingress check where it reaches the destination pod (with
// the source it has then, after SNAT). Each records a POLICY entry (record.ts) and says whether the packet is denied.
// Integers only: the peer is found through the address owners, the verdict through the compiled sets (policies.ts).
import type { Addr } from '../addr.js';
import type { Fabric } from '../fabric.js';
import type { Recorder } from '../trace/record.js';
import type { Flow } from '../trace/model.js';
import { ALLOWED, DENIED, ICMP, NOT_ISOLATED, SCTP, TCP, UDP, Verdict, type PolicySet } from './policies.js';
import { ADMIN, ALLOW, BASELINE, DENY, NETWORK_POLICY, NO_MATCH, PASS } from './admin.js';

export class PolicyCheck {
  private readonly v = new Verdict();

  /** Egress from pod `subject` to `dst`, whose first owner entry is `dstOwner`, at port `port` (after DNAT). True: denied. */
  egress(fabric: Fabric, set: PolicySet, record: Recorder, subject: number, dst: Addr, dstOwner: number, flow: Flow, port: number): boolean {
    const peerNetns = ownerNetns(fabric, dstOwner);
    return this.check(set, record, true, subject, dst, peerNetns, flow, port);
  }

  /** Ingress into pod `subject` from `src` at port `port`, both as NAT has left them. True: denied. */
  ingress(fabric: Fabric, set: PolicySet, record: Recorder, subject: number, src: Addr, flow: Flow, port: number): boolean {
    const peerNetns = ownerNetns(fabric, fabric.owners.first(src));
    return this.check(set, record, false, subject, src, peerNetns, flow, port);
  }

  private check(set: PolicySet, record: Recorder, egress: boolean, subject: number, peer: Addr, peerNetns: number, flow: Flow, port: number): boolean {
    const v = this.v;
    v.policy = v.rule = v.peer = v.port = v.passPolicy = v.passRule = -1;
    v.tier = NETWORK_POLICY;
    const peerPod = peerNetns >= 0 ? set.podOfNetns[peerNetns]! : -1;
    const protocol = protocolOf(flow);
    const admin = set.admin;
    // KEP-2091's order: the AdminNetworkPolicies first (Allow and Deny final, Pass on to NetworkPolicy), NetworkPolicy,
    // then the BaselineAdminNetworkPolicy for a pod that no NetworkPolicy isolates.
    const action = admin === undefined ? NO_MATCH : admin.evaluate(v, ADMIN, egress, subject, peerPod, peer, protocol, port);
    let verdict: number;
    if (action === ALLOW || action === DENY) {
      v.tier = ADMIN;
      verdict = action === ALLOW ? ALLOWED : DENIED;
    } else {
      if (action === PASS) {
        v.passPolicy = v.policy;
        v.passRule = v.rule;
        v.policy = v.rule = v.peer = v.port = -1;
      }
      verdict = set.evaluate(v, egress, subject, peerPod, peer, peerNetns, protocol, port);
      if (verdict === NOT_ISOLATED && admin !== undefined) {
        const baseline = admin.evaluate(v, BASELINE, egress, subject, peerPod, peer, protocol, port);
        if (baseline !== NO_MATCH) {
          v.tier = BASELINE;
          verdict = baseline === ALLOW ? ALLOWED : DENIED;
        }
      }
    }
    record.policy(egress, verdict, subject, peerPod, v.policy, v.rule, v.peer, v.port, v.tier, v.passPolicy, v.passRule);
    return verdict === DENIED;
  }
}

/** The netns of the first owner of an address that is in the model, or -1. */
function ownerNetns(fabric: Fabric, first: number): number {
  const { owners } = fabric;
  for (let o = first; o >= 0; o = owners.next(o)) {
    const ns = owners.netns(o);
    if (ns >= 0) return ns;
  }
  return -1;
}

export function protocolOf(flow: Flow): number {
  switch (flow.protocol) {
    case 'tcp':
      return TCP;
    case 'udp':
      return UDP;
    case 'sctp':
      return SCTP;
    default:
      return ICMP;
  }
}
