// The data paths of the managed clouds, of kind, and of OpenShift, as their objects tell them: the nodes' providerID
// (aws:///, azure:///, gce://), the labels the clouds put on nodes, and the agent pods of their CNI plugins. These
// plugins write no node annotation of their own that says how they route, so the signs are read together: on AWS and
// Azure a node with a pod CIDR is routed by the cloud's route table (kubenet), one without holds its pods' VPC addresses.
import type { CniDoc } from '../../topology/schema.js';
import { plural } from '../warnings.js';
import type { KubeNodeDoc, KubePodDoc, Located } from './schema.js';

export interface CloudDetection {
  cni: CniDoc | undefined;
  detectedFrom: string;
  at: string;
  evidence: string[];
  /** A data path recognised that cannot be modelled faithfully yet (OVN-Kubernetes, OpenShift SDN). */
  unsupported?: string;
  warnings: { code: string; detail: string; at: string; example: string }[];
}

/** Agent pods, by namespace and name prefix. */
const AGENTS: { name: RegExp; namespaces: readonly string[]; agent: Agent }[] = [
  { name: /^aws-node-/, namespaces: ['kube-system'], agent: 'aws-node' },
  { name: /^azure-cns-/, namespaces: ['kube-system'], agent: 'azure-cns' },
  { name: /^anetd-/, namespaces: ['kube-system'], agent: 'anetd' },
  { name: /^kindnet-/, namespaces: ['kube-system'], agent: 'kindnet' },
  { name: /^ovnkube-(node|master|controller|control-plane)-/, namespaces: ['openshift-ovn-kubernetes', 'ovn-kubernetes', 'kube-system'], agent: 'ovnkube' },
  { name: /^sdn-/, namespaces: ['openshift-sdn'], agent: 'openshift-sdn' },
];
type Agent = 'aws-node' | 'azure-cns' | 'anetd' | 'kindnet' | 'ovnkube' | 'openshift-sdn';

const OVN_NODE_SUBNETS = 'k8s.ovn.org/node-subnets';
/** AKS's node labels: the network plugin (azure, kubenet, none), and Azure CNI overlay. */
const AKS_NETWORK_PLUGIN = 'kubernetes.azure.com/network-plugin';
const AKS_OVERLAY = ['kubernetes.azure.com/azure-cni-overlay', 'kubernetes.azure.com/network-plugin-mode'] as const;
const GKE_NODEPOOL = 'cloud.google.com/gke-nodepool';
/**
 * The message the cloud's route controller (route_controller.go) leaves on the NetworkUnavailable condition once it has
 * written the node's pod CIDR into the VPC's route table: a routes-based cluster, whose nodes bridge their pods (kubenet's
 * cbr0). On GCE the cloud CIDR allocator (cloud_cidr_allocator.go), which gives a VPC-native node its alias IP range,
 * leaves another one.
 */
const ROUTE_CONTROLLER_MESSAGE = 'RouteController created a route';
const ALIAS_RANGE_MESSAGE = 'NodeController create implicit route';

/** The index of the node's NetworkUnavailable condition when it carries `message`. */
function networkCondition(node: KubeNodeDoc, message: string): number | undefined {
  const i = (node.status?.conditions ?? []).findIndex((c) => c.type === 'NetworkUnavailable' && (c as { message?: unknown }).message === message);
  return i < 0 ? undefined : i;
}

const providerOf = (node: KubeNodeDoc): 'aws' | 'azure' | 'gce' | undefined => {
  const id = node.spec?.providerID ?? '';
  return id.startsWith('aws://') ? 'aws' : id.startsWith('azure://') ? 'azure' : id.startsWith('gce://') ? 'gce' : undefined;
};

const hasPodCidr = (node: KubeNodeDoc) => (node.spec?.podCIDRs?.length ?? 0) > 0 || (node.spec?.podCIDR ?? '') !== '';

/** Any annotation or label key under vpc.amazonaws.com/ (the VPC CNI's and the VPC resource controller's). */
function awsVpcKey(meta: { annotations?: object; labels?: object }): string | undefined {
  for (const o of [meta.annotations, meta.labels]) {
    const key = Object.keys(o ?? {}).find((k) => k.startsWith('vpc.amazonaws.com/'));
    if (key !== undefined) return key;
  }
  return undefined;
}

const quote = (where: 'annotations' | 'labels', key: string) => `metadata.${where}[${JSON.stringify(key)}]`;

/**
 * The data path the cloud, kind or OpenShift signs name, or undefined when there are none. `strongerPlugin` says that a
 * plugin that replaces the cloud's (flannel, Cilium) annotates the nodes: then only OVN and OpenShift SDN still count.
 */
export function detectCloud(nodes: Located<KubeNodeDoc>[], pods: Located<KubePodDoc>[]): CloudDetection | undefined {
  const agents = new Map<Agent, { n: number; name: string; at: string }>();
  for (const { obj, at } of pods) {
    const ns = obj.metadata.namespace ?? 'default';
    const hit = AGENTS.find((a) => a.namespaces.includes(ns) && a.name.test(obj.metadata.name));
    if (!hit) continue;
    const e = agents.get(hit.agent);
    if (e) e.n++;
    else agents.set(hit.agent, { n: 1, name: `${ns}/${obj.metadata.name}`, at });
  }
  const providers = new Map<string, { n: number; node: string; at: string; withCidr: number }>();
  let ovn: { node: string; at: string } | undefined;
  let aksPlugin: { value: string; node: string; at: string } | undefined;
  let aksOverlay: { key: string; node: string; at: string } | undefined;
  let gkePool: { node: string; at: string } | undefined;
  let routed: { node: string; at: string; condition: number } | undefined;
  let aliased: { node: string; at: string; condition: number } | undefined;
  let vpcKey: { key: string; object: string; at: string; where: 'annotations' | 'labels' } | undefined;
  for (const { obj, at } of nodes) {
    const name = obj.metadata.name;
    const p = providerOf(obj) ?? (obj.metadata.labels?.[GKE_NODEPOOL] !== undefined ? 'gce' : undefined);
    if (p !== undefined) {
      const e = providers.get(p) ?? { n: 0, node: name, at, withCidr: 0 };
      e.n++;
      if (hasPodCidr(obj)) e.withCidr++;
      providers.set(p, e);
    }
    const annotations = (obj.metadata.annotations ?? {}) as Record<string, string | undefined>;
    if (ovn === undefined && annotations[OVN_NODE_SUBNETS] !== undefined) ovn = { node: name, at };
    const labels = obj.metadata.labels ?? {};
    if (aksPlugin === undefined && labels[AKS_NETWORK_PLUGIN] !== undefined) aksPlugin = { value: labels[AKS_NETWORK_PLUGIN]!, node: name, at };
    const overlayKey = AKS_OVERLAY.find((k) => labels[k] === 'true' || labels[k] === 'overlay');
    if (aksOverlay === undefined && overlayKey !== undefined) aksOverlay = { key: overlayKey, node: name, at };
    if (gkePool === undefined && labels[GKE_NODEPOOL] !== undefined) gkePool = { node: name, at };
    const condition = routed === undefined ? networkCondition(obj, ROUTE_CONTROLLER_MESSAGE) : undefined;
    if (condition !== undefined) routed = { node: name, at, condition };
    const alias = aliased === undefined ? networkCondition(obj, ALIAS_RANGE_MESSAGE) : undefined;
    if (alias !== undefined) aliased = { node: name, at, condition: alias };
    const key = vpcKey === undefined ? awsVpcKey(obj.metadata) : undefined;
    if (key !== undefined) {
      vpcKey = { key, object: `node ${name}`, at, where: Object.keys(obj.metadata.annotations ?? {}).includes(key) ? 'annotations' : 'labels' };
    }
  }
  for (const { obj, at } of vpcKey === undefined ? pods : []) {
    const key = awsVpcKey(obj.metadata as { annotations?: object; labels?: object });
    if (key !== undefined) {
      const where = Object.keys((obj.metadata as { annotations?: object }).annotations ?? {}).includes(key) ? 'annotations' : 'labels';
      vpcKey = { key, object: `pod ${obj.metadata.namespace ?? 'default'}/${obj.metadata.name}`, at, where };
      break;
    }
  }

  const evidence = [
    ...[...agents].map(([agent, e]) => `${agent}: ${plural(e.n, 'agent pod')} such as ${e.name}`),
    ...[...providers].map(([p, e]) => `${p}: spec.providerID on ${e.n} of ${plural(nodes.length, 'node')} (${e.withCidr} with a pod CIDR)`),
    ...(ovn ? [`ovn-kubernetes: ${quote('annotations', OVN_NODE_SUBNETS)} of node ${ovn.node}`] : []),
    ...(aksPlugin ? [`aks: ${quote('labels', AKS_NETWORK_PLUGIN)} = ${aksPlugin.value} on node ${aksPlugin.node}`] : []),
    ...(vpcKey ? [`aws: ${quote(vpcKey.where, vpcKey.key)} of ${vpcKey.object}`] : []),
    ...(routed ? [`cloud routes: the NetworkUnavailable condition of node ${routed.node} says ${JSON.stringify(ROUTE_CONTROLLER_MESSAGE)}`] : []),
    ...(aliased ? [`alias ranges: the NetworkUnavailable condition of node ${aliased.node} says ${JSON.stringify(ALIAS_RANGE_MESSAGE)}`] : []),
  ];
  const found = (cni: CniDoc | undefined, detectedFrom: string, at: string, unsupported?: string): CloudDetection => ({
    cni,
    detectedFrom,
    at,
    evidence,
    warnings: [],
    ...(unsupported === undefined ? {} : { unsupported }),
  });
  const agent = (a: Agent) => {
    const e = agents.get(a)!;
    return { from: `metadata.name of pod ${e.name}`, at: e.at };
  };

  // OpenShift's and upstream's OVN-Kubernetes: a node logical switch per node, the cluster router, the join (or transit)
  // switch and Geneve between nodes live in OVS, not in the kernel's tables that pathtrace models.
  const ovnFrom = ovn ? { from: `${quote('annotations', OVN_NODE_SUBNETS)} of node ${ovn.node}`, at: ovn.at } : agents.has('ovnkube') ? agent('ovnkube') : undefined;
  if (ovnFrom) {
    return found(
      undefined,
      ovnFrom.from,
      ovnFrom.at,
      `the cluster runs OVN-Kubernetes (${ovnFrom.from}): its pods sit on OVN logical switches in Open vSwitch (node switch, ` +
        'cluster router, join and transit switches, Geneve between nodes), which pathtrace cannot model faithfully yet',
    );
  }
  if (agents.has('openshift-sdn')) {
    const a = agent('openshift-sdn');
    return found(
      undefined,
      a.from,
      a.at,
      `the cluster runs OpenShift SDN (${a.from}): its pods sit on the Open vSwitch bridge br0 with VXLAN (vxlan0) between ` +
        'nodes, programmed as OpenFlow rules, which pathtrace cannot model faithfully yet',
    );
  }
  if (agents.has('kindnet')) {
    const a = agent('kindnet');
    return found({ plugin: 'kindnet' }, a.from, a.at);
  }
  if (agents.has('anetd')) {
    // GKE Dataplane V2 is Cilium (anetd), routing natively over the VPC's alias ranges.
    const a = agent('anetd');
    return found({ plugin: 'cilium', routing: 'native' }, a.from, a.at);
  }
  if (agents.has('aws-node')) {
    const a = agent('aws-node');
    return found({ plugin: 'aws-vpc-cni' }, a.from, a.at);
  }
  if (vpcKey !== undefined) return found({ plugin: 'aws-vpc-cni' }, `${quote(vpcKey.where, vpcKey.key)} of ${vpcKey.object}`, vpcKey.at);
  if (aksPlugin !== undefined) {
    const from = `${quote('labels', AKS_NETWORK_PLUGIN)} of node ${aksPlugin.node}`;
    if (aksPlugin.value === 'kubenet') return found({ plugin: 'bridge', routes: 'cloud' }, from, aksPlugin.at);
    if (aksPlugin.value === 'azure') return found({ plugin: 'azure-cni', ...(aksOverlay ? { overlay: true } : {}) }, from, aksPlugin.at);
  }
  if (agents.has('azure-cns')) {
    const a = agent('azure-cns');
    const overlay = aksOverlay !== undefined || (providers.get('azure')?.withCidr ?? 0) > 0;
    return found({ plugin: 'azure-cni', ...(overlay ? { overlay: true } : {}) }, a.from, a.at);
  }
  for (const p of ['gce', 'azure', 'aws'] as const) {
    const e = providers.get(p);
    if (e === undefined) continue;
    const from = `spec.providerID of node ${e.node}`;
    if (p === 'gce') {
      // A routes-based GKE cluster (not VPC-native): the route controller wrote a VPC route per node pod CIDR, and the
      // nodes bridge their pods, as kubenet does.
      if (routed !== undefined) {
        return found({ plugin: 'bridge', routes: 'cloud' }, `status.conditions[${routed.condition}].message (${JSON.stringify(ROUTE_CONTROLLER_MESSAGE)}) of node ${routed.node}`, routed.at);
      }
      if (aliased !== undefined) {
        return found({ plugin: 'gke' }, `status.conditions[${aliased.condition}].message (${JSON.stringify(ALIAS_RANGE_MESSAGE)}) of node ${aliased.node}`, aliased.at);
      }
      return found({ plugin: 'gke' }, gkePool && e.node === gkePool.node ? `${quote('labels', GKE_NODEPOOL)} and ${from}` : from, e.at);
    }
    // A pod CIDR on the nodes: kubenet, whose routes the cloud controller writes into the VPC's route table.
    if (e.withCidr > 0) return found({ plugin: 'bridge', routes: 'cloud' }, `${from} (${e.withCidr} of ${plural(e.n, 'node')} with a pod CIDR)`, e.at);
    return found({ plugin: p === 'aws' ? 'aws-vpc-cni' : 'azure-cni' }, `${from} (no node with a pod CIDR)`, e.at);
  }
  return undefined;
}
