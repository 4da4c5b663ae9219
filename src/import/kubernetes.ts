// Kubernetes objects as kubectl prints them (`kubectl get nodes,pods -A -o json`) → the cluster form. Pure: no HTTP, no
// storage. The steps are under kubernetes/: schema.ts (the objects, as read), cni.ts (the data path, given or detected),
// nodes.ts and pods.ts (what of them the cluster form holds).
//
// Two kinds of trouble are told apart. Input that kubectl never prints (an address that does not parse, a prefix with
// host bits, two IPv4 pod IPs) is refused (400, with JSON pointers into the request). A real cluster that the cluster
// form cannot hold as it is (a pod that has no IP yet, a completed Job's IP reused by a running pod, a pod IP outside its
// node's pod CIDR with a plugin that allocates from it) is imported without the offending part, which is counted and
// explained in the answer's warnings: the cluster is simply like that, and the rest of it can still be traced.
import { DataError, type InvalidParam } from '../topology/data-error.js';
import { checkTopology } from '../topology/validate.js';
import type { ClusterDoc, ClusterNetworkDoc, CniDoc, TopologySpec } from '../topology/schema.js';
import type { Family } from '../engine/addr.js';
import { Prefix } from '../engine/prefix.js';
import { ANNOTATION, calicoNodeAddress } from '../engine/compile/annotations.js';
import { assumedGateway, nodeAddr } from '../engine/compile/underlay.js';
import { ImportWarnings, plural, type ImportWarning } from './warnings.js';
import { badRequest, collect, MAX_ERRORS, type KubernetesImportBodyDoc } from './kubernetes/schema.js';
import { chooseCni, describeCni, detect, type CniOptions, type ImportedCni } from './kubernetes/cni.js';
import { buildNodes, type NodeSkipReason } from './kubernetes/nodes.js';
import { buildPods, type PodSkipReason } from './kubernetes/pods.js';
import { addPolicies } from './kubernetes/policies.js';
import { importServices } from './kubernetes/services.js';
import { importMasquerade } from './kubernetes/masquerade.js';

export { KubernetesImportBody, type KubernetesImportBodyDoc } from './kubernetes/schema.js';
export { CNI_MODES, CNI_PLUGINS, CniRequiredError, type CniMode, type CniPlugin } from './kubernetes/cni.js';
export { NODE_SKIP_REASONS } from './kubernetes/nodes.js';
export { POD_SKIP_REASONS } from './kubernetes/pods.js';

export interface ImportOptions extends CniOptions {
  /** description= of the query string. */
  description?: string;
}

export interface ImportCounts {
  nodes: number;
  pods: number;
  skipped: Record<PodSkipReason, number>;
  skippedNodes: Record<NodeSkipReason, number>;
  /** Objects of other kinds in the List (Services, Deployments...), by kind. */
  ignored: Record<string, number>;
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
 * The network the nodes sit on: `network` as given, else what the objects show. Calico's `IPv4Address` annotations
 * give the nodes' subnet (`172.18.0.3/16`); without them it is the smallest prefix that holds the node addresses. Real
 * nodes have a default route, through a router the objects never name: unless network.gateway is given, one is assumed
 * on that subnet (a host outside the model, so that traces that leave the cluster end EXITS_NETWORK), and the answer's
 * warnings say so.
 */
/** The data paths whose VPC router (routed.ts) holds the way out: a default route to an internet gateway. */
const routedByCloud = (cni: CniDoc) => cni.plugin === 'aws-vpc-cni' || cni.plugin === 'azure-cni' || cni.plugin === 'gke';

function nodeNetwork(nodes: ClusterDoc['nodes'], cni: CniDoc, given: ClusterNetworkDoc | undefined, warnings: ImportWarnings): ClusterNetworkDoc | undefined {
  if (given?.gateway !== undefined || given?.subnets !== undefined) return given;
  // A cloud's data path has its way out already: the VPC router's default route to the internet gateway.
  if (routedByCloud(cni)) return given;
  // IPv4 first, whatever order kubectl printed the addresses in: a dual-stack node's default route of the family its
  // cluster traffic leaves in. The network form holds one gateway, so the other family gets none (said below).
  const family: Family = nodes.some((n) => nodeAddr(n, 4) !== undefined) ? 4 : 6;
  const dualStack = family === 4 && nodes.some((n) => nodeAddr(n, 6) !== undefined);
  const addrs = nodes.map((n) => nodeAddr(n, family)).filter((a) => a !== undefined);
  if (addrs.length === 0) return given;
  let subnet = given?.cidr === undefined ? undefined : Prefix.parse(given.cidr);
  let from = 'network.cidr';
  if (subnet === undefined) {
    const calico = nodes.map((n) => calicoNodeAddress(n, family)?.prefix);
    const first = calico[0];
    if (first !== undefined && calico.every((p) => p?.equals(first)) && addrs.every((a) => first.contains(a))) {
      subnet = first;
      from = `their ${family === 4 ? ANNOTATION.calicoIPv4Address : ANNOTATION.calicoIPv6Address} annotations`;
    } else {
      subnet = Prefix.smallestContaining(addrs);
      from = 'the smallest prefix that holds their addresses';
    }
  }
  const taken = new Set(nodes.flatMap((n) => n.addresses.map((a) => a.address)));
  const assumed = assumedGateway(subnet, taken);
  if (assumed === undefined) return given;
  warnings.add(
    'network-gateway-assumed',
    `the objects do not name the nodes' gateway: ${assumed.gateway} on ${assumed.cidr} (the nodes' subnet: ${from}) was assumed, a router outside ` +
      'the model, so that what leaves the cluster exits there' +
      (dualStack ? " (IPv4, the nodes' first family: none is assumed for IPv6, whose traffic out of the cluster finds no route)" : '') +
      '; give network.gateway (and network.cidr) next to the objects to say where it is',
    '',
    `network: {"cidr": "${assumed.cidr}", "gateway": "${assumed.gateway}"}`,
  );
  return { ...given, cidr: assumed.cidr.toString(), gateway: assumed.gateway.toString() };
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
  const services = importServices(body.items, ignored);
  const warnings = new ImportWarnings();
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

  // The data path's masquerade settings (and Cilium's kube-proxy replacement) from the ConfigMaps and IPPools in the List.
  const masq = importMasquerade(body.items, cni.cni, ignored, warnings);
  const cluster: ClusterDoc = { nodes: built.nodes, pods: clusterPods, cni: masq.cni, ...(masq.ipMasqAgent !== undefined ? { ipMasqAgent: masq.ipMasqAgent } : {}), ...services };
  const network = nodeNetwork(built.nodes, cni.cni, body.network, warnings);
  if (network !== undefined) cluster.network = network;
  addPolicies(cluster, body);
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

  const counts: ImportCounts = { nodes: built.nodes.length, pods: clusterPods.length, skipped, skippedNodes, ignored };
  const skippedTotal = Object.values(skipped).reduce((a, b) => a + b, 0);
  const description =
    options.description ??
    body.description ??
    `Imported from Kubernetes objects: ${plural(counts.nodes, 'node')}, ${plural(counts.pods, 'pod')}${skippedTotal > 0 ? ` (${skippedTotal} left out)` : ''}, ${describeCni(cni.cni)}.`;
  return { cluster, spec, description, counts, cni: { ...cni, cni: masq.cni }, warnings: warnings.list() };
}
