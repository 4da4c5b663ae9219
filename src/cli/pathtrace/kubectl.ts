// What `pathtrace import --kubectl` asks kubectl for: every object the import reads (README, "Import what kubectl
// shows"), gathered into one List. Nodes, pods, namespaces, Services, EndpointSlices and NetworkPolicies are asked in
// one command that must succeed; the rest is asked for apart, because a cluster may lack it without being wrong: a
// CRD that is not installed (Calico's IPPools, the AdminNetworkPolicy API), a ConfigMap of another plugin, or the
// right to read kube-system. What kubectl cannot give is left out and said on stderr; the import then keeps that
// part's defaults, as it would for a List without it.
import type { Exec } from './dump.js';
import { CommandError } from './errors.js';
import type { Progress } from './terminal.js';

interface KubectlQuery {
  readonly args: readonly string[];
  /** What the import reads from it, for the line that says it was left out. */
  readonly gives: string;
  readonly required?: boolean;
}

const KUBECTL_QUERIES: readonly KubectlQuery[] = [
  {
    args: ['get', 'nodes,pods,namespaces,services,endpointslices,networkpolicies', '--all-namespaces', '-o', 'json'],
    gives: 'nodes and pods, namespaces, Services and their endpoints, NetworkPolicies',
    required: true,
  },
  {
    args: ['get', '-n', 'kube-system', 'configmap/kube-proxy', 'configmap/ip-masq-agent', 'configmap/cilium-config', 'configmap/kube-flannel-cfg', 'daemonset/aws-node', '--ignore-not-found', '-o', 'json'],
    gives: "kube-proxy's configuration and the data path's masquerade settings (kube-proxy defaults and the plugin's kept)",
  },
  {
    args: ['get', '-n', 'kube-flannel', 'configmap/kube-flannel-cfg', '--ignore-not-found', '-o', 'json'],
    gives: "flannel's network (its masquerade default kept)",
  },
  { args: ['get', 'ippools.crd.projectcalico.org', '-o', 'json'], gives: "Calico's IPPools (natOutgoing defaults kept)" },
  { args: ['get', 'adminnetworkpolicies,baselineadminnetworkpolicies', '-o', 'json'], gives: 'AdminNetworkPolicies' },
];

/**
 * Runs every query with `prefix` (kubectl and its --kubeconfig/--context) and answers one List of all their objects;
 * `progress` says what an optional query could not give, and why.
 */
export async function kubectlList(run: Exec, prefix: readonly string[], progress: Progress): Promise<string> {
  let list: { items: unknown[] } | undefined;
  const extra: unknown[] = [];
  for (const q of KUBECTL_QUERIES) {
    const argv = [...prefix, ...q.args];
    progress.step(`running ${argv.join(' ')}`);
    let text: string;
    try {
      text = await run(argv);
    } catch (e) {
      if (q.required || !(e instanceof CommandError)) throw e;
      progress.say(`left out ${q.gives}: ${e.message}`);
      continue;
    }
    if (q.required) list = parseList(text, argv);
    else extra.push(...itemsOf(text, argv));
  }
  list!.items.push(...extra);
  return JSON.stringify(list);
}

function parseList(text: string, argv: readonly string[]): { items: unknown[] } {
  const doc = parse(text, argv) as { items?: unknown };
  if (typeof doc !== 'object' || doc === null || !Array.isArray(doc.items)) throw new CommandError(`${argv.join(' ')} printed no List`);
  return doc as { items: unknown[] };
}

/** kubectl prints a List for several objects, the object itself for one, and nothing when --ignore-not-found finds none. */
function itemsOf(text: string, argv: readonly string[]): unknown[] {
  if (text.trim() === '') return [];
  const doc = parse(text, argv) as { items?: unknown; kind?: unknown };
  if (Array.isArray(doc?.items)) return doc.items as unknown[];
  return typeof doc?.kind === 'string' ? [doc] : [];
}

function parse(text: string, argv: readonly string[]): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CommandError(`${argv.join(' ')} printed something that is not JSON`);
  }
}
