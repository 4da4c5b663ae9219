// The egress masquerade's settings among a kubectl List's objects (engine/compile/masquerade.ts): ip-masq-agent's
// ConfigMap (kube-system/ip-masq-agent, its `config` key in YAML or JSON, as the agent reads it), Calico's IPPools
// (crd.projectcalico.org/v1 or projectcalico.org/v3), Cilium's cilium-config ConfigMap (enable-ipv4-masquerade,
// enable-ipv6-masquerade, ipv4-native-routing-cidr, ipv6-native-routing-cidr, kube-proxy-replacement) and flannel's
// kube-flannel-cfg ConfigMap (net-conf.json's Network and IPv6Network) and the AWS VPC CNI's aws-node DaemonSet (its
// aws-node container's AWS_VPC_K8S_CNI_EXTERNALSNAT and AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS). What the List does not
// hold keeps the plugin's default; an object of another plugin than the data path's is counted as ignored.
import { Type } from '@sinclair/typebox';
import { parse } from 'yaml';
import type { ClusterDoc, CniDoc } from '../../topology/schema.js';
import { checkAsBody } from '../../topology/schema-check.js';
import { badRequest } from './schema.js';
import { sloppyPrefix } from '../../engine/service/config.js';
import { plural, type ImportWarnings } from '../warnings.js';

interface Item {
  kind: string;
  metadata?: { name?: unknown; namespace?: unknown };
  data?: Record<string, unknown>;
  spec?: Record<string, unknown>;
}

/** The env of a DaemonSet's container as kubectl prints it; only literal values are read (valueFrom says too little). */
interface DaemonSetSpec {
  template?: { spec?: { containers?: { name?: unknown; env?: { name?: unknown; value?: unknown; valueFrom?: unknown }[] }[] } };
}

const Cidrs = Type.Array(Type.String({ minLength: 4, maxLength: 64 }), { maxItems: 64 });
/** The agent's config file as it reads it: the fields that change outcomes are checked, the rest (resyncInterval…) accepted. */
const AgentConfig = Type.Object(
  { nonMasqueradeCIDRs: Type.Optional(Cidrs), masqLinkLocal: Type.Optional(Type.Boolean()), masqLinkLocalIPv6: Type.Optional(Type.Boolean()) },
  { additionalProperties: true },
);
const IPPoolSpec = Type.Object(
  { cidr: Type.String({ minLength: 4, maxLength: 64 }), natOutgoing: Type.Optional(Type.Boolean()), disabled: Type.Optional(Type.Boolean()) },
  { additionalProperties: true },
);
const NetConf = Type.Object(
  { Network: Type.Optional(Type.String({ minLength: 4, maxLength: 64 })), IPv6Network: Type.Optional(Type.String({ minLength: 4, maxLength: 64 })) },
  { additionalProperties: true },
);

const isConfigMap = (item: Item, name: string, namespaces: readonly string[]) =>
  item.kind === 'ConfigMap' && item.metadata?.name === name && namespaces.includes(String(item.metadata?.namespace));

/** The text of a ConfigMap's key, parsed (YAML holds JSON); throws a 400 that points at it. */
function parsed(item: Item, key: string, at: string, what: string): unknown {
  const text = item.data?.[key];
  const pointer = `${at}/data/${key}`;
  if (typeof text !== 'string') throw badRequest(`${what} has no ${key}`, [{ pointer, detail: `is required: the configuration ${what} holds` }]);
  try {
    return parse(text);
  } catch (err) {
    throw badRequest(`${what}'s ${key} is not YAML or JSON`, [{ pointer, detail: (err as Error).message.split('\n')[0]! }]);
  }
}

const kprValues: Record<string, boolean | undefined> = { true: true, strict: true, false: false, disabled: false };

/** cilium-config's booleans, as the agent reads them ("true"/"false"); anything else is the default. */
const flag = (v: unknown) => (v === 'true' ? true : v === 'false' ? false : undefined);

/**
 * An env value as Go's strconv.ParseBool reads it, which aws-node's getBoolEnvVar calls: anything else (and the empty
 * string) is the default, as aws-node logs and uses it.
 */
const goBool = (v: unknown) =>
  typeof v !== 'string' ? undefined : ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v) ? true : ['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v) ? false : undefined;

/**
 * An env entry of the aws-node container of the aws-node DaemonSet (the last one wins, as the kubelet sets them): its
 * literal value, or undefined when it is set by valueFrom (a ConfigMap or Secret the List does not hold), which is
 * warned of; and where it is.
 */
function awsNodeEnv(spec: DaemonSetSpec | undefined, name: string, at: string, warnings: ImportWarnings): { value: unknown; pointer: string } | undefined {
  const containers = spec?.template?.spec?.containers ?? [];
  const c = containers.findIndex((x) => x?.name === 'aws-node');
  const env = containers[c]?.env ?? [];
  let e = -1;
  env.forEach((x, i) => {
    if (x?.name === name) e = i;
  });
  if (e < 0) return undefined;
  const pointer = `${at}/spec/template/spec/containers/${c}/env/${e}`;
  if (env[e]!.value === undefined && env[e]!.valueFrom !== undefined) {
    warnings.add(
      'aws-node-env-from',
      (n) => `${plural(n, 'setting')} of aws-node ${n === 1 ? 'is' : 'are'} set by valueFrom, which the List does not resolve: the import keeps aws-node's default`,
      pointer,
      `${name} is set by valueFrom`,
    );
  }
  return { value: env[e]!.value, pointer };
}

/**
 * AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS as aws-node reads it (networkutils parseCIDRString): comma-separated, each trimmed
 * and parsed as Go's net.ParseCIDR does (host bits cleared); one that does not parse, or an IPv6 one, is skipped (aws-node
 * logs it and goes on).
 */
function excludeSNATCIDRs(env: { value: unknown; pointer: string } | undefined, warnings: ImportWarnings): string[] {
  const value = env?.value;
  if (typeof value !== 'string' || value === '') return [];
  const skip = (text: string, why: string) => {
    warnings.add(
      'aws-node-cidr-skipped',
      (n) => `${plural(n, 'entry', 'entries')} of AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS ${n === 1 ? 'is' : 'are'} skipped, as aws-node skips ${n === 1 ? 'it' : 'them'}`,
      `${env!.pointer}/value`,
      `${JSON.stringify(text)}: ${why}`,
    );
    return [];
  };
  return value.split(',').flatMap((text) => {
    const t = text.trim();
    if (!t.includes('/')) return skip(t, 'not a CIDR');
    try {
      const p = sloppyPrefix(t);
      return p.family === 4 ? [p.toString()] : skip(t, 'IPv6: aws-node excludes IPv4 destinations only');
    } catch (err) {
      return skip(t, (err as Error).message);
    }
  });
}

/**
 * The data path with the settings the List gives, and ip-masq-agent's configuration when it holds one; takes the kinds
 * read out of `ignored`.
 */
export function importMasquerade(
  items: readonly { kind: string }[] | undefined,
  cni: CniDoc,
  ignored: Record<string, number>,
  warnings: ImportWarnings,
): { cni: CniDoc; ipMasqAgent?: ClusterDoc['ipMasqAgent'] } {
  let out: CniDoc = cni;
  let ipMasqAgent: ClusterDoc['ipMasqAgent'];
  const pools: NonNullable<Extract<CniDoc, { plugin: 'calico' }>['ipPools']> = [];
  const read = (kind: string) => {
    if (ignored[kind] !== undefined && --ignored[kind]! === 0) delete ignored[kind];
  };
  (items ?? []).forEach((raw, i) => {
    const item = raw as Item;
    const at = `/items/${i}`;
    if (isConfigMap(item, 'ip-masq-agent', ['kube-system'])) {
      const config = parsed(item, 'config', at, 'the ip-masq-agent ConfigMap');
      checkAsBody(AgentConfig, config, `${at}/data/config`, "ip-masq-agent's config");
      const c = config as { nonMasqueradeCIDRs?: string[]; masqLinkLocal?: boolean; masqLinkLocalIPv6?: boolean };
      ipMasqAgent = {
        ...(c.nonMasqueradeCIDRs !== undefined ? { nonMasqueradeCIDRs: c.nonMasqueradeCIDRs } : {}),
        ...(c.masqLinkLocal !== undefined ? { masqLinkLocal: c.masqLinkLocal } : {}),
        ...(c.masqLinkLocalIPv6 !== undefined ? { masqLinkLocalIPv6: c.masqLinkLocalIPv6 } : {}),
        // The agent leaves IPv6 alone unless started with --enable-ipv6; a configuration that lists IPv6 asks for it.
        ...((c.nonMasqueradeCIDRs ?? []).some((t) => t.includes(':')) ? { enableIPv6: true } : {}),
        ...(cni.plugin === 'gke' ? { nomasqAllReservedRanges: true } : {}),
      };
      read('ConfigMap');
    } else if (out.plugin === 'cilium' && isConfigMap(item, 'cilium-config', ['kube-system', 'cilium'])) {
      const d = item.data ?? {};
      const text = (k: string) => (typeof d[k] === 'string' && d[k] !== '' ? (d[k] as string) : undefined);
      const settings = {
        enableIPv4Masquerade: flag(d['enable-ipv4-masquerade']),
        enableIPv6Masquerade: flag(d['enable-ipv6-masquerade']),
        ipv4NativeRoutingCIDR: text('ipv4-native-routing-cidr'),
        ipv6NativeRoutingCIDR: text('ipv6-native-routing-cidr'),
        // 'strict' is the value of Cilium before 1.14 for 'true', 'disabled' for 'false'; 'partial' says too little.
        kubeProxyReplacement: kprValues[String(d['kube-proxy-replacement'])],
      };
      out = { ...out, ...Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)) };
      read('ConfigMap');
    } else if (out.plugin === 'flannel' && isConfigMap(item, 'kube-flannel-cfg', ['kube-flannel', 'kube-system'])) {
      const conf = parsed(item, 'net-conf.json', at, 'the kube-flannel-cfg ConfigMap');
      checkAsBody(NetConf, conf, `${at}/data/net-conf.json`, "flannel's net-conf.json");
      const c = conf as { Network?: string; IPv6Network?: string };
      out = { ...out, ...(c.Network !== undefined ? { network: c.Network } : {}), ...(c.IPv6Network !== undefined ? { ipv6Network: c.IPv6Network } : {}) };
      read('ConfigMap');
    } else if (out.plugin === 'aws-vpc-cni' && item.kind === 'DaemonSet' && item.metadata?.name === 'aws-node' && item.metadata?.namespace === 'kube-system') {
      // External SNAT leaves the egress to a NAT gateway: aws-node writes no SNAT rule of its own.
      const spec = item.spec as DaemonSetSpec | undefined;
      const externalSNAT = goBool(awsNodeEnv(spec, 'AWS_VPC_K8S_CNI_EXTERNALSNAT', at, warnings)?.value);
      if (externalSNAT !== undefined) out = { ...out, externalSNAT };
      const excluded = excludeSNATCIDRs(awsNodeEnv(spec, 'AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS', at, warnings), warnings);
      if (excluded.length > 0) out = { ...out, excludeSNATCIDRs: excluded };
      read('DaemonSet');
    } else if (out.plugin === 'calico' && item.kind === 'IPPool') {
      checkAsBody(IPPoolSpec, item.spec, `${at}/spec`, 'the IPPool');
      const s = item.spec as { cidr: string; natOutgoing?: boolean; disabled?: boolean };
      pools.push({ cidr: s.cidr, ...(s.natOutgoing !== undefined ? { natOutgoing: s.natOutgoing } : {}), ...(s.disabled !== undefined ? { disabled: s.disabled } : {}) });
      read('IPPool');
    }
  });
  if (pools.length > 0 && out.plugin === 'calico') out = { ...out, ipPools: pools };
  return { cni: out, ...(ipMasqAgent !== undefined ? { ipMasqAgent } : {}) };
}
