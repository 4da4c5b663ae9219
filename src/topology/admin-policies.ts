// The consistency checks of AdminNetworkPolicies and the BaselineAdminNetworkPolicy: what their CRDs' validation refuses
// (one field per subject, peer and port; the BANP's fixed name; port ranges; nodes and networks only as egress peers,
// and never with a named port), at JSON pointers.
import type { AdminPeerDoc, AdminPortDoc, AdminSubjectDoc, ClusterDoc } from './schema.js';
import { checkPrefix, checkSelector, PORT_NAME } from './policies.js';

type Add = (pointer: string, detail: string) => void;

const API_VERSION = 'policy.networking.k8s.io/v1alpha1';

interface AdminRuleDoc {
  readonly from?: readonly AdminPeerDoc[];
  readonly to?: readonly AdminPeerDoc[];
  readonly ports?: readonly AdminPortDoc[];
}

export function checkAdminPolicies(c: ClusterDoc, base: string, add: Add): void {
  const names = new Set<string>();
  (c.adminNetworkPolicies ?? []).forEach((anp, i) => {
    const p = `${base}/adminNetworkPolicies/${i}`;
    header(anp, 'AdminNetworkPolicy', p, add);
    if (names.has(anp.metadata.name)) add(`${p}/metadata/name`, `another AdminNetworkPolicy is also named ${anp.metadata.name}`);
    names.add(anp.metadata.name);
    spec(anp.spec, `${p}/spec`, add);
  });
  (c.baselineAdminNetworkPolicies ?? []).forEach((banp, i) => {
    const p = `${base}/baselineAdminNetworkPolicies/${i}`;
    header(banp, 'BaselineAdminNetworkPolicy', p, add);
    if (banp.metadata.name !== 'default') add(`${p}/metadata/name`, 'the only BaselineAdminNetworkPolicy of a cluster is named default');
    spec(banp.spec, `${p}/spec`, add);
  });
}

function header(doc: { apiVersion?: string; kind?: string }, kind: string, p: string, add: Add): void {
  if (doc.apiVersion !== undefined && doc.apiVersion !== API_VERSION) add(`${p}/apiVersion`, `a ${kind} is ${API_VERSION}`);
  if (doc.kind !== undefined && doc.kind !== kind) add(`${p}/kind`, `the kind is ${kind}`);
}

function spec(s: { subject: AdminSubjectDoc; ingress?: readonly AdminRuleDoc[]; egress?: readonly AdminRuleDoc[] }, p: string, add: Add): void {
  const given = (['namespaces', 'pods'] as const).filter((k) => s.subject[k] !== undefined);
  if (given.length !== 1) add(`${p}/subject`, `a subject gives exactly one of namespaces or pods (it gives ${given.length === 0 ? 'neither' : 'both'})`);
  if (s.subject.namespaces) checkSelector(s.subject.namespaces, `${p}/subject/namespaces`, add);
  if (s.subject.pods) {
    checkSelector(s.subject.pods.namespaceSelector, `${p}/subject/pods/namespaceSelector`, add);
    checkSelector(s.subject.pods.podSelector, `${p}/subject/pods/podSelector`, add);
  }
  s.ingress?.forEach((rule, r) => checkRule(rule, false, `${p}/ingress/${r}`, add));
  s.egress?.forEach((rule, r) => checkRule(rule, true, `${p}/egress/${r}`, add));
}

function checkRule(rule: AdminRuleDoc, egress: boolean, p: string, add: Add): void {
  const field = egress ? 'to' : 'from';
  const peers = (egress ? rule.to : rule.from) ?? [];
  peers.forEach((peer, j) => checkPeer(peer, egress, `${p}/${field}/${j}`, add));
  const outside = peers.some((peer) => peer.nodes !== undefined || peer.networks !== undefined);
  rule.ports?.forEach((port, j) => {
    const pp = `${p}/ports/${j}`;
    const given = (['portNumber', 'namedPort', 'portRange'] as const).filter((k) => port[k] !== undefined);
    if (given.length !== 1) add(pp, `a port gives exactly one of portNumber, namedPort or portRange (it gives ${given.length === 0 ? 'none' : given.join(' and ')})`);
    if (port.namedPort !== undefined) {
      if (!PORT_NAME.test(port.namedPort) || !/[a-z]/.test(port.namedPort)) add(`${pp}/namedPort`, `${JSON.stringify(port.namedPort)} is not a port name (IANA_SVC_NAME)`);
      if (outside) add(`${pp}/namedPort`, 'a rule with nodes or networks peers takes no named port: nodes and networks have no named ports');
    }
    if (port.portRange !== undefined && port.portRange.end <= port.portRange.start) {
      add(`${pp}/portRange/end`, `end ${port.portRange.end} must be greater than start ${port.portRange.start}`);
    }
  });
}

function checkPeer(peer: AdminPeerDoc, egress: boolean, p: string, add: Add): void {
  const given = (['namespaces', 'pods', 'nodes', 'networks'] as const).filter((k) => peer[k] !== undefined);
  // A peer of another kind only (a newer API's, such as domainNames) is taken, and fails closed as the API asks.
  const other = given.length === 0 && Object.keys(peer).length > 0;
  if (given.length !== 1 && !other) add(p, `a peer gives exactly one of namespaces, pods${egress ? ', nodes or networks' : ' (ingress)'} (it gives ${given.length === 0 ? 'none' : given.join(' and ')})`);
  if (!egress) {
    if (peer.nodes !== undefined) add(`${p}/nodes`, 'nodes peers are for egress rules only');
    if (peer.networks !== undefined) add(`${p}/networks`, 'networks peers are for egress rules only');
  }
  if (peer.namespaces) checkSelector(peer.namespaces, `${p}/namespaces`, add);
  if (peer.pods) {
    checkSelector(peer.pods.namespaceSelector, `${p}/pods/namespaceSelector`, add);
    checkSelector(peer.pods.podSelector, `${p}/pods/podSelector`, add);
  }
  if (peer.nodes) checkSelector(peer.nodes, `${p}/nodes`, add);
  peer.networks?.forEach((cidr, k) => checkPrefix(cidr, `${p}/networks/${k}`, add));
}
