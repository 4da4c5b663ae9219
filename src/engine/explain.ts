// Turns a trace into what people and programs read: hops with named links, routes in `ip -j route` form, one sentence per
// step saying why, and a one-line summary a chatops bot can post as it is. Runs only when an answer is rendered.
import type { Addr } from './addr.js';
import type { Fabric, Link, Netns } from './fabric.js';
import type { Route } from './route.js';
import type { Disposition, Hop, Path, Step, Trace } from './trace.js';

export interface StepReport {
  type: string;
  explanation: string;
  [detail: string]: unknown;
}

export interface HopReport {
  netns: string;
  kind: string;
  node?: string;
  in?: string;
  out?: string;
  steps: StepReport[];
}

export interface PathReport {
  disposition: Disposition;
  hops: HopReport[];
  summary: string;
}

export interface TraceReport extends PathReport {
  /** Every path when an ECMP route splits the flow (the first is the one above). */
  paths?: (PathReport & { choices: number[] })[];
}

const routeText = (r: Route, ns: Netns) => {
  const j = r.toJSON((dev) => ns.links[dev]!.name);
  const parts = [j.type, j.dst, j.gateway ? `via ${j.gateway}` : undefined, j.dev ? `dev ${j.dev}` : undefined];
  if (r.metric !== 0 && !(r.protocol === 'kernel')) parts.push(`metric ${r.metric}`);
  return parts.filter(Boolean).join(' ');
};

const prefixText = (r: Route) => (r.prefix.bits === 0 ? 'default /0' : `/${r.prefix.bits}`);

function linkLabel(fabric: Fabric, link: Link): string {
  return link.netns < 0 ? link.name : `${fabric.netns[link.netns]!.name} ${link.name}`;
}

function routeStep(fabric: Fabric, ns: Netns, dst: Addr, route: Route | undefined, nexthop: number): StepReport {
  const fib = dst.family === 4 ? ns.fib4 : ns.fib6;
  const all = fib.candidates(dst);
  const devName = (dev: number) => ns.links[dev]!.name;
  const candidates = all
    .filter((r) => r !== route)
    .map((r) => ({
      route: r.toJSON(devName),
      why:
        route === undefined
          ? 'not selected'
          : r.prefix.bits < route.prefix.bits
            ? `shorter prefix (${prefixText(r)} loses to ${prefixText(route)})`
            : r.metric > route.metric
              ? `higher metric (${r.metric} loses to ${route.metric})`
              : `same prefix and metric: the route listed first wins`,
    }));
  if (route === undefined) {
    return {
      type: 'ROUTE',
      table: 'main',
      route: null,
      candidates,
      explanation: `no route in ${ns.name}'s main table contains ${dst}, and there is no default route`,
    };
  }
  const text = routeText(route, ns);
  let why: string;
  const shorter = all.find((r) => r.prefix.bits < route.prefix.bits);
  const same = all.filter((r) => r !== route && r.prefix.bits === route.prefix.bits);
  const higher = same.filter((r) => r.metric > route.metric).map((r) => r.metric);
  if (all.length === 1) why = `${text} is the longest prefix that contains ${dst}: no other route in ${ns.name}'s main table does`;
  else {
    why = `${text} is the longest prefix that contains ${dst}`;
    const reasons: string[] = [];
    if (shorter) reasons.push(`${prefixText(route)} beats ${prefixText(shorter)}`);
    if (higher.length > 0) reasons.push(`metric ${route.metric} beats ${higher.join(', ')}`);
    if (higher.length < same.length) reasons.push(`listed first among routes of metric ${route.metric}`);
    if (reasons.length > 0) why += ` (${reasons.join('; ')})`;
  }
  if (route.type === 'blackhole') why += ': a blackhole route discards the packet silently';
  else if (route.type === 'unreachable') why += ': an unreachable route rejects the packet (ICMP host unreachable)';
  else if (route.type === 'prohibit') why += ': a prohibit route rejects the packet (ICMP administratively prohibited)';
  if (route.ecmp) {
    const nh = route.nexthops[nexthop]!;
    why += `; it has ${route.nexthops.length} next hops (ECMP) and this path takes #${nexthop + 1}, ${nh.gateway ? `via ${nh.gateway} ` : ''}dev ${devName(nh.dev)}`;
  }
  return {
    type: 'ROUTE',
    table: 'main',
    route: route.toJSON(devName),
    ...(route.ecmp ? { nexthop } : {}),
    candidates,
    explanation: why,
  };
}

function stepReport(fabric: Fabric, hop: Hop, step: Step): StepReport {
  const ns = hop.netns;
  switch (step.type) {
    case 'ORIGINATE':
      return {
        type: 'ORIGINATE',
        src: step.src.toString(),
        dst: step.dst.toString(),
        ttl: step.ttl,
        explanation: `${ns.name} sends a packet from ${step.src} to ${step.dst} (TTL ${step.ttl})`,
      };
    case 'RECEIVE':
      return {
        type: 'RECEIVE',
        link: step.link.name,
        ttl: step.ttl,
        explanation: `${ns.name} receives the packet on ${step.link.name} (TTL ${step.ttl})`,
      };
    case 'ROUTE':
      return routeStep(fabric, ns, step.dst, step.route, step.nexthop);
    case 'BRIDGE': {
      const detail = { type: 'BRIDGE', bridge: step.bridge.name, from: step.from?.name ?? null, to: step.to?.name ?? null };
      if (step.to === undefined) {
        return { ...detail, explanation: `${step.bridge.name} passes the frame from port ${step.from!.name} up to ${ns.name}'s own IP stack: it is addressed to the bridge` };
      }
      if (step.from === undefined) {
        return { ...detail, explanation: `${step.bridge.name} switches the frame out of port ${step.to.name}, the port that leads to the next hop` };
      }
      return {
        ...detail,
        explanation: `${step.bridge.name} switches the frame from port ${step.from.name} to port ${step.to.name} at layer 2, without a route lookup in ${ns.name}`,
      };
    }
    case 'TRANSMIT': {
      const who = linkLabel(fabric, step.answeredBy);
      const how =
        step.how === 'proxy'
          ? `${who} answers ARP for it by proxy (proxy_arp), since its netns routes ${step.neighbor} out of another link`
          : step.how === 'host'
            ? `${who} answers ARP for it: the address is one of that netns's own, on another link`
            : step.answeredBy.netns < 0
              ? `it belongs to a host outside the model (${step.answeredBy.name.replace(/^external /, '')})`
              : `${who} owns it`;
      return {
        type: 'TRANSMIT',
        link: step.link.name,
        neighbor: step.neighbor.toString(),
        answeredBy: step.answeredBy.netns < 0 ? { external: true } : { netns: fabric.netns[step.answeredBy.netns]!.name, link: step.answeredBy.name },
        explanation: `${ns.name} sends the packet out of ${step.link.name} to the next hop ${step.neighbor}; ${how}`,
      };
    }
    case 'DELIVER':
      return {
        type: 'DELIVER',
        link: step.link.name,
        address: step.dst.toString(),
        explanation: `${step.dst} is an address of ${ns.name} (on ${step.link.name}): the local table, looked up before the main table, delivers it locally`,
      };
    case 'DROP':
      return { type: 'DROP', disposition: step.disposition, explanation: dropText(fabric, ns, step), ...dropDetail(fabric, step) };
  }
}

function dropDetail(fabric: Fabric, step: Extract<Step, { type: 'DROP' }>): Record<string, unknown> {
  const d = step.detail;
  switch (d.kind) {
    case 'loop':
      return { cycle: d.cycle.map((n) => n.name) };
    case 'neighbor':
      return { link: d.link.name, neighbor: d.neighbor.toString(), ...(d.blockedAt ? { blockedAt: linkLabel(fabric, d.blockedAt) } : {}) };
    case 'carrier':
      return { link: d.link.name };
    default:
      return {};
  }
}

function dropText(fabric: Fabric, ns: Netns, step: Extract<Step, { type: 'DROP' }>): string {
  const d = step.detail;
  switch (d.kind) {
    case 'route':
      if (d.route === undefined) return `${ns.name} has no route for the destination: the packet is dropped (Network is unreachable)`;
      return `${ns.name} drops the packet: the matching route is ${d.route.type}`;
    case 'forwarding': {
      const sysctl = d.family === 4 ? 'net.ipv4.ip_forward' : 'net.ipv6.conf.all.forwarding';
      return `${ns.name} does not forward packets (${sysctl} = 0): a packet that is not for one of its own addresses is dropped`;
    }
    case 'ttl':
      return `the TTL is ${d.ttl}: forwarding would bring it to 0, so ${ns.name} drops the packet (ICMP time exceeded)`;
    case 'carrier': {
      const why = !d.link.up ? 'it is down' : d.link.kind === 'bridge' ? 'none of its ports is up' : 'its veth peer is down';
      return `${d.link.name} has no carrier (${why}): the packet cannot be sent`;
    }
    case 'neighbor':
      return d.blockedAt
        ? `ARP for ${d.neighbor} on ${d.link.name} gets no answer: the way to its owner crosses ${linkLabel(fabric, d.blockedAt)}, which is down`
        : `nobody on ${d.link.name}'s layer-2 domain owns ${d.neighbor} or answers ARP for it: the neighbour is unreachable`;
    case 'loop':
      return (
        `routing loop: the packet goes round ${d.cycle.map((n) => n.name).join(' → ')}; ` +
        `each turn costs TTL, so Linux drops it when the TTL (${d.ttl} here) runs out (ICMP time exceeded)`
      );
    case 'exit':
      return `the packet leaves the modelled network through ${d.neighbor}`;
  }
}

function hopReport(fabric: Fabric, hop: Hop): HopReport {
  return {
    netns: hop.netns.name,
    kind: hop.netns.kind,
    ...(hop.netns.node !== undefined ? { node: hop.netns.node } : {}),
    ...(hop.in ? { in: hop.in.name } : {}),
    ...(hop.out ? { out: hop.out.name } : {}),
    steps: hop.steps.map((s) => stepReport(fabric, hop, s)),
  };
}

function pathReport(fabric: Fabric, t: Trace, path: Path, names: { from: string; to: string }): PathReport {
  const hops = path.hops.map((h) => hopReport(fabric, h));
  const route = path.hops.map((h) => h.netns.name).join(' → ');
  const last = hops[hops.length - 1]!;
  const finalStep = last.steps[last.steps.length - 1]!;
  const named = (name: string, a: Addr) => (name === a.toString() ? name : `${name} (${a})`);
  const flow = `${named(names.from, t.flow.src)} → ${named(names.to, t.flow.dst)}`;
  const summary =
    path.disposition === 'DELIVERED'
      ? `DELIVERED: ${flow} via ${route}`
      : `${path.disposition} at ${last.netns}: ${flow} via ${route}: ${finalStep.explanation}`;
  return { disposition: path.disposition, hops, summary };
}

export function explain(fabric: Fabric, t: Trace, names: { from: string; to: string }): TraceReport {
  const [first, ...rest] = t.paths;
  const report: TraceReport = pathReport(fabric, t, first!, names);
  if (rest.length > 0) {
    const paths = t.paths.map((p) => ({ ...pathReport(fabric, t, p, names), choices: [...p.choices] }));
    const outcomes = new Set(paths.map((p) => p.disposition));
    report.paths = paths;
    report.summary += outcomes.size === 1 ? ` (all ${paths.length} ECMP paths agree)` : ` (ECMP: ${paths.length} paths, outcomes differ: ${[...outcomes].join(', ')})`;
  }
  return report;
}
