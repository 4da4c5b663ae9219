// The cluster's nodes from the Node objects: their InternalIP and ExternalIP addresses, and their pod CIDRs (spec.podCIDRs,
// or Cilium's annotation where its IPAM allocates), each address and CIDR owned by one node.
import { podIpsFromNodeCidr } from '../../topology/pod-ipam.js';
import { Addr, type Family } from '../../engine/addr.js';
import { Prefix } from '../../engine/prefix.js';
import { pointerToken, type InvalidParam } from '../../topology/data-error.js';
import type { ClusterNodeDoc, CniDoc } from '../../topology/schema.js';
import { plural, type ImportWarnings } from '../warnings.js';
import { ANNOTATION, type KubeNodeDoc, type Located } from './schema.js';
import { CNI_ANNOTATIONS, annotationProblem, flannelBackendData } from '../../engine/compile/annotations.js';

export const NODE_SKIP_REASONS = ['noAddress', 'duplicateName'] as const;
export type NodeSkipReason = (typeof NODE_SKIP_REASONS)[number];

export const familyName = (f: Family) => (f === 4 ? 'IPv4' : 'IPv6');

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

export function buildNodes(nodes: Located<KubeNodeDoc>[], plugin: CniDoc['plugin'], warnings: ImportWarnings, errors: InvalidParam[], skipped: Record<NodeSkipReason, number>) {
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
        return key ? [{ text: annotations[key]!, pointer: `${at}/metadata/annotations/${pointerToken(key)}` }] : [];
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
    if (f.ips.size === 0) {
      // Left out, but what does not parse is still reported: one answer lists every problem of the request.
      for (const { text, pointer } of texts) {
        try {
          if (text !== '') Prefix.parse(text);
        } catch (err) {
          errors.push({ pointer, detail: (err as Error).message });
        }
      }
      skipped.noAddress++;
      warnings.add('node-without-address', (n) => `${plural(n, 'node has', 'nodes have')} no usable InternalIP or ExternalIP and ${n === 1 ? 'was' : 'were'} left out, with their pods`, at, `node ${name} has no InternalIP or ExternalIP address`);
      continue;
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
    // The AWS VPC CNI and Azure CNI never use a pod CIDR: a node without one is what they look like.
    if (cidrs.length === 0 && plugin !== 'aws-vpc-cni' && plugin !== 'azure-cni') {
      warnings.add(
        'node-without-pod-cidr',
        (n) =>
          plugin === 'calico'
            ? `${plural(n, 'node has', 'nodes have')} no pod CIDR; that is usual with Calico, whose IPAM allocates pod IPs from its own blocks`
            : !podIpsFromNodeCidr(plugin)
              ? `${plural(n, 'node has', 'nodes have')} no pod CIDR; that is usual with ${plugin}, which gives pods addresses of its own (the VPC's, the weave subnet's)`
            : `${plural(n, 'node has', 'nodes have')} no pod CIDR: ${plugin} gives pods addresses from it, so their pods were left out (is the controller manager run with --allocate-node-cidrs?)`,
        at,
        `node ${name} has neither spec.podCIDRs nor spec.podCIDR`,
      );
    }
    // The annotations the data paths read (a tunnel address, cilium_host's address, a VTEP MAC): what the node states
    // is what the trace uses, rather than what a rule would derive.
    const kept: Record<string, string> = {};
    for (const [key, text] of Object.entries(annotations)) {
      if (text === undefined || !CNI_ANNOTATIONS.has(key)) continue;
      const problem = annotationProblem(key, text);
      if (problem === undefined) {
        // flannel's backend-data tells the data paths only a VTEP's MAC (host-gw nodes carry "null").
        const flannelData = key === ANNOTATION.flannelBackendData || key === ANNOTATION.flannelBackendV6Data;
        if (!flannelData || flannelBackendData(text)?.VtepMAC !== undefined) kept[key] = text;
        continue;
      }
      warnings.add(
        'annotation-unreadable',
        (n) => `${plural(n, 'CNI annotation does', 'CNI annotations do')} not read as the plugin writes ${n === 1 ? 'it' : 'them'} and ${n === 1 ? 'was' : 'were'} left out (what ${n === 1 ? 'it' : 'they'} would tell is derived instead)`,
        `${at}/metadata/annotations/${pointerToken(key)}`,
        `node ${name}: ${problem}`,
      );
    }
    facts.set(name, f);
    out.push({ name, addresses, podCIDRs: cidrs, ...(Object.keys(kept).length > 0 ? { annotations: kept } : {}) });
  }
  return { nodes: out, facts, nodeIps, index };
}

export type BuiltNodes = ReturnType<typeof buildNodes>;
