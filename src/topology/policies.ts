// The consistency checks of a cluster's namespaces, pod labels and ports, and NetworkPolicies: what the API server's
// validation refuses (apimachinery's label selector rules, networking's NetworkPolicy rules), at JSON pointers.
import { Prefix, parseAddrBits } from '../engine/prefix.js';
import type { ClusterDoc, LabelSelectorDoc, PolicyPeerDoc, PolicyPortDoc } from './schema.js';
import { checkAdminPolicies } from './admin-policies.js';

type Add = (pointer: string, detail: string) => void;

export const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export function checkPolicies(c: ClusterDoc, base: string, add: Add): void {
  const namespaces = new Set<string>();
  (c.namespaces ?? []).forEach((ns, i) => {
    if (namespaces.has(ns.name)) add(`${base}/namespaces/${i}/name`, `another namespace is also named ${ns.name}`);
    namespaces.add(ns.name);
    const given = ns.labels?.['kubernetes.io/metadata.name'];
    if (given !== undefined && given !== ns.name) {
      add(`${base}/namespaces/${i}/labels/kubernetes.io~1metadata.name`, `the API server sets kubernetes.io/metadata.name to the namespace's name, ${ns.name}`);
    }
  });
  // A name repeated across a pod's containers is not refused: NetworkPolicy takes the first port of that name.
  (c.pods ?? []).forEach((pod, i) => {
    (pod.ports ?? []).forEach((port, j) => {
      if (port.name === undefined) return;
      if (!PORT_NAME.test(port.name) || !/[a-z]/.test(port.name) || port.name.includes('--')) {
        add(`${base}/pods/${i}/ports/${j}/name`, `${JSON.stringify(port.name)} is not a port name (IANA_SVC_NAME: lowercase letters, digits and "-", at least one letter)`);
      }
    });
  });
  const policies = new Set<string>();
  (c.networkPolicies ?? []).forEach((np, i) => {
    const p = `${base}/networkPolicies/${i}`;
    if (np.apiVersion !== undefined && np.apiVersion !== 'networking.k8s.io/v1') add(`${p}/apiVersion`, 'a NetworkPolicy is networking.k8s.io/v1');
    if (np.kind !== undefined && np.kind !== 'NetworkPolicy') add(`${p}/kind`, 'the kind is NetworkPolicy');
    const id = `${np.metadata.namespace ?? 'default'}/${np.metadata.name}`;
    if (policies.has(id)) add(`${p}/metadata/name`, `another NetworkPolicy is also named ${id}`);
    policies.add(id);
    checkSelector(np.spec.podSelector, `${p}/spec/podSelector`, add);
    const types = np.spec.policyTypes ?? [];
    if (new Set(types).size !== types.length) add(`${p}/spec/policyTypes`, 'a policy type is listed twice');
    np.spec.ingress?.forEach((rule, r) => {
      rule.from?.forEach((peer, j) => checkPeer(peer, `${p}/spec/ingress/${r}/from/${j}`, add));
      rule.ports?.forEach((port, j) => checkPort(port, `${p}/spec/ingress/${r}/ports/${j}`, add));
    });
    np.spec.egress?.forEach((rule, r) => {
      rule.to?.forEach((peer, j) => checkPeer(peer, `${p}/spec/egress/${r}/to/${j}`, add));
      rule.ports?.forEach((port, j) => checkPort(port, `${p}/spec/egress/${r}/ports/${j}`, add));
    });
  });
  checkAdminPolicies(c, base, add);
}

export function checkSelector(s: LabelSelectorDoc, p: string, add: Add): void {
  s.matchExpressions?.forEach((e, i) => {
    const values = e.values ?? [];
    if ((e.operator === 'In' || e.operator === 'NotIn') && values.length === 0) {
      add(`${p}/matchExpressions/${i}/values`, `operator ${e.operator} needs at least one value`);
    }
    if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && values.length > 0) {
      add(`${p}/matchExpressions/${i}/values`, `operator ${e.operator} takes no values`);
    }
  });
}

function checkPeer(peer: PolicyPeerDoc, p: string, add: Add): void {
  if (peer.ipBlock !== undefined) {
    if (peer.podSelector !== undefined || peer.namespaceSelector !== undefined) {
      add(`${p}/ipBlock`, 'an ipBlock goes alone: a peer with an ipBlock has no podSelector or namespaceSelector');
    }
    const cidr = checkPrefix(peer.ipBlock.cidr, `${p}/ipBlock/cidr`, add);
    peer.ipBlock.except?.forEach((text, i) => {
      const e = checkPrefix(text, `${p}/ipBlock/except/${i}`, add);
      if (cidr && e && !(cidr.containsPrefix(e) && e.bits > cidr.bits)) add(`${p}/ipBlock/except/${i}`, `${e} is not strictly inside the ipBlock's cidr ${cidr}`);
    });
    return;
  }
  if (peer.podSelector === undefined && peer.namespaceSelector === undefined) {
    add(p, 'a peer gives a podSelector, a namespaceSelector or an ipBlock');
  }
  if (peer.podSelector) checkSelector(peer.podSelector, `${p}/podSelector`, add);
  if (peer.namespaceSelector) checkSelector(peer.namespaceSelector, `${p}/namespaceSelector`, add);
}

function checkPort(port: PolicyPortDoc, p: string, add: Add): void {
  if (typeof port.port === 'string' && (!PORT_NAME.test(port.port) || !/[a-z]/.test(port.port))) {
    add(`${p}/port`, `${JSON.stringify(port.port)} is not a port name (IANA_SVC_NAME)`);
  }
  if (port.endPort !== undefined) {
    if (typeof port.port !== 'number') add(`${p}/endPort`, 'endPort goes with a numeric port');
    else if (port.endPort < port.port) add(`${p}/endPort`, `endPort ${port.endPort} is below port ${port.port}`);
  }
}

export function checkPrefix(text: string, p: string, add: Add): Prefix | undefined {
  try {
    // Kubernetes accepts host bits here (net.ParseCIDR); the verdict clears them.
    const { addr, bits } = parseAddrBits(text, 'CIDR');
    return Prefix.of(addr, bits);
  } catch (err) {
    add(p, (err as Error).message);
    return undefined;
  }
}
