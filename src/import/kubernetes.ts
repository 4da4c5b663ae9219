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
import type { ClusterDoc, TopologySpec } from '../topology/schema.js';
import { ImportWarnings, plural, type ImportWarning } from './warnings.js';
import { badRequest, collect, MAX_ERRORS, type KubernetesImportBodyDoc } from './kubernetes/schema.js';
import { chooseCni, describeCni, detect, type CniOptions, type ImportedCni } from './kubernetes/cni.js';
import { buildNodes, type NodeSkipReason } from './kubernetes/nodes.js';
import { buildPods, type PodSkipReason } from './kubernetes/pods.js';
import { addPolicies } from './kubernetes/policies.js';

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
 * Builds the cluster form from kubectl's objects. Throws DataError: 400 for input kubectl does not print, 422 when no node
 * can be imported, and CniRequiredError (422) when no cni was given and the objects do not say.
 */
export function importKubernetes(body: KubernetesImportBodyDoc, options: ImportOptions = {}): KubernetesImport {
  if (body.description !== undefined && options.description !== undefined) {
    throw badRequest('description is given twice', [{ parameter: 'description', detail: 'the body gives description as well: give it in one place' }]);
  }
  const { nodes, pods, ignored } = collect(body);
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

  const cluster: ClusterDoc = { nodes: built.nodes, pods: clusterPods, cni: cni.cni };
  if (body.network !== undefined) cluster.network = body.network;
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

  // Calico's pods reach their gateway 169.254.1.1 by the node's proxy ARP, which answers only for an address the node
  // routes: without a default route (the objects do not say where the nodes' gateway is) they reach nothing.
  if (cni.cni.plugin === 'calico' && cluster.network?.gateway === undefined && cluster.network?.subnets === undefined) {
    warnings.add(
      'no-node-gateway',
      "the nodes have no default route, so Calico's pods get no ARP answer for 169.254.1.1 and reach nothing: give network.gateway next to the objects",
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
