// The kernel as the oracle: for every netns where the engine took a routing decision, ask the real namespace the same
// question (`ip route get <dst> from <src> [iif <dev>]`) and compare; at ECMP routes, which next hop the kernel's hash
// takes for a TCP flow; for pairs the engine delivers both ways, ping.
import type { Trace, Path, Hop } from '../../src/engine/trace.js';
import type { Realised } from './realise.js';
import { execFile } from 'node:child_process';
import { sh } from './realise.js';
import { ecmpLookups, kernelNexthop, type FlowKeys } from '../../src/engine/multipath.js';

export interface Disagreement {
  at: string;
  engine: string;
  kernel: string;
}

interface KernelRoute {
  type?: string;
  dst?: string;
  gateway?: string;
  dev?: string;
  /** The source address the kernel picks when none is given. */
  prefsrc?: string;
}

// The realised namespaces do not change while they are questioned, so one answer serves every trace that asks the same
// question (the compiled fabric's and the imported dumps' ask the same ones).
const answers = new Map<string, Promise<KernelRoute | { error: string }>>();

function routeGet(ns: string, family: 4 | 6, dst: string, src: string | undefined, iif: string | undefined): Promise<KernelRoute | { error: string }> {
  const key = `${ns} ${family} ${dst} ${src} ${iif ?? ''}`;
  let answer = answers.get(key);
  if (answer === undefined) {
    if (answers.size > 200_000) answers.clear();
    answers.set(key, (answer = askKernel(ns, `route get ${dst}${src ? ` from ${src}` : ''}${iif ? ` iif ${iif}` : ''}`)));
  }
  return answer;
}

/**
 * The questions asked of one namespace in the same turn of the event loop, answered by one `ip -batch` process: a
 * process per question (fork and exec, ~8 ms of CPU each here) was most of the suite's time. The callers ask
 * concurrently (conformance.test.ts checks many paths at once), so that a turn holds many questions.
 */
const queued = new Map<string, { line: string; resolve: (answer: KernelRoute | { error: string }) => void }[]>();

function askKernel(ns: string, line: string): Promise<KernelRoute | { error: string }> {
  return new Promise((resolve) => {
    let q = queued.get(ns);
    if (q === undefined) {
      queued.set(ns, (q = []));
      setImmediate(() => void flush(ns));
    }
    q.push({ line, resolve });
  });
}

async function flush(ns: string): Promise<void> {
  const q = queued.get(ns)!;
  queued.delete(ns);
  // -force goes on past a failed command; it prints the kernel's error and `Command failed -:<line>` on stderr, and each
  // answered command's JSON on a line of stdout, in order.
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
    const child = execFile('ip', ['-n', ns, '-j', '-force', '-batch', '-'], { maxBuffer: 64 << 20 }, (_err, out, err) => resolve({ stdout: out, stderr: err }));
    child.stdin!.end(`${q.map((x) => x.line).join('\n')}\n`);
  });
  const failed = new Map<number, string>();
  let said = '';
  for (const text of stderr.split('\n')) {
    const at = /^Command failed -:(\d+)$/.exec(text);
    if (at) failed.set(Number(at[1]), said);
    else if (text.trim() !== '') said = text;
  }
  const out = stdout.split('\n').filter((l) => l.trim() !== '');
  let o = 0;
  q.forEach((x, i) => {
    const error = failed.get(i + 1);
    if (error !== undefined) {
      const m = /RTNETLINK answers: ([^\n]+)|Error: ([^\n]+)/.exec(error);
      return x.resolve({ error: (m?.[1] ?? m?.[2] ?? error).trim() });
    }
    const line = out[o++];
    // An answer missing (ip stopped at a command it could not parse): say so, as a disagreement will.
    if (line === undefined) return x.resolve({ error: `no answer from ip -batch (${stderr.trim().split('\n').at(-1) ?? ''})` });
    x.resolve((JSON.parse(line) as KernelRoute[])[0] ?? { error: 'empty answer' });
  });
}

/** The errors `ip route get` reports for each way the engine says a lookup ends. */
const expectedErrors: Record<string, string[]> = {
  NO_ROUTE: ['Network is unreachable'],
  BLACKHOLED: ['Invalid argument'],
  UNREACHABLE: ['No route to host', 'Permission denied'],
  FORWARDING_DISABLED: ['No route to host', 'Network is unreachable'],
};

/**
 * Compares every routing decision of one path with the kernel's; returns what disagreed. Inside a tunnel the lookups are
 * for the outer packet, which the netns sends itself (no iif); where the outer packet arrives, the kernel must take its
 * destination as local before the inner packet goes on.
 */
export async function checkPath(t: Trace, path: Path, realised: Realised): Promise<Disagreement[]> {
  const out: Disagreement[] = [];
  const dst = t.flow.dst.toString();
  const src = t.flow.src.toString();
  const familyOf = (a: string) => (a.includes(':') ? 6 : 4) as 4 | 6;
  for (const hop of path.hops) {
    const ns = realised.nsName(hop.netns);
    let iif: string | undefined;
    const local = async (what: string, d: string, s: string) => {
      const kernel = await routeGet(ns, familyOf(d), d, s, iif);
      if ('error' in kernel || kernel.type !== 'local') {
        out.push({ at: `${hop.netns.name}${iif ? ` iif ${iif}` : ''}`, engine: what, kernel: 'error' in kernel ? `error: ${kernel.error}` : JSON.stringify(kernel) });
      }
    };
    for (let k = 0; k < hop.steps.length; k++) {
      const step = hop.steps[k]!;
      if (step.type === 'RECEIVE') iif = step.link.name;
      else if (step.type === 'ENCAPSULATE') iif = undefined;
      else if (step.type === 'DECAPSULATE') await local('local delivery of the outer packet', step.outer.dst.toString(), step.outer.src.toString());
      else if (step.type === 'DELIVER') await local('local delivery', dst, src);
      else if (step.type === 'ROUTE') {
        const kernel = await routeGet(ns, step.dst.family as 4 | 6, step.dst.toString(), step.src.toString(), iif);
        const at = `${hop.netns.name}${iif ? ` iif ${iif}` : ''}${step.dst === t.flow.dst ? '' : ` (outer, to ${step.dst})`}`;
        const seen = 'error' in kernel ? `error: ${kernel.error}` : JSON.stringify(kernel);
        const next = hop.steps[k + 1];
        // IPv6 drops a packet it may not forward in ip6_forward, after the lookup that `ip route get` shows: there the
        // kernel answers with the route the engine matched (the pings tell whether it is forwarded).
        const v6NoForwarding = next?.type === 'DROP' && next.disposition === 'FORWARDING_DISABLED' && step.dst.family === 6;
        // A packet back at its sender is refused by the lookup itself (martian source: Invalid argument).
        const martian = next?.type === 'DROP' && next.detail.kind === 'martian';
        const failure = martian ? ['Invalid argument'] : next?.type === 'DROP' && !v6NoForwarding ? expectedErrors[next.disposition] : undefined;
        if (failure !== undefined) {
          if (!('error' in kernel) || !failure.includes(kernel.error)) out.push({ at, engine: `${next!.type === 'DROP' ? next.disposition : ''} (${failure.join(' or ')})`, kernel: seen });
          continue;
        }
        const r = step.route!;
        const options = r.nexthops.map((nh) => ({ dev: hop.netns.links[nh.dev]!.name, gateway: nh.gateway?.toString() }));
        const chosen = options[step.nexthop]!;
        const fits = (k: KernelRoute, o: { dev: string; gateway: string | undefined }) => k.dev === o.dev && k.gateway === o.gateway;
        // An ECMP route: the kernel hashes the flow onto one next hop; the engine traces each, so any of them agrees.
        const ok = !('error' in kernel) && (r.ecmp ? options.some((o) => fits(kernel, o)) : fits(kernel, chosen));
        if (!ok) out.push({ at, engine: `dev ${chosen.dev}${chosen.gateway ? ` via ${chosen.gateway}` : ''}`, kernel: seen });
      }
    }
  }
  return out;
}

/** For a trace a netns sends without a bound address: the source the engine picked against the kernel's `prefsrc`. */
export async function checkSource(t: Trace, realised: Realised): Promise<Disagreement[]> {
  const source = t.paths[0]!.hops[0]!.netns;
  const kernel = await routeGet(realised.nsName(source), t.flow.dst.family as 4 | 6, t.flow.dst.toString(), undefined, undefined);
  if ('error' in kernel || kernel.prefsrc === undefined || kernel.prefsrc === t.flow.src.toString()) return [];
  return [{ at: `${source.name} (source address)`, engine: t.flow.src.toString(), kernel: `prefsrc ${kernel.prefsrc}` }];
}

export async function ping(realised: Realised, from: Hop['netns'], src: string, dst: string): Promise<boolean> {
  const family = dst.includes(':') ? '-6' : '-4';
  try {
    await sh('ip', ['netns', 'exec', realised.nsName(from), 'ping', family, '-n', '-q', '-c', '1', '-W', '1', '-I', src, dst]);
    return true;
  } catch {
    return false;
  }
}

/**
 * ECMP: at every multipath route of a path, the next hop the engine says the kernel's hash takes for this TCP flow (or,
 * in a tunnel, its outer packet), against `ip route get … ipproto … [sport … dport …]`. A tunnel that names no local
 * address routes its outer packet without a source (the kernel hashes saddr 0). Counts the lookups compared in `count`.
 */
export async function checkBranches(path: Path, realised: Realised, keys: FlowKeys, count: { lookups: number }): Promise<Disagreement[]> {
  const out: Disagreement[] = [];
  for (const lookup of ecmpLookups(path.hops)) {
    const engine = kernelNexthop(lookup, keys, false);
    if (typeof engine === 'string') continue;
    const { netns, outer, iif } = lookup;
    const sourceless = outer !== undefined && lookup.output && !outer.local;
    const transport =
      outer === undefined
        ? ['ipproto', 'tcp', 'sport', String(keys.srcPort), 'dport', String(keys.dstPort)]
        : ['ipproto', outer.protocol === 'udp' ? 'udp' : '4'];
    const line = ['route', 'get', lookup.dst.toString(), ...(sourceless ? [] : ['from', lookup.src.toString()]), ...(iif ? ['iif', iif.name] : []), ...transport].join(' ');
    const nh = lookup.route.nexthops[engine]!;
    const expected = `dev ${netns.links[nh.dev]!.name}${nh.gateway ? ` via ${nh.gateway}` : ''}`;
    count.lookups++;
    const k = await askKernel(realised.nsName(netns), line);
    const seen = 'error' in k ? `error: ${k.error}` : `dev ${k.dev}${k.gateway ? ` via ${k.gateway}` : ''}`;
    if (seen !== expected) {
      const policy = netns.multipathHashPolicy ?? 0;
      out.push({ at: `${netns.name} ECMP ${lookup.route.prefix} (policy ${policy}, ${lookup.output ? 'sent' : `iif ${iif?.name}`}${outer ? ', outer' : ''})`, engine: expected, kernel: seen });
    }
  }
  return out;
}
