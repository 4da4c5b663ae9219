// Kubernetes objects as kubectl prints them (`kubectl get nodes,pods -A -o json`) → the cluster form. Pure: no HTTP, no
// storage. The schemas below read only the fields the import uses and accept every other field, since kubectl prints many
// more (managedFields, containers, conditions...) and new Kubernetes versions add some.
//
// Two kinds of trouble are told apart. Input that kubectl never prints (an address that does not parse, a prefix with
// host bits, two IPv4 pod IPs) is refused (400, with JSON pointers into the request). A real cluster that the cluster
// form cannot hold as it is (a pod that has no IP yet, a completed Job's IP reused by a running pod, a pod IP outside its
// node's pod CIDR with a plugin that allocates from it) is imported without the offending part, which is counted and
// explained in the answer's warnings: the cluster is simply like that, and the rest of it can still be traced.
import { Type, type Static, type TOptional, type TSchema, type TString } from '@sinclair/typebox';
import { Addr, type Family } from '../engine/addr.js';
import { Prefix } from '../engine/prefix.js';
import { DataError, type InvalidParam } from '../topology/data-error.js';
import { checkTopology } from '../topology/validate.js';
import {
  ClusterNetwork,
  Cni,
  type ClusterDoc,
  type ClusterNodeDoc,
  type ClusterPodDoc,
  type CniDoc,
  type TopologySpec,
} from '../topology/schema.js';

// ---- what is read from the objects ----

/** Node annotations that CNI plugins write, and that the import reads to tell which data path the cluster uses. */
export const ANNOTATION = {
  flannelBackendType: 'flannel.alpha.coreos.com/backend-type',
  flannelBackendData: 'flannel.alpha.coreos.com/backend-data',
  flannelPublicIp: 'flannel.alpha.coreos.com/public-ip',
  calicoIPv4Address: 'projectcalico.org/IPv4Address',
  calicoIPv6Address: 'projectcalico.org/IPv6Address',
  calicoIPv4IPIPTunnelAddr: 'projectcalico.org/IPv4IPIPTunnelAddr',
  calicoIPv4VXLANTunnelAddr: 'projectcalico.org/IPv4VXLANTunnelAddr',
  calicoIPv6VXLANTunnelAddr: 'projectcalico.org/IPv6VXLANTunnelAddr',
  ciliumIPv4Host: 'network.cilium.io/ipv4-cilium-host',
  ciliumIPv6Host: 'network.cilium.io/ipv6-cilium-host',
  ciliumIPv4PodCIDR: 'network.cilium.io/ipv4-pod-cidr',
  ciliumIPv6PodCIDR: 'network.cilium.io/ipv6-pod-cidr',
  ciliumIPv4HealthIp: 'network.cilium.io/ipv4-health-ip',
  ciliumIPv6HealthIp: 'network.cilium.io/ipv6-health-ip',
  // Cilium before 1.12 wrote the same under io.cilium.network.
  ciliumLegacyIPv4Host: 'io.cilium.network.ipv4-cilium-host',
  ciliumLegacyIPv6Host: 'io.cilium.network.ipv6-cilium-host',
  ciliumLegacyIPv4PodCIDR: 'io.cilium.network.ipv4-pod-cidr',
  ciliumLegacyIPv6PodCIDR: 'io.cilium.network.ipv6-pod-cidr',
  ciliumLegacyIPv4HealthIp: 'io.cilium.network.ipv4-health-ip',
  ciliumLegacyIPv6HealthIp: 'io.cilium.network.ipv6-health-ip',
} as const;

const CILIUM_KEYS = [
  ANNOTATION.ciliumIPv4Host,
  ANNOTATION.ciliumIPv6Host,
  ANNOTATION.ciliumIPv4PodCIDR,
  ANNOTATION.ciliumIPv6PodCIDR,
  ANNOTATION.ciliumIPv4HealthIp,
  ANNOTATION.ciliumIPv6HealthIp,
  ANNOTATION.ciliumLegacyIPv4Host,
  ANNOTATION.ciliumLegacyIPv6Host,
  ANNOTATION.ciliumLegacyIPv4PodCIDR,
  ANNOTATION.ciliumLegacyIPv6PodCIDR,
  ANNOTATION.ciliumLegacyIPv4HealthIp,
  ANNOTATION.ciliumLegacyIPv6HealthIp,
];

const Open = <T extends Parameters<typeof Type.Object>[0]>(properties: T, options: Parameters<typeof Type.Object>[1] = {}) =>
  Type.Object(properties, { additionalProperties: true, ...options });

const NameText = Type.String({ minLength: 1, maxLength: 253 });
const NamespaceText = Type.String({ minLength: 1, maxLength: 63 });
const AddressText = Type.String({ maxLength: 64 });

const NodeAnnotations = Open(
  Object.fromEntries(Object.values(ANNOTATION).map((key) => [key, Type.Optional(Type.String({ maxLength: 4096 }))])) as Record<
    string,
    TOptional<TString>
  >,
  { description: 'Only the annotations of CNI plugins are read.' },
);

export const KubeNode = Open(
  {
    apiVersion: Type.Optional(Type.String()),
    kind: Type.Optional(Type.Literal('Node')),
    metadata: Open({ name: NameText, annotations: Type.Optional(NodeAnnotations) }),
    spec: Type.Optional(
      Open({
        podCIDR: Type.Optional(AddressText),
        podCIDRs: Type.Optional(Type.Array(AddressText, { maxItems: 2 })),
      }),
    ),
    status: Type.Optional(
      Open({
        addresses: Type.Optional(Type.Array(Open({ type: Type.String({ minLength: 1 }), address: Type.String({ minLength: 1, maxLength: 253 }) }))),
        conditions: Type.Optional(Type.Array(Open({ type: Type.String(), status: Type.String() }))),
      }),
    ),
  },
  { description: 'A v1 Node; of its fields only metadata.name and .annotations, spec.podCIDR(s), status.addresses and the Ready condition are read.' },
);

export const KubePod = Open(
  {
    apiVersion: Type.Optional(Type.String()),
    kind: Type.Optional(Type.Literal('Pod')),
    metadata: Open({ name: NameText, namespace: Type.Optional(NamespaceText) }),
    spec: Type.Optional(Open({ nodeName: Type.Optional(Type.String({ maxLength: 253 })), hostNetwork: Type.Optional(Type.Boolean()) })),
    status: Type.Optional(
      Open({
        phase: Type.Optional(Type.String()),
        podIP: Type.Optional(AddressText),
        podIPs: Type.Optional(Type.Array(Open({ ip: AddressText }), { maxItems: 2 })),
      }),
    ),
  },
  {
    description:
      'A v1 Pod; of its fields only metadata.namespace and .name, spec.nodeName and .hostNetwork, status.phase, .podIP and .podIPs are read.',
  },
);

// An item of a v1 List is a Node, a Pod, or anything else (ignored, and counted). JSON Schema's if/then checks a Node as a
// Node and a Pod as a Pod without the noise a union of three would report for every error.
const whenKind = (kind: string, then: TSchema) => ({
  if: { type: 'object', properties: { kind: { const: kind } }, required: ['kind'] },
  then,
});
export const KubeListItem = Type.Object(
  { apiVersion: Type.Optional(Type.String()), kind: Type.String({ minLength: 1 }) },
  {
    additionalProperties: true,
    allOf: [whenKind('Node', KubeNode), whenKind('Pod', KubePod)],
    description: 'An object of a v1 List: Nodes and Pods are read; objects of other kinds are counted and ignored.',
  },
);

const listOf = <T extends TSchema>(item: T, description: string) =>
  Open({ apiVersion: Type.Optional(Type.String()), kind: Type.Optional(Type.String()), items: Type.Array(item) }, { description });

export const NodeList = listOf(KubeNode, 'What `kubectl get nodes -o json` prints (a List), or a NodeList of the API.');
export const PodList = listOf(KubePod, 'What `kubectl get pods -A -o json` prints (a List), or a PodList of the API.');

export const KubernetesImportBody = Open(
  {
    apiVersion: Type.Optional(Type.String()),
    kind: Type.Optional(Type.String()),
    items: Type.Optional(Type.Array(KubeListItem)),
    nodes: Type.Optional(NodeList),
    pods: Type.Optional(PodList),
    cni: Type.Optional(Cni),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    network: Type.Optional(ClusterNetwork),
  },
  {
    description:
      'What `kubectl get nodes,pods -A -o json` prints (a v1 List with `items`), or `{nodes: <List of Nodes>, pods: <List of Pods>}`. ' +
      'Either may carry `cni`, `description` and `network` next to what kubectl printed. Unknown properties are accepted.',
  },
);

export type KubeNodeDoc = Static<typeof KubeNode>;
export type KubePodDoc = Static<typeof KubePod>;
export type KubernetesImportBodyDoc = Static<typeof KubernetesImportBody>;

// ---- what the user may say about the data path ----

export const CNI_PLUGINS = ['bridge', 'flannel', 'calico', 'cilium', 'weave'] as const;
export const CNI_MODES = ['host-gw', 'cloud', 'vxlan', 'bgp', 'ipip', 'native', 'tunnel', 'geneve'] as const;
export type CniPlugin = (typeof CNI_PLUGINS)[number];
export type CniMode = (typeof CNI_MODES)[number];

const MODES_OF: Record<CniPlugin, readonly CniMode[]> = {
  bridge: ['host-gw', 'cloud'],
  flannel: ['vxlan', 'host-gw'],
  calico: ['bgp', 'ipip', 'vxlan'],
  cilium: ['native', 'tunnel', 'vxlan', 'geneve'],
  weave: [],
};

export interface ImportOptions {
  /** cni= of the query string: the plugin. */
  plugin?: CniPlugin;
  /** mode= of the query string: the plugin's routes, backend or mode. */
  mode?: CniMode;
  /** description= of the query string. */
  description?: string;
}

// ---- what the import answers ----

export const POD_SKIP_REASONS = [
  'noNode',
  'pending',
  'terminated',
  'unknownNode',
  'duplicateName',
  'duplicateIP',
  'outsidePodCIDR',
] as const;
export const NODE_SKIP_REASONS = ['noAddress', 'duplicateName'] as const;
export type PodSkipReason = (typeof POD_SKIP_REASONS)[number];
export type NodeSkipReason = (typeof NODE_SKIP_REASONS)[number];

export interface ImportCounts {
  nodes: number;
  pods: number;
  skipped: Record<PodSkipReason, number>;
  skippedNodes: Record<NodeSkipReason, number>;
  /** Objects of other kinds in the List (Services, Deployments...), by kind. */
  ignored: Record<string, number>;
}

export interface ImportWarning {
  code: string;
  count: number;
  detail: string;
  /** Up to MAX_EXAMPLES of the objects concerned, with a JSON pointer into the request body. */
  examples: { pointer: string; detail: string }[];
}

export interface ImportedCni {
  cni: CniDoc;
  /** "given", or the field that told, e.g. metadata.annotations["flannel.alpha.coreos.com/backend-type"] of node a. */
  detectedFrom: string;
  /** When the plugin was given and its mode was read from the objects: where from. */
  modeDetectedFrom?: string;
  /** Every sign of a CNI plugin found in the objects, strongest first. */
  evidence: string[];
  note?: string;
}

export interface KubernetesImport {
  cluster: ClusterDoc;
  /** The checked topology (the cluster passed src/topology/validate.ts). */
  spec: TopologySpec;
  description: string;
  counts: ImportCounts;
  cni: ImportedCni;
  warnings: ImportWarning[];
}

/** No cni was given and the objects do not say which data path the cluster uses. */
export class CniRequiredError extends DataError {
  constructor(
    message: string,
    readonly evidence: string[],
  ) {
    super(message, [{ parameter: 'cni', detail: 'give the CNI plugin: cni=bridge|flannel|calico|cilium|weave (and mode=), or cni in the body' }], 422, 'cni-required');
  }
}

export const MAX_EXAMPLES = 10;
const MAX_ERRORS = 100;

const badRequest = (message: string, errors: InvalidParam[]) => new DataError(message, errors.slice(0, MAX_ERRORS), 400, 'invalid-request');
const familyName = (f: Family) => (f === 4 ? 'IPv4' : 'IPv6');
const quote = (key: string) => `metadata.annotations[${JSON.stringify(key)}]`;

class Warnings {
  private readonly byCode = new Map<string, { summary: (n: number) => string; count: number; examples: ImportWarning['examples'] }>();

  add(code: string, summary: (n: number) => string, pointer: string, detail: string) {
    let w = this.byCode.get(code);
    if (!w) this.byCode.set(code, (w = { summary, count: 0, examples: [] }));
    w.count++;
    if (w.examples.length < MAX_EXAMPLES) w.examples.push({ pointer, detail });
  }

  list(): ImportWarning[] {
    return [...this.byCode].map(([code, w]) => ({ code, count: w.count, detail: w.summary(w.count), examples: w.examples }));
  }
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

// ---- collecting the objects ----

interface Located<T> {
  obj: T;
  /** JSON pointer of the object in the request body. */
  at: string;
}

function collect(body: KubernetesImportBodyDoc) {
  const nodes: Located<KubeNodeDoc>[] = [];
  const pods: Located<KubePodDoc>[] = [];
  const ignored: Record<string, number> = {};
  if (body.items !== undefined) {
    if (body.nodes !== undefined || body.pods !== undefined) {
      throw badRequest('the body is a List (items) and also has nodes or pods', [
        { pointer: body.nodes !== undefined ? '/nodes' : '/pods', detail: 'give either a List (items) or nodes and pods, not both' },
      ]);
    }
    body.items.forEach((item, i) => {
      if (item.kind === 'Node') nodes.push({ obj: item as unknown as KubeNodeDoc, at: `/items/${i}` });
      else if (item.kind === 'Pod') pods.push({ obj: item as unknown as KubePodDoc, at: `/items/${i}` });
      else ignored[item.kind] = (ignored[item.kind] ?? 0) + 1;
    });
    if (nodes.length === 0) {
      throw badRequest('the List holds no Node', [
        { pointer: '/items', detail: 'holds no object of kind Node: send what kubectl get nodes,pods -A -o json prints' },
      ]);
    }
  } else if (body.nodes !== undefined) {
    body.nodes.items.forEach((obj, i) => nodes.push({ obj, at: `/nodes/items/${i}` }));
    body.pods?.items.forEach((obj, i) => pods.push({ obj, at: `/pods/items/${i}` }));
    if (nodes.length === 0) {
      throw badRequest('the nodes list is empty', [{ pointer: '/nodes/items', detail: 'holds no Node: send what kubectl get nodes -o json prints' }]);
    }
  } else {
    throw badRequest('the body holds no Kubernetes objects', [
      {
        pointer: body.pods !== undefined ? '/nodes' : '/items',
        detail:
          body.pods !== undefined
            ? 'is required: the pods need their nodes (kubectl get nodes -o json)'
            : 'is required: send what kubectl get nodes,pods -A -o json prints (a List), or {nodes, pods}',
      },
    ]);
  }
  return { nodes, pods, ignored };
}

// ---- detecting the data path ----

/** kindnet (kind's CNI) is recognised to say so, but is no data path of the cluster form. */
type Agent = CniPlugin | 'kindnet';

interface Sign {
  plugin: Agent;
  /** The plugin's mode as the cluster form names it, when the sign tells it ("host-gw", "ipip"...). */
  mode?: string;
  /** The mode word as written, for a flannel backend the cluster form cannot hold (wireguard, udp...). */
  raw?: string;
  vni?: number;
  field: string;
  object: string;
}

interface Detection {
  cni: CniDoc | undefined;
  detectedFrom: string | undefined;
  /** JSON pointer of the object detectedFrom names. */
  at?: string;
  evidence: string[];
  /** Why a plugin was recognised but cannot be stored as detected (an unmodelled flannel backend). */
  unsupported?: string;
  warnings: { code: string; detail: string; at: string; example: string }[];
}

const AGENT_NAMESPACES = new Set(['kube-system', 'kube-flannel', 'calico-system', 'cilium']);
const AGENT_PODS: [RegExp, Agent][] = [
  [/^calico-node-/, 'calico'],
  [/^kube-flannel-ds-/, 'flannel'],
  [/^canal-/, 'flannel'],
  [/^cilium-/, 'cilium'],
  [/^weave-net-/, 'weave'],
  [/^kindnet-/, 'kindnet'],
];

function nodeSigns(node: KubeNodeDoc): Sign[] {
  const a = (node.metadata.annotations ?? {}) as Record<string, string | undefined>;
  const object = `node ${node.metadata.name}`;
  const signs: Sign[] = [];
  const backend = a[ANNOTATION.flannelBackendType];
  if (backend !== undefined) {
    const sign: Sign = { plugin: 'flannel', raw: backend, field: quote(ANNOTATION.flannelBackendType), object };
    if (backend === 'vxlan' || backend === 'host-gw') sign.mode = backend;
    if (backend === 'vxlan') {
      try {
        const vni: unknown = JSON.parse(a[ANNOTATION.flannelBackendData] ?? '{}')?.VNI;
        if (Number.isInteger(vni) && (vni as number) >= 1 && (vni as number) <= 16777215) sign.vni = vni as number;
      } catch {
        // backend-data is informative only
      }
    }
    signs.push(sign);
  } else if (a[ANNOTATION.flannelPublicIp] !== undefined) {
    signs.push({ plugin: 'flannel', field: quote(ANNOTATION.flannelPublicIp), object });
  }
  const calicoTunnel = [
    [ANNOTATION.calicoIPv4VXLANTunnelAddr, 'vxlan'],
    [ANNOTATION.calicoIPv6VXLANTunnelAddr, 'vxlan'],
    [ANNOTATION.calicoIPv4IPIPTunnelAddr, 'ipip'],
  ].find(([key]) => a[key!] !== undefined);
  if (calicoTunnel) {
    signs.push({ plugin: 'calico', mode: calicoTunnel[1], field: quote(calicoTunnel[0]!), object });
  } else {
    const key = [ANNOTATION.calicoIPv4Address, ANNOTATION.calicoIPv6Address].find((k) => a[k] !== undefined);
    // An address for BGP and no tunnel address: Calico routes pod traffic natively over BGP-learnt routes.
    if (key) signs.push({ plugin: 'calico', mode: 'bgp', field: quote(key), object });
  }
  const ciliumKey = CILIUM_KEYS.find((k) => a[k] !== undefined);
  if (ciliumKey) signs.push({ plugin: 'cilium', field: quote(ciliumKey), object });
  return signs;
}

function podSign(pod: KubePodDoc): Sign | undefined {
  const ns = pod.metadata.namespace ?? 'default';
  if (!AGENT_NAMESPACES.has(ns)) return undefined;
  const hit = AGENT_PODS.find(([re]) => re.test(pod.metadata.name));
  return hit && { plugin: hit[1], field: 'metadata.name', object: `pod ${ns}/${pod.metadata.name}` };
}

const ORDER: Agent[] = ['flannel', 'calico', 'cilium', 'weave', 'bridge', 'kindnet'];

function cniOfSign(plugin: Exclude<Agent, 'kindnet'>, mode: string | undefined, vni: number | undefined): CniDoc {
  switch (plugin) {
    case 'flannel':
      return { plugin, ...(mode ? { backend: mode as 'vxlan' | 'host-gw' } : {}), ...(vni !== undefined ? { vni } : {}) };
    case 'calico':
      return { plugin, ...(mode ? { mode: mode as 'bgp' | 'ipip' | 'vxlan' } : {}) };
    case 'cilium':
      return { plugin };
    case 'weave':
      return { plugin };
    case 'bridge':
      return { plugin, routes: 'host-gw' };
  }
}

export function describeCni(cni: CniDoc): string {
  switch (cni.plugin) {
    case 'bridge':
      return `bridge (${cni.routes ?? 'host-gw'} routes)`;
    case 'flannel':
      return cni.backend ? `flannel (backend ${cni.backend})` : 'flannel';
    case 'calico':
      return cni.mode ? `calico (${cni.mode})` : 'calico';
    case 'cilium':
      return cni.routing ? `cilium (${cni.routing}${cni.tunnel ? ` ${cni.tunnel}` : ''} routing)` : 'cilium';
    case 'weave':
      return 'weave';
  }
}

function detect(nodes: Located<KubeNodeDoc>[], pods: Located<KubePodDoc>[]): Detection {
  const warnings: Detection['warnings'] = [];
  // Per plugin: the nodes whose annotations name it (the strong signs), then agent pods (weaker: a DaemonSet may be left
  // over from a migration, or run for policy only).
  const annotated = new Map<Agent, { nodes: number; first: Sign; at: string; modes: Map<string, { n: number; first: Sign; at: string }> }>();
  for (const { obj, at } of nodes) {
    for (const s of nodeSigns(obj)) {
      let e = annotated.get(s.plugin);
      if (!e) annotated.set(s.plugin, (e = { nodes: 0, first: s, at, modes: new Map() }));
      e.nodes++;
      const mode = s.raw ?? s.mode;
      if (mode !== undefined) {
        const m = e.modes.get(mode);
        if (m) m.n++;
        else e.modes.set(mode, { n: 1, first: s, at });
      }
    }
  }
  const agents = new Map<Agent, { pods: number; first: Sign; at: string }>();
  for (const { obj, at } of pods) {
    const s = podSign(obj);
    if (!s) continue;
    const e = agents.get(s.plugin);
    if (e) e.pods++;
    else agents.set(s.plugin, { pods: 1, first: s, at });
  }

  const evidence = [
    ...[...annotated].map(([plugin, e]) => {
      const modes = [...e.modes].map(([m, x]) => `${m} on ${plural(x.n, 'node')}`).join(', ');
      return `${plugin}: ${e.first.field} on ${e.nodes} of ${plural(nodes.length, 'node')}${modes ? ` (${modes})` : ''}`;
    }),
    ...[...agents].map(([plugin, e]) => `${plugin}: ${plural(e.pods, 'agent pod')} such as ${e.first.object.slice(4)}`),
  ];

  const pick = <T>(m: Map<Agent, T>, size: (x: T) => number): Agent | undefined =>
    [...m.keys()].sort((x, y) => size(m.get(y)!) - size(m.get(x)!) || ORDER.indexOf(x) - ORDER.indexOf(y))[0];

  if (annotated.size > 0) {
    // Canal: flannel carries the packets, and Calico, there for network policy, annotates the nodes too.
    const plugin =
      annotated.has('flannel') && annotated.get('flannel')!.modes.size > 0 && annotated.has('calico') ? 'flannel' : pick(annotated, (e) => e.nodes)!;
    const e = annotated.get(plugin)!;
    if (annotated.size > 1) {
      const others = [...annotated.keys()].filter((p) => p !== plugin);
      const other = annotated.get(others[0]!)!;
      warnings.push({
        code: 'cni-evidence-conflict',
        at: other.at,
        example: `${other.first.plugin}: ${other.first.field} of ${other.first.object}`,
        detail:
          plugin === 'flannel' && others.includes('calico')
            ? 'both flannel and Calico annotate the nodes, as with Canal: flannel carries the packets (Calico enforces policy), so flannel was taken'
            : `node annotations of ${others.join(' and ')} were found as well; ${plugin} annotates the most nodes and was taken (give cni to say otherwise)`,
      });
    }
    const modes = [...e.modes].sort((x, y) => y[1].n - x[1].n);
    const chosen = modes[0];
    if (modes.length > 1) {
      warnings.push({
        code: 'cni-mixed-modes',
        at: modes[1]![1].at,
        example: `${modes[1]![0]}: ${modes[1]![1].first.field} of ${modes[1]![1].first.object}`,
        detail: `${plugin}'s nodes disagree on the mode (${modes.map(([m, x]) => `${m} on ${plural(x.n, 'node')}`).join(', ')}); ${chosen![0]}, the most common, was taken`,
      });
    }
    const sign = chosen?.[1].first ?? e.first;
    if (plugin === 'flannel' && sign.raw !== undefined && sign.mode === undefined) {
      return {
        cni: undefined,
        detectedFrom: undefined,
        evidence,
        warnings,
        unsupported: `flannel's ${sign.raw} backend (${sign.field} of ${sign.object}) is not a data path pathtrace models (vxlan and host-gw are)`,
      };
    }
    const cni = cniOfSign(plugin as Exclude<Agent, 'kindnet'>, sign.mode, sign.vni);
    if (plugin === 'cilium') {
      warnings.push({
        code: 'cni-mode-unknown',
        at: e.at,
        example: `${e.first.field} of ${e.first.object} says Cilium, not how it routes`,
        detail: "Cilium's node annotations do not say whether it routes natively or through a tunnel; give cni=cilium&mode=native|vxlan|geneve to say",
      });
    }
    const at = chosen?.[1].at ?? e.at;
    return { cni, detectedFrom: `${sign.field} of ${sign.object}`, at, evidence, warnings };
  }

  const kindnet = agents.get('kindnet');
  agents.delete('kindnet');
  if (agents.size > 0) {
    const plugin = pick(agents, (e) => e.pods)! as Exclude<Agent, 'kindnet'>;
    const e = agents.get(plugin)!;
    if (agents.size > 1) {
      const others = [...agents.keys()].filter((p) => p !== plugin);
      const other = agents.get(others[0]!)!;
      warnings.push({
        code: 'cni-evidence-conflict',
        at: other.at,
        example: `${other.first.plugin}: ${other.first.field} of ${other.first.object}`,
        detail: `agent pods of ${others.join(' and ')} run as well; ${plugin} has the most and was taken (give cni to say otherwise)`,
      });
    }
    if (plugin !== 'weave') {
      warnings.push({
        code: 'cni-mode-unknown',
        at: e.at,
        example: `${e.first.field} of ${e.first.object}`,
        detail: `${plugin} was recognised by the name of its agent pods only, which does not say its ${plugin === 'flannel' ? 'backend' : plugin === 'calico' ? 'mode' : 'routing mode'}; give cni=${plugin}&mode=... to say`,
      });
    }
    return { cni: cniOfSign(plugin, undefined, undefined), detectedFrom: `${e.first.field} of ${e.first.object}`, at: e.at, evidence, warnings };
  }
  if (kindnet) {
    return {
      cni: undefined,
      detectedFrom: undefined,
      evidence,
      warnings,
      unsupported:
        `kindnet runs (${kindnet.first.object}): it routes between nodes as host-gw does, over point-to-point veths within a ` +
        'node, and is no data path of its own here; cni=bridge&mode=host-gw comes closest',
    };
  }
  return { cni: undefined, detectedFrom: undefined, evidence, warnings };
}

function cniFromQuery(plugin: CniPlugin, mode: CniMode | undefined): CniDoc {
  if (mode !== undefined && !MODES_OF[plugin].includes(mode)) {
    const modes = MODES_OF[plugin];
    throw badRequest(`${plugin} has no mode ${mode}`, [
      {
        parameter: 'mode',
        detail: modes.length === 0 ? `${plugin} takes no mode` : `${plugin} takes mode ${modes.slice(0, -1).join(', ')}${modes.length > 1 ? ' or ' : ''}${modes.at(-1)}`,
      },
    ]);
  }
  switch (plugin) {
    case 'bridge':
      return { plugin, routes: (mode ?? 'host-gw') as 'host-gw' | 'cloud' };
    case 'flannel':
      return { plugin, ...(mode ? { backend: mode as 'vxlan' | 'host-gw' } : {}) };
    case 'calico':
      return { plugin, ...(mode ? { mode: mode as 'bgp' | 'ipip' | 'vxlan' } : {}) };
    case 'cilium':
      if (mode === undefined) return { plugin };
      return mode === 'native' || mode === 'tunnel' ? { plugin, routing: mode } : { plugin, routing: 'tunnel', tunnel: mode as 'vxlan' | 'geneve' };
    case 'weave':
      return { plugin };
  }
}

/** The data path: given whole in the body, given as cni= (and mode=), or detected; undefined plugin → CniRequiredError. */
function chooseCni(body: KubernetesImportBodyDoc, options: ImportOptions, d: Detection, warnings: Warnings): ImportedCni {
  if (options.mode !== undefined && options.plugin === undefined) {
    throw badRequest('mode= goes with cni=', [{ parameter: 'mode', detail: 'give cni as well, e.g. cni=flannel&mode=host-gw' }]);
  }
  if (body.cni !== undefined && options.plugin !== undefined) {
    throw badRequest('cni is given twice', [{ parameter: 'cni', detail: 'the body gives cni as well: give it in one place' }]);
  }
  let given: ImportedCni | undefined;
  if (body.cni !== undefined) {
    given = { cni: body.cni, detectedFrom: 'given', evidence: d.evidence };
  } else if (options.plugin !== undefined) {
    given = { cni: cniFromQuery(options.plugin, options.mode), detectedFrom: 'given', evidence: d.evidence };
    // cni=calico alone: the mode the nodes show fills in.
    if (options.mode === undefined && d.cni?.plugin === options.plugin && Object.keys(d.cni).length > 1) {
      given = { ...given, cni: d.cni, modeDetectedFrom: d.detectedFrom };
    }
  }
  const differs = given !== undefined && d.cni !== undefined && given.cni.plugin !== d.cni.plugin;
  // What detection was unsure of matters when it decides, or fills in the mode of a plugin given by name alone.
  const relevant =
    given === undefined
      ? d.warnings
      : body.cni === undefined && options.mode === undefined && !differs
        ? d.warnings.filter((w) => w.code !== 'cni-evidence-conflict')
        : [];
  for (const w of relevant) warnings.add(w.code, () => w.detail, w.at, w.example);
  if (given !== undefined) {
    if (differs) {
      const same = d.cni!.plugin === 'flannel' && d.cni!.backend === 'host-gw' && given.cni.plugin === 'bridge' && (given.cni.routes ?? 'host-gw') === 'host-gw';
      const detail = same
        ? `cni was given as ${describeCni(given.cni)}; the objects say ${describeCni(d.cni!)}, which programs the same routes: stored as given`
        : `cni was given as ${describeCni(given.cni)}, but the objects say ${describeCni(d.cni!)}: stored as given`;
      warnings.add('cni-differs-from-detected', () => detail, d.at ?? '', `${d.detectedFrom} says ${describeCni(d.cni!)}`);
    }
    return given;
  }
  if (d.cni === undefined) {
    const why =
      d.unsupported ??
      (d.evidence.length === 0
        ? 'no node carries flannel, Calico or Cilium annotations and no pod is named like a CNI agent (calico-node, kube-flannel-ds, cilium, weave-net)'
        : `the signs found do not name a data path: ${d.evidence.join('; ')}`);
    throw new CniRequiredError(
      `cannot tell the cluster's CNI data path from the objects: ${why}. Give it as cni= (bridge, flannel, calico, cilium or weave) with mode=, or as cni in the body (kubenet and flannel host-gw: cni=bridge&mode=host-gw)`,
      d.evidence,
    );
  }
  const result: ImportedCni = { cni: d.cni, detectedFrom: d.detectedFrom!, evidence: d.evidence };
  if (d.cni.plugin === 'flannel' && d.cni.backend === 'host-gw') {
    result.note = "flannel's host-gw backend programs the same routes as the bridge plugin with host-gw routes: import with cni=bridge to trace it with that data path";
  }
  return result;
}

// ---- building the cluster ----

const ADDRESS_TYPES = new Set(['InternalIP', 'ExternalIP', 'Hostname', 'InternalDNS', 'ExternalDNS']);
const IP_TYPES = new Set(['InternalIP', 'ExternalIP']);

interface NodeFacts {
  name: string;
  at: string;
  ips: Set<string>;
  cidrs: Prefix[];
  /** The Ready condition is True (or the node reports no conditions): its pods' status is current. */
  ready: boolean;
}

/** Which node's pod CIDR holds an address, by exact lookup at each prefix length in use (not a scan of every node). */
class CidrIndex {
  private readonly byLength = new Map<Family, Map<number, Map<string, string>>>();
  /** Every prefix and each of its ancestors, for overlap checks in both directions. */
  private readonly covered = new Map<string, string>();

  add(p: Prefix, node: string) {
    let lengths = this.byLength.get(p.family);
    if (!lengths) this.byLength.set(p.family, (lengths = new Map()));
    let exact = lengths.get(p.bits);
    if (!exact) lengths.set(p.bits, (exact = new Map()));
    exact.set(p.toString(), node);
    for (let b = 0; b <= p.bits; b++) {
      const key = Prefix.of(p.addr, b).toString();
      if (!this.covered.has(key)) this.covered.set(key, node);
    }
  }

  /** The node and prefix that overlap p, if any. */
  overlapping(p: Prefix): { node: string; prefix: string } | undefined {
    const inside = this.covered.get(p.toString());
    if (inside !== undefined) return { node: inside, prefix: `a prefix within ${p}` };
    for (const [bits, exact] of this.byLength.get(p.family) ?? []) {
      if (bits > p.bits) continue;
      const key = Prefix.of(p.addr, bits).toString();
      const node = exact.get(key);
      if (node !== undefined) return { node, prefix: key };
    }
    return undefined;
  }

  ownerOf(a: Addr): string | undefined {
    for (const [bits, exact] of this.byLength.get(a.family) ?? []) {
      const node = exact.get(Prefix.of(a, bits).toString());
      if (node !== undefined) return node;
    }
    return undefined;
  }

  has(family: Family): boolean {
    return this.byLength.has(family);
  }
}

function buildNodes(nodes: Located<KubeNodeDoc>[], plugin: CniPlugin, warnings: Warnings, errors: InvalidParam[], skipped: Record<NodeSkipReason, number>) {
  const out: ClusterNodeDoc[] = [];
  const facts = new Map<string, NodeFacts>();
  const nodeIps = new Map<string, string>();
  const index = new CidrIndex();

  for (const { obj, at } of nodes) {
    const name = obj.metadata.name;
    if (facts.has(name)) {
      skipped.duplicateName++;
      warnings.add('node-duplicate-name', (n) => `${plural(n, 'node repeats', 'nodes repeat')} the name of an earlier node and ${n === 1 ? 'was' : 'were'} left out`, at, `another node is also named ${name}`);
      continue;
    }
    const readyCondition = obj.status?.conditions?.find((c) => c.type === 'Ready');
    const f: NodeFacts = { name, at, ips: new Set(), cidrs: [], ready: readyCondition === undefined || readyCondition.status === 'True' };
    if (!f.ready) {
      warnings.add(
        'node-not-ready',
        (n) => `${plural(n, 'node is', 'nodes are')} not Ready: the status of ${n === 1 ? 'its' : 'their'} pods may be stale (kept)`,
        at,
        `node ${name}: Ready is ${readyCondition!.status}`,
      );
    }

    // status.addresses, InternalIP first (the address the other nodes route pod traffic to), then in kubectl's order.
    const addresses: ClusterNodeDoc['addresses'] = [];
    const raw = obj.status?.addresses ?? [];
    const order = raw.map((a, j) => ({ a, j })).sort((x, y) => Number(y.a.type === 'InternalIP') - Number(x.a.type === 'InternalIP'));
    for (const { a, j } of order) {
      if (!ADDRESS_TYPES.has(a.type)) continue;
      const ap = `${at}/status/addresses/${j}/address`;
      if (!IP_TYPES.has(a.type)) {
        addresses.push({ type: a.type as ClusterNodeDoc['addresses'][number]['type'], address: a.address });
        continue;
      }
      const ip = Addr.tryParse(a.address);
      if (!ip) {
        errors.push({ pointer: ap, detail: `${JSON.stringify(a.address)} is not an IPv4 or IPv6 address` });
        continue;
      }
      const key = ip.toString();
      const other = nodeIps.get(key);
      if (other !== undefined && other !== name) {
        warnings.add('node-duplicate-address', (n) => `${plural(n, 'node address is', 'node addresses are')} also an address of an earlier node and were left out`, ap, `${key} of node ${name} is also an address of node ${other}`);
        continue;
      }
      nodeIps.set(key, name);
      f.ips.add(key);
      addresses.push({ type: a.type as 'InternalIP' | 'ExternalIP', address: key });
    }
    if (f.ips.size === 0) {
      skipped.noAddress++;
      warnings.add('node-without-address', (n) => `${plural(n, 'node has', 'nodes have')} no usable InternalIP or ExternalIP and ${n === 1 ? 'was' : 'were'} left out, with their pods`, at, `node ${name} has no InternalIP or ExternalIP address`);
      continue;
    }

    // spec.podCIDRs (one per family), or the older single spec.podCIDR. With Cilium's cluster-pool IPAM the node's pod
    // CIDR is the one Cilium allocated and annotated, not the one in spec.
    const annotations = (obj.metadata.annotations ?? {}) as Record<string, string | undefined>;
    let texts: { text: string; pointer: string }[] =
      obj.spec?.podCIDRs !== undefined
        ? obj.spec.podCIDRs.map((text, j) => ({ text, pointer: `${at}/spec/podCIDRs/${j}` }))
        : obj.spec?.podCIDR
          ? [{ text: obj.spec.podCIDR, pointer: `${at}/spec/podCIDR` }]
          : [];
    if (plugin === 'cilium') {
      const fromCilium = (
        [
          [ANNOTATION.ciliumIPv4PodCIDR, ANNOTATION.ciliumLegacyIPv4PodCIDR],
          [ANNOTATION.ciliumIPv6PodCIDR, ANNOTATION.ciliumLegacyIPv6PodCIDR],
        ] as const
      ).flatMap((keys) => {
        const key = keys.find((k) => annotations[k] !== undefined);
        return key ? [{ text: annotations[key]!, pointer: `${at}/metadata/annotations/${key.replace(/~/g, '~0').replace(/\//g, '~1')}` }] : [];
      });
      if (fromCilium.length > 0) {
        // Per family: Cilium's annotation where it has one, spec.podCIDRs for the other.
        const v6 = (text: string) => text.includes(':');
        const replaced = texts.filter((t) => fromCilium.some((c) => v6(c.text) === v6(t.text)));
        const spec = replaced.map((t) => t.text).join(', ');
        const ann = fromCilium.map((t) => t.text).join(', ');
        if (spec !== ann) {
          warnings.add('pod-cidr-from-cilium', (n) => `${plural(n, 'node')}: the pod CIDR was taken from Cilium's annotation rather than spec.podCIDRs (Cilium's cluster-pool IPAM allocates pod IPs from it)`, at, `node ${name}: ${ann} from Cilium${spec ? `, not ${spec} from spec.podCIDRs` : ''}`);
        }
        texts = [...fromCilium, ...texts.filter((t) => !replaced.includes(t))].sort((x, y) => Number(v6(x.text)) - Number(v6(y.text)));
      }
    }
    const cidrs: string[] = [];
    for (const { text, pointer } of texts) {
      if (text === '') continue;
      let p: Prefix;
      try {
        p = Prefix.parse(text);
      } catch (err) {
        errors.push({ pointer, detail: (err as Error).message });
        continue;
      }
      if (f.cidrs.some((c) => c.family === p.family)) {
        errors.push({ pointer, detail: `a node has at most one ${familyName(p.family)} pod CIDR` });
        continue;
      }
      const clash = index.overlapping(p);
      if (clash) {
        warnings.add('pod-cidr-overlap', (n) => `${plural(n, 'pod CIDR overlaps', 'pod CIDRs overlap')} the pod CIDR of an earlier node and ${n === 1 ? 'was' : 'were'} left out`, pointer, `${p} of node ${name} overlaps ${clash.prefix} of node ${clash.node}`);
        continue;
      }
      index.add(p, name);
      f.cidrs.push(p);
      cidrs.push(p.toString());
    }
    if (cidrs.length === 0) {
      warnings.add(
        'node-without-pod-cidr',
        (n) =>
          plugin === 'calico'
            ? `${plural(n, 'node has', 'nodes have')} no pod CIDR; that is usual with Calico, whose IPAM allocates pod IPs from its own blocks`
            : `${plural(n, 'node has', 'nodes have')} no pod CIDR: ${plugin} gives pods addresses from it, so their pods were left out (is the controller manager run with --allocate-node-cidrs?)`,
        at,
        `node ${name} has neither spec.podCIDRs nor spec.podCIDR`,
      );
    }
    facts.set(name, f);
    out.push({ name, addresses, podCIDRs: cidrs });
  }
  return { nodes: out, facts, nodeIps, index };
}

interface PodCandidate {
  at: string;
  pod: ClusterPodDoc;
  /** Who keeps an IP that several pods claim: 2 Running on a Ready node, 1 Running, 0 otherwise. */
  rank: number;
  ips: { key: string; pointer: string }[];
}

function buildPods(
  pods: Located<KubePodDoc>[],
  built: ReturnType<typeof buildNodes>,
  allNodeNames: Set<string>,
  plugin: CniPlugin,
  warnings: Warnings,
  errors: InvalidParam[],
  skipped: Record<PodSkipReason, number>,
): ClusterPodDoc[] {
  const { facts, nodeIps, index } = built;
  const names = new Set<string>();
  const candidates: PodCandidate[] = [];
  // Calico allocates from IPAM blocks and Weave from its one cluster-wide range, not from the node's pod CIDR; every other
  // plugin gives a pod an address from its node's pod CIDR, and the cluster form holds them to it.
  const pinned = plugin !== 'calico' && plugin !== 'weave';

  for (const { obj, at } of pods) {
    const namespace = obj.metadata.namespace ?? 'default';
    const id = `${namespace}/${obj.metadata.name}`;
    // Every address is checked, whatever becomes of the pod: text that is not an address is not what kubectl prints.
    const entries: { text: string; pointer: string }[] =
      obj.status?.podIPs !== undefined && obj.status.podIPs.length > 0
        ? obj.status.podIPs.map((e, j) => ({ text: e.ip, pointer: `${at}/status/podIPs/${j}/ip` }))
        : obj.status?.podIP
          ? [{ text: obj.status.podIP, pointer: `${at}/status/podIP` }]
          : [];
    const addrs: { a: Addr; pointer: string }[] = [];
    for (const { text, pointer } of entries) {
      if (text === '') continue;
      const a = Addr.tryParse(text);
      if (!a) errors.push({ pointer, detail: `${JSON.stringify(text)} is not an IPv4 or IPv6 address` });
      else if (addrs.some((x) => x.a.family === a.family)) errors.push({ pointer, detail: `a pod has at most one ${familyName(a.family)} address` });
      else addrs.push({ a, pointer });
    }

    if (names.has(id)) {
      skipped.duplicateName++;
      warnings.add('pod-duplicate-name', (n) => `${plural(n, 'pod repeats', 'pods repeat')} the namespace/name of an earlier pod and ${n === 1 ? 'was' : 'were'} left out`, at, `another pod is also named ${id}`);
      continue;
    }
    names.add(id);
    const nodeName = obj.spec?.nodeName;
    if (!nodeName) {
      skipped.noNode++;
      continue;
    }
    const phase = obj.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      // A finished pod keeps its podIP in status, but the plugin has released it, often to a running pod by now.
      skipped.terminated++;
      continue;
    }
    if (addrs.length === 0) {
      skipped.pending++;
      continue;
    }
    const node = facts.get(nodeName);
    if (!node) {
      skipped.unknownNode++;
      warnings.add(
        'pod-on-unknown-node',
        (n) => `${plural(n, 'pod runs', 'pods run')} on a node that is not in the import and ${n === 1 ? 'was' : 'were'} left out`,
        `${at}/spec/nodeName`,
        allNodeNames.has(nodeName) ? `pod ${id} runs on node ${nodeName}, which was left out` : `pod ${id} runs on node ${nodeName}, which is not in the objects sent`,
      );
      continue;
    }

    const pod: ClusterPodDoc = { namespace, name: obj.metadata.name, nodeName };
    if (obj.spec?.hostNetwork) {
      // The pod lives in its node's network namespace; its IPs are the node's own.
      pod.hostNetwork = true;
      const kept = addrs.filter(({ a, pointer }) => {
        if (node.ips.has(a.toString())) return true;
        warnings.add(
          'host-network-ip-not-node-address',
          (n) => `${plural(n, 'hostNetwork pod IP is', 'hostNetwork pod IPs are')} not an InternalIP or ExternalIP of the pod's node and ${n === 1 ? 'was' : 'were'} left out (the pods were kept: they live in their node's namespace)`,
          pointer,
          `${a} of pod ${id} is not an address of node ${nodeName}`,
        );
        return false;
      });
      if (kept.length > 0) pod.podIPs = kept.map(({ a }) => a.toString());
      candidates.push({ at, pod, rank: 2, ips: [] });
      continue;
    }

    const ips: PodCandidate['ips'] = [];
    for (const { a, pointer } of addrs) {
      const own = node.cidrs.find((c) => c.family === a.family);
      if (own?.contains(a)) {
        ips.push({ key: a.toString(), pointer });
        continue;
      }
      const other = index.ownerOf(a);
      if (pinned || index.has(a.family)) {
        const where = other !== undefined ? `inside the pod CIDR of node ${other}` : 'outside every node\'s pod CIDR';
        const ownText = own ? `node ${nodeName}'s pod CIDR is ${own}` : `node ${nodeName} has no ${familyName(a.family)} pod CIDR`;
        const code = other !== undefined ? 'pod-ip-in-other-node-cidr' : 'pod-ip-outside-node-cidrs';
        warnings.add(
          code,
          (n) =>
            (other !== undefined
              ? `${plural(n, 'pod IP is', 'pod IPs are')} inside another node's pod CIDR`
              : `${plural(n, 'pod IP is', 'pod IPs are')} outside every node's pod CIDR`) +
            (pinned
              ? `: ${plugin} gives a pod an address from its own node's pod CIDR, so ${n === 1 ? 'it was' : 'they were'} left out (and a pod with no address left, too)`
              : ': usual with Calico, whose IPAM allocates from its own blocks; kept'),
          pointer,
          `${a} of pod ${id} is ${where}; ${ownText}`,
        );
      }
      if (!pinned) ips.push({ key: a.toString(), pointer });
    }
    if (ips.length === 0) {
      skipped.outsidePodCIDR++;
      continue;
    }
    candidates.push({ at, pod, rank: phase === 'Running' ? (node.ready ? 2 : 1) : 0, ips });
  }

  // One owner per IP. A node's address is the node's; among pods a Running pod on a Ready node wins over one whose status
  // may be stale (a node that stopped reporting, a phase that is not Running), then the earlier one. The loser is left
  // out: the cluster form, like the kernel, has one owner per address.
  const owner = new Map<string, string>();
  const lost = new Set<PodCandidate>();
  const byPriority = candidates.filter((c) => c.ips.length > 0).sort((x, y) => y.rank - x.rank);
  for (const c of byPriority) {
    const clash = c.ips.map((ip) => ({ ip, other: nodeIps.has(ip.key) ? `node ${nodeIps.get(ip.key)}` : owner.get(ip.key) })).find((x) => x.other !== undefined);
    if (clash) {
      lost.add(c);
      skipped.duplicateIP++;
      warnings.add(
        'duplicate-ip',
        (n) => `${plural(n, 'pod has', 'pods have')} an IP that another pod or a node has as well and ${n === 1 ? 'was' : 'were'} left out (a Running pod on a Ready node keeps it first, then the first in the list)`,
        clash.ip.pointer,
        `${clash.ip.key} of pod ${c.pod.namespace}/${c.pod.name} is also the address of ${clash.other}`,
      );
      continue;
    }
    for (const ip of c.ips) owner.set(ip.key, `pod ${c.pod.namespace}/${c.pod.name}`);
    c.pod.podIPs = c.ips.map((ip) => ip.key);
  }
  return candidates.filter((c) => !lost.has(c)).map((c) => c.pod);
}

/** Maps a pointer into the cluster document back to the object of the request it came from. */
function relocate(errors: InvalidParam[], nodeAt: string[], podAt: string[]): InvalidParam[] {
  return errors.map((e) => {
    const m = /^\/cluster\/(nodes|pods)\/(\d+)(\/.*)?$/.exec(e.pointer ?? '');
    if (m) {
      const at = (m[1] === 'nodes' ? nodeAt : podAt)[Number(m[2])];
      return { pointer: at ?? '', detail: m[3] ? `${m[3].slice(1)}: ${e.detail}` : e.detail };
    }
    return e.pointer?.startsWith('/cluster/') ? { pointer: e.pointer.slice('/cluster'.length), detail: e.detail } : e;
  });
}

/**
 * Builds the cluster form from kubectl's objects. Throws DataError: 400 for input kubectl does not print, 422 when no node
 * can be imported, and CniRequiredError (422) when no cni was given and the objects do not say.
 */
export function importKubernetes(body: KubernetesImportBodyDoc, options: ImportOptions = {}): KubernetesImport {
  if (body.description !== undefined && options.description !== undefined) {
    throw badRequest('description is given twice', [{ parameter: 'description', detail: 'the body gives description as well: give it in one place' }]);
  }
  const { nodes, pods, ignored } = collect(body);
  const warnings = new Warnings();
  const errors: InvalidParam[] = [];
  const detection = detect(nodes, pods);
  const cni = chooseCni(body, options, detection, warnings);
  const plugin = cni.cni.plugin;

  const skippedNodes: Record<NodeSkipReason, number> = { noAddress: 0, duplicateName: 0 };
  const skipped: Record<PodSkipReason, number> = { noNode: 0, pending: 0, terminated: 0, unknownNode: 0, duplicateName: 0, duplicateIP: 0, outsidePodCIDR: 0 };
  const built = buildNodes(nodes, plugin, warnings, errors, skippedNodes);
  const clusterPods = buildPods(pods, built, new Set(nodes.map((n) => n.obj.metadata.name)), plugin, warnings, errors, skipped);
  if (errors.length > 0) {
    const first = errors[0]!;
    throw badRequest(
      errors.length === 1 ? `the Kubernetes objects are not valid (${first.pointer}: ${first.detail})` : `the Kubernetes objects are not valid (${errors.length} problems)`,
      errors,
    );
  }
  if (built.nodes.length === 0) {
    const all = warnings.list();
    throw new DataError(
      'no node could be imported',
      all.flatMap((w) => w.examples.map((e) => ({ pointer: e.pointer, detail: e.detail }))).slice(0, MAX_ERRORS),
    );
  }

  const cluster: ClusterDoc = { nodes: built.nodes, pods: clusterPods, cni: cni.cni };
  if (body.network !== undefined) cluster.network = body.network;
  let spec: TopologySpec;
  try {
    spec = checkTopology({ cluster });
  } catch (err) {
    if (!(err instanceof DataError)) throw err;
    // Should not happen for what kubectl prints (the import leaves out what the cluster form cannot hold), but `network`
    // comes from the user: point at the objects of the request, not into a document the user never saw.
    const nodeAt = built.nodes.map((n) => built.facts.get(n.name)!.at);
    const podAt = clusterPods.map((p) => pods.find((x) => (x.obj.metadata.namespace ?? 'default') === p.namespace && x.obj.metadata.name === p.name)?.at ?? '');
    throw new DataError(err.message, relocate(err.errors, nodeAt, podAt), err.status, err.slug);
  }

  // Calico's pods reach their gateway 169.254.1.1 by the node's proxy ARP, which answers only for an address the node
  // routes: without a default route (the objects do not say where the nodes' gateway is) they reach nothing.
  if (cni.cni.plugin === 'calico' && cluster.network?.gateway === undefined && cluster.network?.subnets === undefined) {
    warnings.add(
      'no-node-gateway',
      () => "the nodes have no default route, so Calico's pods get no ARP answer for 169.254.1.1 and reach nothing: give network.gateway next to the objects",
      '',
      'no network.gateway was given and the objects do not name the nodes\' gateway',
    );
  }
  const counts: ImportCounts = { nodes: built.nodes.length, pods: clusterPods.length, skipped, skippedNodes, ignored };
  const skippedTotal = Object.values(skipped).reduce((a, b) => a + b, 0);
  const description =
    options.description ??
    body.description ??
    `Imported from Kubernetes objects: ${plural(counts.nodes, 'node')}, ${plural(counts.pods, 'pod')}${skippedTotal > 0 ? ` (${skippedTotal} left out)` : ''}, ${describeCni(cni.cni)}.`;
  return { cluster, spec, description, counts, cni, warnings: warnings.list() };
}
