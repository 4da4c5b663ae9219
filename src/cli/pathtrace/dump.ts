// `pathtrace dump`: what iproute2, bridge and sysctl print in every network namespace of a node, as the dumps document
// of POST /v1/topologies takes it (one JSON object a line). The commands are the README's; the kernel suite dumps the
// namespaces it realises with this same function.
import type { DumpNetnsDoc } from '../../topology/schema.js';
import { CommandError } from './errors.js';

/** Runs a command (argv[0] found on PATH) and resolves with what it printed on stdout. */
export type Exec = (argv: string[]) => Promise<string>;

export type NamespaceDump = Omit<DumpNetnsDoc, 'name' | 'kind' | 'node'>;

/** The sysctls that change a forwarding decision (what `sysctl -a -r` prints, as {name: value}). */
export const SYSCTL_PATTERN =
  '^net\\.ipv(4\\.(ip_forward|conf\\..*\\.(proxy_arp|forwarding|rp_filter)|fib_multipath_hash_(policy|seed))|6\\.(conf\\.(all\\.forwarding|.*\\.proxy_ndp)|fib_multipath_hash_policy))$';

const JSON_COMMANDS = {
  link: ['ip', '-j', '-d', 'link', 'show'],
  addr: ['ip', '-j', 'addr', 'show'],
  route: ['ip', '-j', 'route', 'show', 'table', 'all'],
  route6: ['ip', '-6', '-j', 'route', 'show', 'table', 'all'],
  neigh: ['ip', '-j', 'neigh', 'show'],
  neighProxy: ['ip', '-j', 'neigh', 'show', 'proxy'],
  fdb: ['bridge', '-j', 'fdb', 'show'],
} as const;

/** `sysctl -a -r` prints "name = value" lines. */
export function parseSysctl(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .map((line) => line.split(' = '))
      .filter((kv) => kv.length === 2)
      .map(([k, v]) => [k!.trim(), v!.trim()]),
  );
}

/** One namespace ("" is the one the command runs in, else a name of `ip netns list`), read with the README's commands. */
export async function dumpNamespace(exec: Exec, netns: string): Promise<NamespaceDump> {
  const inside = (argv: readonly string[]) => (netns === '' ? [...argv] : ['ip', 'netns', 'exec', netns, ...argv]);
  const json = async (argv: readonly string[]) => {
    const out = await exec(inside(argv));
    try {
      return JSON.parse(out) as unknown[];
    } catch {
      throw new CommandError(`${inside(argv).join(' ')} printed no JSON (iproute2 too old for -j?): ${out.slice(0, 200)}`);
    }
  };
  const fields = Object.keys(JSON_COMMANDS) as (keyof typeof JSON_COMMANDS)[];
  const [sysctl, ...values] = await Promise.all([
    exec(inside(['sysctl', '-a', '-r', SYSCTL_PATTERN])),
    ...fields.map((f) => json(JSON_COMMANDS[f])),
  ]);
  return { ...Object.fromEntries(fields.map((f, i) => [f, values[i]])), sysctl: parseSysctl(sysctl!) } as NamespaceDump;
}

/** The names `ip netns list` prints ("cni-1a2b (id: 0)" is cni-1a2b). */
export async function namespaces(exec: Exec): Promise<string[]> {
  return (await exec(['ip', 'netns', 'list'])).split('\n').map((line) => line.trim().split(/\s+/)[0]!).filter(Boolean);
}

/** The node's own namespace, then each of its named namespaces as a pod on it: the lines of `<node>.jsonl`. */
export async function dumpNode(exec: Exec, node: string, onNamespace: (name: string) => void = () => {}): Promise<DumpNetnsDoc[]> {
  onNamespace(node);
  const docs: DumpNetnsDoc[] = [{ name: node, kind: 'node', ...(await dumpNamespace(exec, '')) }];
  for (const ns of await namespaces(exec)) {
    onNamespace(ns);
    docs.push({ name: ns, kind: 'pod', node, ...(await dumpNamespace(exec, ns)) });
  }
  return docs;
}
