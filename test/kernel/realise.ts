// Builds a compiled fabric for real: one network namespace per fabric netns, veth pairs, bridges and their ports,
// segments as a bridge in a switch namespace, addresses, routes, sysctls and link state. Every namespace carries the run's
// prefix and is deleted by remove(), also when the build fails half-way; nothing is created in the root namespace (veth
// pairs are created inside their namespaces with `ip -n A link add … peer … netns B`).
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { DEFAULT_MTU, type Fabric, type Link, type Netns } from '../../src/engine/fabric.js';
import type { Route } from '../../src/engine/route.js';
import { fibRoutes, remoteNeighbours } from '../../src/engine/materialise.js';
import { connectedRoute } from '../../src/engine/compile/fabric.js';

const run = promisify(execFile);

export async function sh(cmd: string, args: string[], input?: string): Promise<string> {
  if (input === undefined) return (await run(cmd, args, { maxBuffer: 64 << 20 })).stdout;
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
    child.stdin!.end(input);
  });
}

/** Runs `ip -n ns -batch -`: one process for many commands. */
async function batch(ns: string, lines: string[], family?: 4 | 6): Promise<void> {
  if (lines.length === 0) return;
  await sh('ip', [...(family ? [`-${family}`] : []), '-n', ns, '-batch', '-'], `${lines.join('\n')}\n`);
}

/** Why network namespaces cannot be used here (a test's skip reason), or undefined when they can. */
export function namespacesWork(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  const probe = `ptprobe${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'network namespaces do not work here';
  }
}

export interface Realised {
  readonly prefix: string;
  /** The kernel namespace that realises a fabric netns. */
  nsName(ns: Netns): string;
  remove(): Promise<void>;
}

const created = new Set<string>();
let hooked = false;
function hookCleanup() {
  if (hooked) return;
  hooked = true;
  const cleanup = () => {
    for (const ns of created) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanup();
      process.exit(130);
    });
  }
}

/** A connected route to delete after its address is added (`ip route del <prefix> dev <link>`). */
export interface DeletedConnected {
  readonly netns: string;
  readonly prefix: string;
  readonly dev: string;
}

function routeLine(route: Route, ns: Netns, verb: 'append' | 'replace'): string {
  const dev = (i: number) => ns.links[i]!.name;
  const parts = ['route', verb];
  if (route.type !== 'unicast') parts.push(route.type);
  parts.push(route.prefix.toString());
  if (route.nexthops.length === 1) {
    const nh = route.nexthops[0]!;
    if (nh.gateway) parts.push('via', nh.gateway.toString());
    parts.push('dev', dev(nh.dev));
    if (nh.onlink) parts.push('onlink');
  }
  if (route.scope === 'link' && route.type === 'unicast' && route.nexthops.every((n) => !n.gateway)) parts.push('scope', 'link');
  parts.push('metric', String(route.metric));
  if (route.nexthops.length > 1) {
    for (const nh of route.nexthops) {
      parts.push('nexthop');
      if (nh.gateway) parts.push('via', nh.gateway.toString());
      parts.push('dev', dev(nh.dev), 'weight', String(nh.weight));
      if (nh.onlink) parts.push('onlink');
    }
  }
  return parts.join(' ');
}

/**
 * The kernel's own route for a (prefix, metric) that a route of the FIB takes the place of: the connected route of an
 * address (without noprefixroute) of an up link that is no bridge port. Such a route is added with `ip route replace`.
 */
function replacedConnected(ns: Netns): Set<string> {
  const keys = new Set<string>();
  for (const l of ns.links) {
    if (!l.up || l.master >= 0) continue;
    for (const a of l.addrs) {
      const route = a.noprefixroute ? undefined : connectedRoute(a, l.index);
      if (route !== undefined) keys.add(`${route.prefix} ${route.metric}`);
    }
  }
  return keys;
}

/**
 * Realises a fabric. A noprefixroute address is added with noprefixroute, unless `deleted` names its connected route:
 * then it is added plainly and the route deleted, as an operator's `ip route del` leaves it.
 */
export async function realise(fabric: Fabric, prefix: string, deleted: readonly DeletedConnected[] = []): Promise<Realised> {
  hookCleanup();
  const names = fabric.netns.map((_, i) => `${prefix}-${i}`);
  const sw = `${prefix}-sw`;
  const externals = new Map<number, string>();
  const mine: string[] = [];
  const realised: Realised = {
    prefix,
    nsName: (ns) => names[ns.id]!,
    async remove() {
      await Promise.all(
        mine.map(async (ns) => {
          await sh('ip', ['netns', 'del', ns]).catch(() => undefined);
          created.delete(ns);
        }),
      );
    },
  };
  const addNs = async (name: string, forwarding: boolean) => {
    await sh('ip', ['netns', 'add', name]);
    created.add(name);
    mine.push(name);
    // A new namespace inherits the host's IPv4 all/default settings: pin every one that changes a routing decision.
    const f = forwarding ? '1' : '0';
    await sh('ip', [
      'netns', 'exec', name, 'sysctl', '-q', '-w',
      `net.ipv4.ip_forward=${f}`, `net.ipv6.conf.all.forwarding=${f}`,
      'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0',
      'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.default.send_redirects=0',
      'net.ipv4.conf.all.accept_redirects=0', 'net.ipv4.conf.default.accept_redirects=0',
      'net.ipv4.conf.all.proxy_arp=0', 'net.ipv4.conf.default.proxy_arp=0',
      'net.ipv4.conf.all.arp_ignore=0', 'net.ipv4.conf.default.arp_ignore=0',
      'net.ipv4.conf.all.arp_announce=0', 'net.ipv4.conf.default.arp_announce=0',
      'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0',
      'net.ipv4.icmp_ratelimit=0',
    ]);
  };
  try {
    for (const ns of fabric.netns) await addNs(names[ns.id]!, ns.forwarding);
    // ECMP: each netns hashes with the document's policy, and its seed where it gives one (else a key drawn now).
    for (const ns of fabric.netns) {
      const policy = `${ns.multipathHashPolicy ?? 0}`;
      const seed = ns.multipathHashSeed === undefined ? [] : [`net.ipv4.fib_multipath_hash_seed=${ns.multipathHashSeed}`];
      await sh('ip', ['netns', 'exec', names[ns.id]!, 'sysctl', '-q', '-w', `net.ipv4.fib_multipath_hash_policy=${policy}`, `net.ipv6.fib_multipath_hash_policy=${policy}`, ...seed]);
    }
    const segmentsUsed = new Set(fabric.links.filter((l) => l.segment >= 0).map((l) => l.segment));
    if (segmentsUsed.size > 0) await addNs(sw, false);

    const perNs = new Map<string, string[]>();
    const cmd = (ns: string, line: string) => perNs.set(ns, [...(perNs.get(ns) ?? []), line]);
    const swLines: string[] = [];
    for (const s of segmentsUsed) swLines.push(`link add seg${s} type bridge forward_delay 0 stp_state 0`, `link set seg${s} up`);

    const nsOf = async (l: Link): Promise<string> => {
      if (l.netns >= 0) return names[l.netns]!;
      let name = externals.get(l.id);
      if (name === undefined) {
        name = `${prefix}-x${l.id}`;
        externals.set(l.id, name);
        await addNs(name, false);
      }
      return name;
    };
    // Links, in creation order: bridges and veths first (ports need their bridge), then the rest.
    const linkLines: { ns: string; line: string }[] = [];
    for (const l of fabric.links) {
      const ns = await nsOf(l);
      const name = l.netns >= 0 ? l.name : 'eth0';
      if (l.kind === 'bridge') linkLines.unshift({ ns, line: `link add ${name} type bridge forward_delay 0 stp_state 0` });
      else if (l.kind === 'veth' && l.peer >= 0) {
        if (l.id < l.peer) {
          const peer = fabric.links[l.peer]!;
          linkLines.push({ ns, line: `link add ${name} type veth peer name ${peer.name} netns ${await nsOf(peer)}` });
        }
      } else if (l.kind === 'dummy') linkLines.push({ ns, line: `link add ${name} type dummy` });
      else if (l.kind === 'vxlan' && l.tunnel !== undefined && l.tunnel.ipcache.length === 0) {
        // After the underlay link it names: a node's links are created in order, and eth0 comes first.
        const t = l.tunnel;
        const under = t.underlay >= 0 ? ` dev ${fabric.netns[l.netns]!.links[t.underlay]!.name}` : '';
        const local = t.local ? ` local ${t.local}` : '';
        linkLines.push({ ns, line: `link add ${name} type vxlan id ${t.vni}${local}${under} dstport ${t.port} nolearning` });
      } else if (l.tunnel !== undefined) {
        throw new Error(`${l.name}: a ${l.kind} link${l.tunnel.ipcache.length > 0 ? ' with an ipcache' : ''} is not realised`);
      } else {
        // A physical NIC (or an outside host's): a veth whose other end is a port of the segment's switch, or stands
        // alone when the NIC is plugged into nothing.
        linkLines.push({ ns, line: `link add ${name} type veth peer name p${l.id} netns ${sw}` });
        if (l.segment >= 0) swLines.push(`link set p${l.id} master seg${l.segment}`);
        swLines.push(`link set p${l.id} up`);
      }
    }
    if (segmentsUsed.size > 0) await batch(sw, swLines.filter((x) => x.startsWith('link add seg') || x.startsWith('link set seg')));
    for (const { ns, line } of linkLines) await batch(ns, [line]);
    if (segmentsUsed.size > 0) await batch(sw, swLines.filter((x) => !x.startsWith('link add seg') && !x.startsWith('link set seg')));

    const proxy: [string, string][] = [];
    for (const l of fabric.links) {
      const ns = await nsOf(l);
      const name = l.netns >= 0 ? l.name : 'eth0';
      if (l.master >= 0) cmd(ns, `link set ${name} master ${fabric.links[l.master]!.name}`);
      if (l.mac !== undefined) cmd(ns, `link set ${name} address ${l.mac}`);
      if (l.mtu !== DEFAULT_MTU) cmd(ns, `link set ${name} mtu ${l.mtu}`);
      for (const a of l.addrs) {
        const plain = !a.noprefixroute || deleted.some((d) => d.netns === fabric.netns[l.netns]?.name && d.dev === l.name && d.prefix === a.prefix.toString());
        cmd(ns, `addr add ${a} dev ${name}${a.addr.family === 6 ? ' nodad' : ''}${plain ? '' : ' noprefixroute'}`);
      }
      cmd(ns, `link set ${name} up`);
      if (l.proxyArp) proxy.push([ns, name]);
    }
    for (const ns of [...names, ...externals.values()]) cmd(ns, 'link set lo up');
    for (const [ns, lines] of perNs) await batch(ns, lines);
    for (const l of fabric.links) {
      if (l.proxyNdp.length === 0) continue;
      const ns = await nsOf(l);
      // proxy_delay 0: as for proxy ARP below, a held-back answer would time pings out at random.
      await sh('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `net.ipv6.conf.${l.name}.proxy_ndp=1`, `net.ipv6.neigh.${l.name}.proxy_delay=0`]);
      await batch(ns, l.proxyNdp.map((a) => `neigh add proxy ${a} dev ${l.name}`), 6);
    }
    for (const [ns, link] of proxy) {
      // proxy_delay 0, as Calico's Felix sets it on its cali interfaces: by default Linux holds a proxy-ARP answer back
      // for up to 0.8 s, and a one-second ping over two proxied hops (there and back) would time out at random.
      await sh('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `net.ipv4.conf.${link}.proxy_arp=1`, `net.ipv4.neigh.${link}.proxy_delay=0`]);
    }

    // Permanent neighbours and VXLAN FDB entries, which tunnels need before they can send.
    for (const ns of fabric.netns) {
      const { neigh, fdb } = remoteNeighbours(ns);
      await batch(names[ns.id]!, neigh.map((n) => `neigh replace ${n.dst} lladdr ${n.lladdr} dev ${ns.links[n.dev]!.name} nud permanent`));
      for (const e of fdb) {
        await sh('ip', ['netns', 'exec', names[ns.id]!, 'bridge', 'fdb', 'append', e.mac, 'dev', ns.links[e.dev]!.name, 'dst', e.dst.toString()]);
      }
    }

    // Deleted connected routes; routes (the connected ones are the kernel's own, and the first route of the same
    // destination and metric replaces one); then the faults that flush routes: links set down.
    for (const d of deleted) {
      const ns = fabric.byName.get(d.netns)!;
      await batch(names[ns.id]!, [`route del ${d.prefix} dev ${d.dev}`], d.prefix.includes(':') ? 6 : 4);
    }
    for (const ns of fabric.netns) {
      const replaced = replacedConnected(ns);
      for (const family of [4, 6] as const) {
        const fib = family === 4 ? ns.fib4 : ns.fib6;
        const routes = fibRoutes(fib).filter((r) => r.protocol !== 'kernel');
        const lines = routes.map((r) => routeLine(r, ns, replaced.delete(`${r.prefix} ${r.metric}`) ? 'replace' : 'append'));
        await batch(names[ns.id]!, lines, family);
      }
    }
    for (const l of fabric.links) {
      if (!l.up) await batch(await nsOf(l), [`link set ${l.netns >= 0 ? l.name : 'eth0'} down`]);
    }
    await settle(fabric, names);
    return realised;
  } catch (err) {
    await realised.remove();
    throw err;
  }
}

/** Carrier changes arrive asynchronously: wait until every veth whose both ends are up reports carrier. */
async function settle(fabric: Fabric, names: string[]): Promise<void> {
  const deadline = Date.now() + 5000;
  for (const ns of fabric.netns) {
    const expected = ns.links.filter((l) => l.kind === 'veth' && l.up && l.peer >= 0 && fabric.links[l.peer]!.up).map((l) => l.name);
    if (expected.length === 0) continue;
    for (;;) {
      const links = JSON.parse(await sh('ip', ['-n', names[ns.id]!, '-j', 'link', 'show'])) as { ifname: string; flags: string[] }[];
      const ready = expected.every((n) => links.find((l) => l.ifname === n)?.flags.includes('LOWER_UP'));
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`links of ${ns.name} did not come up`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
