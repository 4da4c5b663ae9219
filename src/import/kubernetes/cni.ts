// The CNI data path of the cluster: given whole in the body, given as cni= and mode=, or detected from what the plugins
// leave in the objects (node annotations, strong signs; the names of their agent pods, weaker ones).
import type { CniDoc } from '../../topology/schema.js';
import { DataError } from '../../topology/data-error.js';
import { plural, type ImportWarnings } from '../warnings.js';
import { detectCloud } from './clouds.js';
import { ANNOTATION, badRequest, type KubeNodeDoc, type KubePodDoc, type KubernetesImportBodyDoc, type Located } from './schema.js';

/**
 * The values of cni= in the query: the plugins of the cluster form, and `canal`, which is stored as flannel with
 * `pods: calico` (flannel between the nodes, Calico's CNI plugin for the pods).
 */
export const CNI_PLUGINS = ['bridge', 'flannel', 'canal', 'calico', 'cilium', 'weave', 'kindnet', 'gke', 'aws-vpc-cni', 'azure-cni'] as const;
export const CNI_MODES = ['host-gw', 'cloud', 'vxlan', 'bgp', 'ipip', 'native', 'tunnel', 'geneve', 'overlay'] as const;
export type CniPlugin = (typeof CNI_PLUGINS)[number];
export type CniMode = (typeof CNI_MODES)[number];

const MODES_OF: Record<CniPlugin, readonly CniMode[]> = {
  bridge: ['host-gw', 'cloud'],
  flannel: ['vxlan', 'host-gw'],
  canal: ['vxlan', 'host-gw'],
  calico: ['bgp', 'ipip', 'vxlan'],
  cilium: ['native', 'tunnel', 'vxlan', 'geneve'],
  weave: [],
  kindnet: [],
  gke: [],
  'aws-vpc-cni': [],
  'azure-cni': ['overlay'],
};

export interface CniOptions {
  /** cni= of the query string: the plugin. */
  plugin?: CniPlugin;
  /** mode= of the query string: the plugin's routes, backend or mode. */
  mode?: CniMode;
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

/** No cni was given and the objects do not say which data path the cluster uses. */
export class CniRequiredError extends DataError {
  constructor(
    message: string,
    readonly evidence: string[],
  ) {
    super(message, [{ parameter: 'cni', detail: `give the CNI plugin: cni=${CNI_PLUGINS.join('|')} (and mode=), or cni in the body` }], 422, 'cni-required');
  }
}

const quote = (key: string) => `metadata.annotations[${JSON.stringify(key)}]`;

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

type Agent = CniDoc['plugin'];

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

export interface Detection {
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

const ORDER: Agent[] = ['flannel', 'calico', 'cilium', 'weave', 'bridge'];

function cniOfSign(plugin: Agent, mode: string | undefined, vni: number | undefined): CniDoc {
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
    default:
      return { plugin } as CniDoc;
  }
}

export function describeCni(cni: CniDoc): string {
  switch (cni.plugin) {
    case 'bridge':
      return `bridge (${cni.routes ?? 'host-gw'} routes)`;
    case 'flannel':
      if (cni.pods === 'calico') return `canal (flannel${cni.backend ? ` backend ${cni.backend}` : ''}, Calico's pod interfaces)`;
      return cni.backend ? `flannel (backend ${cni.backend})` : 'flannel';
    case 'calico':
      return cni.mode ? `calico (${cni.mode})` : 'calico';
    case 'cilium':
      return cni.routing ? `cilium (${cni.routing}${cni.tunnel ? ` ${cni.tunnel}` : ''} routing)` : 'cilium';
    case 'weave':
      return 'weave';
    case 'kindnet':
      return 'kindnet';
    case 'gke':
      return 'GKE VPC-native';
    case 'aws-vpc-cni':
      return 'the AWS VPC CNI';
    case 'azure-cni':
      return cni.overlay ? 'Azure CNI overlay' : 'Azure CNI';
  }
}

/** That signs of other plugins were found too, with the first sign of the first of them; detail says which was taken. */
function conflict<T extends { first: Sign; at: string }>(
  signs: Map<Agent, T>,
  taken: Agent,
  detail: (others: Agent[]) => string,
): Detection['warnings'][number] {
  const others = [...signs.keys()].filter((p) => p !== taken);
  const other = signs.get(others[0]!)!;
  return { code: 'cni-evidence-conflict', at: other.at, example: `${other.first.plugin}: ${other.first.field} of ${other.first.object}`, detail: detail(others) };
}

export function detect(nodes: Located<KubeNodeDoc>[], pods: Located<KubePodDoc>[]): Detection {
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
  // Canal's DaemonSet (canal-*) runs flannel and Calico's CNI plugin: the pods attach as Calico attaches them.
  let canalPods = false;
  for (const { obj, at } of pods) {
    const s = podSign(obj);
    if (!s) continue;
    if (s.object.startsWith('pod kube-system/canal-')) canalPods = true;
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

  // The clouds', kind's and OpenShift's data paths (clouds.ts): OVN-Kubernetes and OpenShift SDN whatever else is seen;
  // the others unless flannel or Cilium annotate the nodes (they replace the cloud's plugin; Calico beside the AWS VPC
  // CNI or Azure CNI enforces policy only).
  const cloud = detectCloud(nodes, pods);
  if (cloud !== undefined) {
    const all = [...evidence, ...cloud.evidence];
    if (cloud.unsupported !== undefined) {
      return { cni: undefined, detectedFrom: cloud.detectedFrom, at: cloud.at, evidence: all, warnings, unsupported: cloud.unsupported };
    }
    if (!annotated.has('flannel') && !annotated.has('cilium') && cloud.cni !== undefined) {
      const others = [...annotated.keys(), ...agents.keys()].filter((p) => p !== cloud.cni!.plugin);
      if (others.length > 0) {
        const other = annotated.get(others[0]!) ?? agents.get(others[0]!)!;
        warnings.push({
          code: 'cni-evidence-conflict',
          at: other.at,
          example: `${other.first.plugin}: ${other.first.field} of ${other.first.object}`,
          detail: `signs of ${others.join(' and ')} were found as well; ${describeCni(cloud.cni)} (${cloud.detectedFrom}) carries the packets and was taken (give cni to say otherwise)`,
        });
      }
      return { cni: cloud.cni, detectedFrom: cloud.detectedFrom, at: cloud.at, evidence: all, warnings };
    }
  }

  const pick = <T>(m: Map<Agent, T>, size: (x: T) => number): Agent | undefined =>
    [...m.keys()].sort((x, y) => size(m.get(y)!) - size(m.get(x)!) || ORDER.indexOf(x) - ORDER.indexOf(y))[0];

  if (annotated.size > 0) {
    // Canal: flannel carries the packets, and Calico, there for network policy, annotates the nodes too.
    const plugin =
      annotated.has('flannel') && annotated.get('flannel')!.modes.size > 0 && annotated.has('calico') ? 'flannel' : pick(annotated, (e) => e.nodes)!;
    const e = annotated.get(plugin)!;
    if (annotated.size > 1) {
      warnings.push(
        conflict(annotated, plugin, (others) =>
          plugin === 'flannel' && others.includes('calico')
            ? "both flannel and Calico annotate the nodes, as with Canal: flannel carries the packets between the nodes and Calico's CNI plugin attaches the pods"
            : `node annotations of ${others.join(' and ')} were found as well; ${plugin} annotates the most nodes and was taken (give cni to say otherwise)`,
        ),
      );
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
    let cni = cniOfSign(plugin, sign.mode, sign.vni);
    // Canal: Calico attaches the pods (cali veths, no cni0), flannel carries the packets between the nodes.
    if (cni.plugin === 'flannel' && (annotated.has('calico') || canalPods)) cni = { ...cni, pods: 'calico' };
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

  if (agents.size > 0) {
    const plugin = pick(agents, (e) => e.pods)!;
    const e = agents.get(plugin)!;
    if (agents.size > 1) {
      warnings.push(
        conflict(agents, plugin, (others) => `agent pods of ${others.join(' and ')} run as well; ${plugin} has the most and was taken (give cni to say otherwise)`),
      );
    }
    if (plugin !== 'weave') {
      warnings.push({
        code: 'cni-mode-unknown',
        at: e.at,
        example: `${e.first.field} of ${e.first.object}`,
        detail: `${plugin} was recognised by the name of its agent pods only, which does not say its ${plugin === 'flannel' ? 'backend' : plugin === 'calico' ? 'mode' : 'routing mode'}; give cni=${plugin}&mode=... to say`,
      });
    }
    let cni = cniOfSign(plugin, undefined, undefined);
    if (cni.plugin === 'flannel' && canalPods) cni = { ...cni, pods: 'calico' };
    return { cni, detectedFrom: `${e.first.field} of ${e.first.object}`, at: e.at, evidence, warnings };
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
    case 'canal':
      return { plugin: 'flannel', ...(mode ? { backend: mode as 'vxlan' | 'host-gw' } : {}), pods: 'calico' };
    case 'calico':
      return { plugin, ...(mode ? { mode: mode as 'bgp' | 'ipip' | 'vxlan' } : {}) };
    case 'cilium':
      if (mode === undefined) return { plugin };
      return mode === 'native' || mode === 'tunnel' ? { plugin, routing: mode } : { plugin, routing: 'tunnel', tunnel: mode as 'vxlan' | 'geneve' };
    case 'azure-cni':
      return { plugin, ...(mode === 'overlay' ? { overlay: true } : {}) };
    default:
      return { plugin } as CniDoc;
  }
}

/** The data path: given whole in the body, given as cni= (and mode=), or detected; undefined plugin → CniRequiredError. */
export function chooseCni(body: KubernetesImportBodyDoc, options: CniOptions, d: Detection, warnings: ImportWarnings): ImportedCni {
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
    // cni=calico alone: the mode the nodes show fills in (for flannel and Canal the backend and VNI; how the pods
    // attach is what cni= said).
    if (options.mode === undefined && d.cni !== undefined && d.cni.plugin === given.cni.plugin) {
      const filled = { ...d.cni, ...(given.cni.plugin === 'flannel' ? { pods: given.cni.pods } : {}) } as CniDoc;
      if (filled.plugin === 'flannel' && filled.pods === undefined) delete filled.pods;
      if (JSON.stringify(filled) !== JSON.stringify(given.cni)) given = { ...given, cni: filled, modeDetectedFrom: d.detectedFrom };
    }
  }
  const podsOf = (cni: CniDoc) => (cni.plugin === 'flannel' ? (cni.pods ?? 'bridge') : undefined);
  // flannel given where the objects say Canal (or the other way round) differs too: the pods attach otherwise.
  const differs = given !== undefined && d.cni !== undefined && (given.cni.plugin !== d.cni.plugin || podsOf(given.cni) !== podsOf(d.cni));
  // What detection was unsure of matters when it decides, or fills in the mode of a plugin given by name alone.
  const relevant =
    given === undefined
      ? d.warnings
      : body.cni === undefined && options.mode === undefined && !differs
        ? d.warnings.filter((w) => w.code !== 'cni-evidence-conflict')
        : [];
  for (const w of relevant) warnings.add(w.code, w.detail, w.at, w.example);
  if (given !== undefined) {
    if (differs) {
      const same = d.cni!.plugin === 'flannel' && d.cni!.backend === 'host-gw' && given.cni.plugin === 'bridge' && (given.cni.routes ?? 'host-gw') === 'host-gw';
      const detail = same
        ? `cni was given as ${describeCni(given.cni)}; the objects say ${describeCni(d.cni!)}, which programs the same routes: stored as given`
        : `cni was given as ${describeCni(given.cni)}, but the objects say ${describeCni(d.cni!)}: stored as given`;
      warnings.add('cni-differs-from-detected', detail, d.at ?? '', `${d.detectedFrom} says ${describeCni(d.cni!)}`);
    } else if (d.unsupported !== undefined && d.detectedFrom !== undefined) {
      // OVN-Kubernetes, OpenShift SDN: what is traced is the data path given, not the one the cluster runs.
      warnings.add(
        'cni-differs-from-detected',
        `cni was given as ${describeCni(given.cni)}, but ${d.unsupported}: stored as given, and traced as ${describeCni(given.cni)} programs the nodes`,
        d.at ?? '',
        `${d.detectedFrom} names a data path that is not modelled`,
      );
    }
    return withNote(given);
  }
  if (d.cni === undefined) {
    const why =
      d.unsupported ??
      (d.evidence.length === 0
        ? "no node carries flannel, Calico, Cilium or OVN annotations or a cloud's providerID, and no pod is named like a CNI agent (calico-node, kube-flannel-ds, cilium, weave-net, aws-node, azure-cns, kindnet, ovnkube)"
        : `the signs found do not name a data path: ${d.evidence.join('; ')}`);
    throw new CniRequiredError(
      `${d.unsupported === undefined ? "cannot tell the cluster's CNI data path from the objects" : 'the objects name a data path that is not modelled'}: ${why}. Give it as cni= (bridge, flannel, canal, calico, cilium, weave, kindnet, gke, aws-vpc-cni or azure-cni) with mode=, or as cni in the body (kubenet and flannel host-gw: cni=bridge&mode=host-gw)`,
      d.evidence,
    );
  }
  return withNote({ cni: d.cni, detectedFrom: d.detectedFrom!, evidence: d.evidence });
}

/** What the stored data path is traced as, where the document leaves something to a default. */
function withNote(imported: ImportedCni): ImportedCni {
  const { cni } = imported;
  if (cni.plugin === 'flannel' && cni.backend === 'host-gw') {
    return { ...imported, note: "flannel's host-gw backend is traced as it programs the nodes: cni0 and a route to every other node's pod CIDR via that node" };
  }
  if (cni.plugin === 'flannel' && cni.backend === undefined) {
    return { ...imported, note: "flannel's backend was not given and the objects do not show it: vxlan, flannel's default, is assumed (mode=host-gw to say otherwise)" };
  }
  if (cni.plugin === 'calico' && cni.mode === undefined) {
    return { ...imported, note: "Calico's mode was not given and the nodes' annotations do not show it: ipip, the mode of Calico's manifests, is assumed (mode=bgp or mode=vxlan to say otherwise)" };
  }
  if (cni.plugin === 'cilium' && cni.routing === undefined) {
    return { ...imported, note: "Cilium's routing mode was not given and the objects do not show it: tunnel with vxlan, Cilium's default, is assumed (mode=native or mode=geneve to say otherwise)" };
  }
  return imported;
}

