// Turns a trace into what people and programs read: hops with named links, routes in `ip -j route` form, one sentence per
// step saying why, and a one-line summary a chatops bot can post as it is. Runs only when an answer is made, and makes no
// more of it than the detail asked for: the prose is most of an answer's cost.
import type { Addr } from '../engine/addr.js';
import type { Fabric, Link, Netns } from '../engine/fabric.js';
import type { Route } from '../engine/route.js';
import { MAX_PATHS, worstPath, type Hop, type OuterHeader, type Path, type Step, type Trace } from '../engine/trace.js';
import type { AnswerPath, BareHop, BareTraceAnswer, Detail, TraceAnswer } from './schema.js';
import type { AnswerRoute, BareStep, DropStep, EncapsulateStep, RouteStep } from './steps.js';
import type { Static } from '@sinclair/typebox';
import { policyAnswer } from './policy.js';

/** One path of a trace, explained: the parts of the answer that the engine's trace alone decides. */
export type ExplainedPath = Pick<AnswerPath, 'disposition' | 'hops' | 'summary'>;

/** A trace explained: its worst path, and every path when an ECMP route splits the flow (see worstPath). */
export type Explanation = ExplainedPath & Pick<TraceAnswer, 'paths'>;

/** A trace explained at any detail: no hops with `summary`, steps without their prose with `hops`. */
export type BareExplanation = Pick<BareTraceAnswer, 'disposition' | 'summary' | 'hops' | 'paths'>;

export interface ExplainOptions {
  readonly detail: Detail;
  /** How many of the paths of a split flow to list, the first ones. */
  readonly paths: number;
}

/**
 * A route as answers show it, kept per Route: rendering the same few routes again for every trace was a large part of
 * an explanation's cost.
 */
interface RenderedRoute {
  /** The names of its next hops' devices: a table shared by several namespaces names devices by index. */
  readonly devs: readonly string[];
  /** In `ip -j route` field names; frozen, since every answer that shows the route shares it. */
  readonly json: Readonly<AnswerRoute>;
  /** As `ip route` prints it: "10.1.2.0/24 via 192.168.0.12 dev eth0". */
  readonly text: string;
}

const rendered = new WeakMap<Route, RenderedRoute>();

function render(route: Route, ns: Netns): RenderedRoute {
  const cached = rendered.get(route);
  if (cached !== undefined && route.nexthops.every((nh, i) => ns.links[nh.dev]!.name === cached.devs[i])) return cached;
  // toJSON writes the fields of `ip -j route`, which AnswerRoute types.
  const json = route.toJSON((dev) => ns.links[dev]!.name) as AnswerRoute;
  const parts = [json.type, json.dst, json.gateway ? `via ${json.gateway}` : undefined, json.dev ? `dev ${json.dev}` : undefined];
  if (route.metric !== 0 && route.protocol !== 'kernel') parts.push(`metric ${route.metric}`);
  const r: RenderedRoute = {
    devs: route.nexthops.map((nh) => ns.links[nh.dev]!.name),
    json: deepFreeze(json),
    text: parts.filter(Boolean).join(' '),
  };
  rendered.set(route, r);
  return r;
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (typeof v === 'object' && v !== null) deepFreeze(v);
  return Object.freeze(o);
}

const PREFIX_TEXT = Array.from({ length: 129 }, (_, bits) => (bits === 0 ? 'default /0' : `/${bits}`));
const prefixText = (r: Route) => PREFIX_TEXT[r.prefix.bits]!;

function linkLabel(fabric: Fabric, link: Link): string {
  return link.netns < 0 ? link.name : `${fabric.netns[link.netns]!.name} ${link.name}`;
}

/** What every step of one explanation refers to, with the flow's addresses written out once. */
interface Context {
  readonly fabric: Fabric;
  readonly dst: Addr;
  readonly srcText: string;
  readonly dstText: string;
  /** Whether steps say why (`explanation`, and a ROUTE's `candidates`). */
  readonly prose: boolean;
}

function routeStep(ctx: Context, ns: Netns, dst: Addr, route: Route | undefined, nexthop: number): Static<typeof RouteStep> {
  // Inside a tunnel the lookup is for the outer header: the answer says which packet it routed.
  const outer = dst === ctx.dst ? {} : { dst: addrText(ctx, dst) };
  if (route === undefined) return { type: 'ROUTE', ...outer, table: 'main', route: null, ...(ctx.prose ? routeProse(ctx, ns, dst, route, nexthop) : {}) };
  return {
    type: 'ROUTE',
    ...outer,
    table: bpfDevice(ns, route, nexthop) ? 'bpf' : 'main',
    route: render(route, ns).json,
    ...(route.ecmp ? { nexthop } : {}),
    ...(ctx.prose ? routeProse(ctx, ns, dst, route, nexthop) : {}),
  };
}

/** The tunnel device of Cilium's BPF program when it, not the route, forwards the packet: one with an ipcache. */
function bpfDevice(ns: Netns, route: Route, nexthop: number): Link | undefined {
  const dev = ns.links[route.nexthops[nexthop]?.dev ?? -1];
  return dev?.tunnel !== undefined && dev.tunnel.ipcache.length > 0 ? dev : undefined;
}

/** Why a lookup matched the route it did: the routes it beat, and the sentence. */
function routeProse(ctx: Context, ns: Netns, dst: Addr, route: Route | undefined, nexthop: number) {
  const dstText = addrText(ctx, dst);
  const all = ctx.fabric.candidates(ns.id, dst);
  const candidates = [];
  for (const r of all) {
    if (r === route) continue;
    const why =
      route === undefined
        ? 'not selected'
        : r.prefix.bits < route.prefix.bits
          ? `shorter prefix (${prefixText(r)} loses to ${prefixText(route)})`
          : r.metric > route.metric
            ? `higher metric (${r.metric} loses to ${route.metric})`
            : `same prefix and metric: the route listed first wins`;
    candidates.push({ route: render(r, ns).json, why });
  }
  if (route === undefined) {
    return { candidates, explanation: `no route in ${ns.name}'s main table contains ${dstText}, and there is no default route` };
  }
  const { text } = render(route, ns);
  let why: string;
  if (all.length === 1) why = `${text} is the longest prefix that contains ${dstText}: no other route in ${ns.name}'s main table does`;
  else {
    why = `${text} is the longest prefix that contains ${dstText}`;
    const shorter = all.find((r) => r.prefix.bits < route.prefix.bits);
    const same = all.filter((r) => r !== route && r.prefix.bits === route.prefix.bits);
    const higher = same.filter((r) => r.metric > route.metric).map((r) => r.metric);
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
    why += `; it has ${route.nexthops.length} next hops (ECMP) and this path takes #${nexthop + 1}, ${nh.gateway ? `via ${nh.gateway} ` : ''}dev ${ns.links[nh.dev]!.name}`;
  }
  if (dst !== ctx.dst) why = `the outer packet: ${why}`;
  const dev = bpfDevice(ns, route, nexthop);
  if (dev !== undefined) {
    why =
      `Cilium's BPF program, not the kernel's route lookup, forwards ${dstText}: it sends pod traffic for ${route.prefix} ` +
      `straight to ${dev.name}, which finds the tunnel endpoint in its ipcache (the route ${text} stands for that decision)`;
  }
  return { candidates, explanation: why };
}

/** The text of an address; the destination's is written out once per explanation. */
function addrText(ctx: Context, a: Addr): string {
  return a === ctx.dst ? ctx.dstText : a.toString();
}

function answerStep(ctx: Context, hop: Hop, step: Step): BareStep {
  const { fabric } = ctx;
  const ns = hop.netns;
  switch (step.type) {
    case 'ORIGINATE':
      return {
        type: 'ORIGINATE',
        src: ctx.srcText,
        dst: ctx.dstText,
        ttl: step.ttl,
        ...(ctx.prose ? { explanation: `${ns.name} sends a packet from ${ctx.srcText} to ${ctx.dstText} (TTL ${step.ttl})` } : {}),
      };
    case 'RECEIVE':
      return {
        type: 'RECEIVE',
        link: step.link.name,
        ttl: step.ttl,
        ...(ctx.prose ? { explanation: `${ns.name} receives the packet on ${step.link.name} (TTL ${step.ttl})` } : {}),
      };
    case 'ROUTE':
      return routeStep(ctx, ns, step.dst, step.route, step.nexthop);
    case 'ENCAPSULATE':
      return encapsulateStep(ctx, ns, step);
    case 'DECAPSULATE': {
      const { link, outer } = step;
      return { type: 'DECAPSULATE', link: link.name, outer: outerJson(outer), ...(ctx.prose ? { explanation: decapsulateText(ctx, ns, step) } : {}) };
    }
    case 'BRIDGE': {
      const { bridge, from, to } = step;
      return { type: 'BRIDGE', bridge: bridge.name, from: from?.name ?? null, to: to?.name ?? null, ...(ctx.prose ? { explanation: bridgeText(ns, step) } : {}) };
    }
    case 'TRANSMIT': {
      const neighbor = addrText(ctx, step.neighbor);
      return {
        type: 'TRANSMIT',
        link: step.link.name,
        neighbor,
        answeredBy: step.answeredBy.netns < 0 ? { external: true } : { netns: fabric.netns[step.answeredBy.netns]!.name, link: step.answeredBy.name },
        ...(ctx.prose ? { explanation: transmitText(ctx, ns, step, neighbor) } : {}),
      };
    }
    case 'DELIVER':
      return {
        type: 'DELIVER',
        link: step.link.name,
        address: ctx.dstText,
        ...(ctx.prose
          ? { explanation: `${ctx.dstText} is an address of ${ns.name} (on ${step.link.name}): the local table, looked up before the main table, delivers it locally` }
          : {}),
      };
    case 'POLICY':
      return policyAnswer(step, ctx.prose);
    case 'DROP':
      return { type: 'DROP', disposition: step.disposition, ...(ctx.prose ? { explanation: dropText(ctx, ns, step) } : {}), ...dropDetail(ctx, step) };
  }
}

function decapsulateText(ctx: Context, ns: Netns, { link, outer }: Extract<Step, { type: 'DECAPSULATE' }>): string {
  return (
    `${outer.dst} is an address of ${ns.name} and ${link.name} (${tunnelText(link)}) takes the outer packet: it strips ` +
    `the outer headers and the inner packet ${ctx.srcText} → ${ctx.dstText} goes on from ${link.name}`
  );
}

function bridgeText(ns: Netns, { bridge, from, to }: Extract<Step, { type: 'BRIDGE' }>): string {
  return to === undefined
    ? `${bridge.name} passes the frame from port ${from!.name} up to ${ns.name}'s own IP stack: it is addressed to the bridge`
    : from === undefined
      ? `${bridge.name} switches the frame out of port ${to.name}, the port that leads to the next hop`
      : `${bridge.name} switches the frame from port ${from.name} to port ${to.name} at layer 2, without a route lookup in ${ns.name}`;
}

function transmitText(ctx: Context, ns: Netns, step: Extract<Step, { type: 'TRANSMIT' }>, neighbor: string): string {
  const who = linkLabel(ctx.fabric, step.answeredBy);
  const how =
    step.how === 'proxy'
      ? step.neighbor.family === 6
        ? `${who} answers Neighbour Solicitation for it by proxy (a proxy NDP entry)`
        : `${who} answers ARP for it by proxy (proxy_arp), since its netns routes ${neighbor} out of another link`
      : step.how === 'host'
        ? `${who} answers ARP for it: the address is one of that netns's own, on another link`
        : step.answeredBy.netns < 0
          ? `it belongs to a host outside the model (${step.answeredBy.name.replace(/^external /, '')})`
          : `${who} owns it`;
  return `${ns.name} sends the packet out of ${step.link.name} to the next hop ${neighbor}; ${how}`;
}

/** "VXLAN VNI 1, UDP port 8472", "IP-in-IP". */
function tunnelText(link: Link): string {
  const t = link.tunnel!;
  if (link.kind === 'ipip') return 'IP-in-IP';
  return `${link.kind === 'vxlan' ? 'VXLAN' : 'Geneve'}${t.ipcache.length > 0 ? ' in external mode' : ` VNI ${t.vni}`}, UDP port ${t.port}`;
}

function outerJson(o: OuterHeader): Static<typeof EncapsulateStep>['outer'] {
  return {
    src: o.src.toString(),
    dst: o.dst.toString(),
    protocol: o.protocol,
    ...(o.vni !== undefined ? { vni: o.vni } : {}),
    ...(o.port !== undefined ? { port: o.port } : {}),
    ttl: o.ttl,
  };
}

function encapsulateStep(ctx: Context, ns: Netns, step: Extract<Step, { type: 'ENCAPSULATE' }>): Static<typeof EncapsulateStep> {
  return {
    type: 'ENCAPSULATE',
    link: step.link.name,
    via: step.via,
    ...(step.neighbor !== undefined ? { neighbor: addrText(ctx, step.neighbor), lladdr: step.lladdr } : {}),
    outer: outerJson(step.outer),
    overhead: step.overhead,
    ...(ctx.prose ? { explanation: encapsulateText(ctx, ns, step) } : {}),
  };
}

function encapsulateText(ctx: Context, ns: Netns, step: Extract<Step, { type: 'ENCAPSULATE' }>): string {
  const { link, outer } = step;
  const header =
    outer.protocol === 'ipip'
      ? `the outer packet ${outer.src} → ${outer.dst}, IP protocol 4 (TTL ${outer.ttl}, inherited from the inner packet)`
      : `the outer UDP packet ${outer.src} → ${outer.dst} port ${outer.port}${outer.vni !== undefined && link.tunnel!.ipcache.length === 0 ? ` VNI ${outer.vni}` : ''} (TTL ${outer.ttl})`;
  let how: string;
  if (step.via === 'gateway') how = `${link.name} (IP-in-IP) encapsulates the packet for the route's gateway ${outer.dst}`;
  else if (step.via === 'ipcache') {
    const entry = ctx.fabric.tunnels.ipcacheEntry(link, ctx.dst);
    how =
      `${link.name} encapsulates the packet for the tunnel endpoint ${outer.dst}` +
      (entry ? `, which Cilium's ipcache gives ${entry.prefix}` : '');
  } else {
    how =
      `${link.name} (${tunnelText(link)}) encapsulates the packet: its permanent neighbour entry gives the next hop ` +
      `${addrText(ctx, step.neighbor!)} the MAC ${step.lladdr}, and the FDB sends that MAC to ${outer.dst}`;
  }
  return `${how}; ${header} is routed again in ${ns.name}`;
}

function dropDetail(ctx: Context, step: Extract<Step, { type: 'DROP' }>): Omit<Static<typeof DropStep>, 'type' | 'explanation' | 'disposition'> {
  const d = step.detail;
  switch (d.kind) {
    case 'loop':
      return { cycle: d.cycle.map((n) => n.name) };
    case 'neighbor':
      return { link: d.link.name, neighbor: addrText(ctx, d.neighbor), ...(d.blockedAt ? { blockedAt: linkLabel(ctx.fabric, d.blockedAt) } : {}) };
    case 'carrier':
      return { link: d.link.name };
    case 'tunnel-neighbor':
    case 'fdb':
      return { link: d.link.name, neighbor: addrText(ctx, d.neighbor) };
    case 'tunnel-receiver':
      return { link: d.link.name, outer: outerJson(d.outer) };
    case 'policy':
      return { direction: d.direction };
    default:
      return {};
  }
}

function dropText(ctx: Context, ns: Netns, step: Extract<Step, { type: 'DROP' }>): string {
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
        ? `ARP for ${addrText(ctx, d.neighbor)} on ${d.link.name} gets no answer: the way to its owner crosses ${linkLabel(ctx.fabric, d.blockedAt)}, which is down`
        : `nobody on ${d.link.name}'s layer-2 domain owns ${addrText(ctx, d.neighbor)} or answers ARP for it: the neighbour is unreachable`;
    case 'loop':
      return (
        `routing loop: the packet goes round ${d.cycle.map((n) => n.name).join(' → ')}; ` +
        `each turn costs TTL, so Linux drops it when the TTL (${d.ttl} here) runs out (ICMP time exceeded)`
      );
    case 'exit':
      return `the packet leaves the modelled network through ${addrText(ctx, d.neighbor)}`;
    case 'martian':
      return (
        `the packet has come back to ${ns.name}, which sent it: Linux drops a packet received on ${d.link.name} whose source ` +
        `${ctx.srcText} is one of its own addresses (martian source), so the loop ends here`
      );
    case 'tunnel-neighbor':
      return (
        `${d.link.name} has no permanent neighbour entry for ${addrText(ctx, d.neighbor)}, and ARP cannot cross the ` +
        'tunnel: the packet is dropped (neighbour unreachable)'
      );
    case 'fdb':
      return (
        `${d.link.name}'s FDB has no entry for ${d.lladdr} (the MAC of the next hop ${addrText(ctx, d.neighbor)}): the ` +
        'VXLAN device does not know which host to send the frame to and drops it'
      );
    case 'ipcache':
      return `Cilium's ipcache on ${d.link.name} has no entry for ${addrText(ctx, d.dst)}: there is no tunnel endpoint to send it to, so it is dropped`;
    case 'tunnel-receiver': {
      const what = d.outer.protocol === 'ipip' ? 'no ipip link is up' : `no ${d.link.kind} link listens on UDP port ${d.outer.port} with VNI ${d.outer.vni}`;
      const icmp = d.outer.protocol === 'ipip' ? 'protocol' : 'port';
      return `${d.outer.dst} (${linkLabel(ctx.fabric, d.at)}) receives the outer packet, but ${what} there: the kernel answers ICMP ${icmp} unreachable and the packet is lost`;
    }
    case 'policy':
      return d.direction === 'egress'
        ? `NetworkPolicy denies the source pod's egress: ${ns.name}'s network plugin drops the packet as it leaves the pod (see the POLICY step)`
        : `NetworkPolicy denies ${ns.name}'s ingress: the network plugin drops the packet before it reaches the pod (see the POLICY step)`;
    case 'tunnel-mac':
      return (
        `${d.link.name} of ${ns.name} has the MAC ${d.link.mac}, but the sender's neighbour entry addressed the inner frame ` +
        `to ${d.lladdr}: ${ns.name} discards it as a frame for another host (a stale VTEP MAC)`
      );
  }
}

function answerHop(ctx: Context, hop: Hop): BareHop {
  return {
    netns: hop.netns.name,
    kind: hop.netns.kind,
    ...(hop.netns.node !== undefined ? { node: hop.netns.node } : {}),
    ...(hop.in ? { in: hop.in.name } : {}),
    ...(hop.out ? { out: hop.out.name } : {}),
    steps: hop.steps.map((s) => answerStep(ctx, hop, s)),
  };
}

/** The one line that says how a path ends; for one that is not delivered, with its last step's sentence. */
function pathSummary(ctx: Context, path: Path, names: { from: string; to: string }): string {
  const route = path.hops.map((h) => h.netns.name).join(' → ');
  const named = (name: string, text: string) => (name === text ? name : `${name} (${text})`);
  const flow = `${named(names.from, ctx.srcText)} → ${named(names.to, ctx.dstText)}`;
  if (path.disposition === 'DELIVERED') return `DELIVERED: ${flow} via ${route}`;
  const last = path.hops[path.hops.length - 1]!;
  const { explanation } = answerStep({ ...ctx, prose: true }, last, last.steps[last.steps.length - 1]!);
  return `${path.disposition} at ${last.netns.name}: ${flow} via ${route}: ${explanation}`;
}

/** What the summary of a split flow adds: how many of its paths deliver, and which one the answer shows. */
function splitText(t: Trace, shown: number): string {
  const n = t.paths.length;
  const delivered = t.paths.filter((p) => p.disposition === 'DELIVERED').length;
  const outcomes = new Set(t.paths.map((p) => p.disposition));
  return outcomes.size === 1
    ? `all ${n} ECMP paths agree: ${delivered} of ${n} deliver`
    : `ECMP: ${delivered} of ${n} paths deliver; the worst, path ${shown + 1}, is shown; outcomes: ${[...outcomes].join(', ')}`;
}

const FULL: ExplainOptions = { detail: 'full', paths: MAX_PATHS };

export function explain(fabric: Fabric, t: Trace, names: { from: string; to: string }): Explanation;
export function explain(fabric: Fabric, t: Trace, names: { from: string; to: string }, options: ExplainOptions): BareExplanation;
export function explain(fabric: Fabric, t: Trace, names: { from: string; to: string }, options = FULL): BareExplanation {
  const ctx: Context = { fabric, dst: t.flow.dst, srcText: t.flow.src.toString(), dstText: t.flow.dst.toString(), prose: options.detail === 'full' };
  const summarise = (p: Path) => ({ disposition: p.disposition, summary: pathSummary(ctx, p, names) });
  const hopByHop = (p: Path) => ({ ...summarise(p), hops: p.hops.map((h) => answerHop(ctx, h)) });
  if (t.paths.length === 1) return options.detail === 'summary' ? summarise(t.paths[0]!) : hopByHop(t.paths[0]!);
  const shown = worstPath(t.paths);
  const split = (worst: { summary: string }) => `${worst.summary} (${splitText(t, shown)})`;
  if (options.detail === 'summary') {
    const worst = summarise(t.paths[shown]!);
    return { ...worst, summary: split(worst) };
  }
  const worst = hopByHop(t.paths[shown]!);
  // Only the paths listed are explained: their hops are most of what a split flow's answer costs.
  const paths = t.paths.slice(0, options.paths).map((p, i) => ({ ...(i === shown ? worst : hopByHop(p)), choices: [...p.choices] }));
  return { ...worst, summary: split(worst), paths };
}
