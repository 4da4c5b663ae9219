// The kernel as the oracle: for every netns where the engine took a routing decision, ask the real namespace the same
// question (`ip route get <dst> from <src> [iif <dev>]`) and compare; for pairs the engine delivers both ways, ping.
import type { Trace, Path, Hop, Step } from '../../src/engine/trace.js';
import type { Realised } from './realise.js';
import { sh } from './realise.js';

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
}

// The realised namespaces do not change while they are questioned, so one answer serves every trace that asks the same
// question (the compiled fabric's and the imported dumps' ask the same ones).
const answers = new Map<string, Promise<KernelRoute | { error: string }>>();

function routeGet(ns: string, family: 4 | 6, dst: string, src: string, iif: string | undefined): Promise<KernelRoute | { error: string }> {
  const key = `${ns} ${family} ${dst} ${src} ${iif ?? ''}`;
  let answer = answers.get(key);
  if (answer === undefined) {
    if (answers.size > 200_000) answers.clear();
    answers.set(key, (answer = askKernel(ns, family, dst, src, iif)));
  }
  return answer;
}

async function askKernel(ns: string, family: 4 | 6, dst: string, src: string, iif: string | undefined): Promise<KernelRoute | { error: string }> {
  const args = [`-${family}`, '-n', ns, '-j', 'route', 'get', dst, 'from', src, ...(iif ? ['iif', iif] : [])];
  try {
    const out = JSON.parse(await sh('ip', args)) as KernelRoute[];
    return out[0] ?? { error: 'empty answer' };
  } catch (err) {
    const m = /RTNETLINK answers: ([^\n]+)|Error: ([^\n]+)/.exec((err as Error).message);
    return { error: (m?.[1] ?? m?.[2] ?? (err as Error).message).trim() };
  }
}

/** The errors `ip route get` reports for each way the engine says a lookup ends. */
const expectedErrors: Record<string, string[]> = {
  NO_ROUTE: ['Network is unreachable'],
  BLACKHOLED: ['Invalid argument'],
  UNREACHABLE: ['No route to host', 'Permission denied'],
  FORWARDING_DISABLED: ['No route to host', 'Network is unreachable'],
};

function stepsOf<T extends Step['type']>(hop: Hop, type: T) {
  return hop.steps.filter((s): s is Extract<Step, { type: T }> => s.type === type);
}

/** Compares every routing decision of one path with the kernel's; returns what disagreed. */
export async function checkPath(t: Trace, path: Path, realised: Realised): Promise<Disagreement[]> {
  const out: Disagreement[] = [];
  const family = t.flow.dst.family as 4 | 6;
  const dst = t.flow.dst.toString();
  const src = t.flow.src.toString();
  for (let i = 0; i < path.hops.length; i++) {
    const hop = path.hops[i]!;
    const route = stepsOf(hop, 'ROUTE')[0];
    const deliver = stepsOf(hop, 'DELIVER')[0];
    if (route === undefined && deliver === undefined) continue; // crossed at layer 2 only
    const receive = stepsOf(hop, 'RECEIVE')[0];
    const ns = realised.nsName(hop.netns);
    const kernel = await routeGet(ns, family, dst, src, receive?.link.name);
    const at = `${hop.netns.name}${receive ? ` iif ${receive.link.name}` : ''}`;
    const seen = 'error' in kernel ? `error: ${kernel.error}` : JSON.stringify(kernel);
    if (deliver !== undefined) {
      if ('error' in kernel || kernel.type !== 'local') out.push({ at, engine: 'local delivery', kernel: seen });
      continue;
    }
    const last = i === path.hops.length - 1;
    const failure = last ? expectedErrors[path.disposition] : undefined;
    if (failure !== undefined) {
      if (!('error' in kernel) || !failure.includes(kernel.error)) out.push({ at, engine: `${path.disposition} (${failure.join(' or ')})`, kernel: seen });
      continue;
    }
    const r = route!.route!;
    const options = r.nexthops.map((nh) => ({ dev: hop.netns.links[nh.dev]!.name, gateway: nh.gateway?.toString() }));
    const chosen = options[route!.nexthop]!;
    const fits = (k: KernelRoute, o: { dev: string; gateway: string | undefined }) => k.dev === o.dev && k.gateway === o.gateway;
    // An ECMP route: the kernel hashes the flow onto one next hop; the engine traces each, so any of them agrees.
    const ok = !('error' in kernel) && (r.ecmp ? options.some((o) => fits(kernel, o)) : fits(kernel, chosen));
    if (!ok) out.push({ at, engine: `dev ${chosen.dev}${chosen.gateway ? ` via ${chosen.gateway}` : ''}`, kernel: seen });
  }
  return out;
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
