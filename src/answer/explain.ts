// Turns a trace into what people and programs read: hops with named links, routes in `ip -j route` form, one sentence per
// step saying why, and a one-line summary a chatops bot can post as it is. Runs only when an answer is made, and makes no
// more of it than the detail asked for: the prose is most of an answer's cost.
import type { Addr } from '../engine/addr.js';
import type { Fabric, Link, Netns } from '../engine/fabric.js';
import type { Route } from '../engine/route.js';
import { MAX_PATHS, worstPath, type Hop, type OuterHeader, type Path, type Step, type Trace } from '../engine/trace.js';
import type { AnswerPath, BareHop, BareTraceAnswer, Detail, TraceAnswer } from './schema.js';
import type { AnswerRoute, BareStep, BridgeStep, DeliverStep, DropStep, EncapsulateStep, OriginateStep, ReceiveStep, RouteStep, TransmitStep } from './steps.js';
import { dnatJson, serviceDropText, serviceJson, snatJson } from './service-steps.js';
import type { Static } from '@sinclair/typebox';
import { policyAnswer } from './policy.js';

/** One path of a trace, explained: the parts of the answer that the engine's trace alone decides. */
export type ExplainedPath = Pick<AnswerPath, 'disposition' | 'hops' | 'summary'>;

/** A trace explained: its worst path, and every path when an ECMP route splits the flow (see worstPath). */
export type Explanation = ExplainedPath & Pick<TraceAnswer, 'paths'>;

/** A trace explained at any detail: no hops with `summary`, steps without their prose with `hops`. */
export type BareExplanation = Pick<BareTraceAnswer, 'disposition' | 'summary' | 'hops' | 'paths'> & {
  /** With ExplainOptions.json, for one path: the hops as a JSON array, in place of `hops`. */
  hopsJson?: string;
};

export interface ExplainOptions {
  readonly detail: Detail;
  /** How many of the paths of a split flow to list, the first ones. */
  readonly paths: number;
  /**
   * With `full`: only the sentences that text and Markdown print (each hop's deciding step's, and its policies'), and
   * of the paths of a split flow only their outcomes; the other steps are left without prose. The rest of the prose
   * was most of what a text answer cost.
   */
  readonly printed?: boolean;
  /**
   * The hops of a one-path answer as their JSON text (BareExplanation.hopsJson) instead of objects: a kept hop's text is
   * kept with it, so that the answer is written without making and serialising its hops again.
   */
  readonly json?: boolean;
}

/** The order in which a hop's steps decide it (see decidingStep). */
const DECIDING = ['DROP', 'DELIVER', 'DNAT', 'ROUTE', 'BRIDGE', 'ORIGINATE'];

/**
 * The index of the one step that says most about a hop: its drop, its delivery, kube-proxy's DNAT (which decides where
 * the packet goes), its route lookup, the bridge it crossed, or else its first step. The engine's steps and the answer's
 * have the same types, so this serves both.
 */
export function decidingStep(steps: readonly { readonly type: string }[]): number {
  for (const type of DECIDING) {
    for (let i = 0; i < steps.length; i++) if (steps[i]!.type === type) return i;
  }
  return 0;
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
  if (cached !== undefined && namesDevs(route, ns, cached.devs)) return cached;
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

/** Whether the route's next hops name, in `ns`, the devices `devs` does. */
function namesDevs(route: Route, ns: Netns, devs: readonly string[]): boolean {
  const { nexthops } = route;
  for (let i = 0; i < nexthops.length; i++) if (ns.links[nexthops[i]!.dev]!.name !== devs[i]) return false;
  return true;
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (typeof v === 'object' && v !== null) deepFreeze(v);
  return Object.freeze(o);
}

/**
 * A sentence with a hole where one text of the flow goes (its destination, a next hop, a TTL), so that the sentence made
 * for one flow serves every later flow through the same netns, route or link: writing the prose afresh for every answer
 * cost eight times the trace itself. The pieces go around the hole, which may be in the sentence more than once.
 */
interface Template {
  /** The pieces before the first hole and after the last: a flat object, since its reads are a kept step's cost. */
  readonly first: string;
  readonly last: string;
  /** The pieces between holes, when there are several. */
  readonly middle: readonly string[] | undefined;
}

/** What stands for the hole while a template is made: no name holds it, since no stored text can. */
const HOLE = '\u0000';

function fill(t: Template, text: string): string {
  if (t.middle === undefined) return t.first + text + t.last;
  let s = t.first;
  for (const piece of t.middle) s += text + piece;
  return s + text + t.last;
}

/**
 * The template of the sentence `write` makes around `text`, given the sentence it made for `text` (`fresh`); undefined
 * when a name in the sentence holds the hole's character, so the pieces would not put it back together.
 */
function templateOf(write: (text: string) => string, text: string, fresh: string): Template | undefined {
  const holed = write(HOLE);
  if (!holed.includes(HOLE)) return undefined;
  const t = holeOf(holed);
  return fill(t, text) === fresh ? t : undefined;
}

/**
 * Slots of the table of kept steps and templates per compiled revision, a power of two by its size: 2^18 for a cluster
 * of thousands of nodes, and for a small one (a what-if's, compiled per request) a table it can fill: the largest is
 * 800,000 elements, 3 MB to keep and ~30 ms to make, which every what-if request paid when all were made that size.
 */
const MAX_KEPT_BITS = 18;
const MIN_KEPT_BITS = 10;
export const keptBits = (netns: number) => Math.min(MAX_KEPT_BITS, Math.max(MIN_KEPT_BITS, Math.ceil(Math.log2(netns * 16))));

/** The largest tag a slot holds: a kind and a key below it are a small integer, which V8 keeps in the array itself. */
const MAX_TAG = 2 ** 30;

/**
 * The steps and sentence templates of one compiled revision, per the fabric object they are about (a route, a link, a
 * gateway's address) and a number that says the rest (a netns, a next hop, the other links named). A direct-mapped table
 * of 2^keptBits slots in sets of two: a lookup is array reads and comparisons rather than a hash map's probe, and the
 * table's size bounds it on a cluster of 5,000 nodes whose every pair of nodes has its own route step; of three entries
 * that meet in a set, the oldest is dropped (a table of single slots lost one answer's kept steps in eight). A slot is
 * three neighbouring elements of one array (tag, owner, value), so that a lookup reads one cache line: an answer's
 * dozen lookups land on lines no other answer warmed, and reading them is most of what a kept step costs. Kept as long
 * as the revision is (a WeakMap on its fabric).
 */
class Kept {
  private readonly slots: unknown[];
  /** Shifts a 32-bit hash down to a slot number. */
  private readonly shift: number;

  constructor(netns: number) {
    const bits = keptBits(netns);
    this.slots = new Array<unknown>(3 << bits).fill(undefined);
    this.shift = 32 - bits;
  }

  /** `hash` spreads the entries over the slots: any number made of what tells them apart. */
  get<T>(kind: number, owner: object, key: number, hash: number): T | undefined {
    const tag = key * 4 + kind;
    const i = (mix(hash, key, this.shift) & ~1) * 3;
    const { slots } = this;
    if (slots[i] === tag && slots[i + 1] === owner) return slots[i + 2] as T;
    return slots[i + 3] === tag && slots[i + 4] === owner ? (slots[i + 5] as T) : undefined;
  }

  /** The newest entry of a set takes its first slot, and the one it held the second: the one before that is dropped. */
  put<T>(kind: number, owner: object, key: number, hash: number, value: T): T {
    const tag = key * 4 + kind;
    // A key too large for a small integer is not kept: it would be stored as a number object of its own.
    if (!(Math.abs(tag) < MAX_TAG)) return value;
    const i = (mix(hash, key, this.shift) & ~1) * 3;
    const { slots } = this;
    slots[i + 3] = slots[i];
    slots[i + 4] = slots[i + 1];
    slots[i + 5] = slots[i + 2];
    slots[i] = tag;
    slots[i + 1] = owner;
    slots[i + 2] = value;
    return value;
  }

  /** The values of a kind held. */
  *values(kind: number): Generator<unknown> {
    const { slots } = this;
    for (let i = 0; i < slots.length; i += 3) if (typeof slots[i] === 'number' && (((slots[i] as number) % 4) + 4) % 4 === kind) yield slots[i + 2];
  }
}

const addrHash = (a: Addr) => a.w0 ^ a.w3;

function mix(a: number, b: number, shift: number): number {
  return Math.imul(a ^ Math.imul(b, 0x9e3779b1), 0x85ebca6b) >>> shift;
}

/** The kinds of entry in Kept. A ROUTE step's candidates and sentence template, per route, netns, next hop, outer or not. */
const ROUTE_PROSE = 0;
/** TRANSMIT (to the destination) and DELIVER sentences, per link and who answers ARP and how. */
const SENTENCE = 1;
/** Steps that name nothing of the flow but its TTL, whole and frozen: BRIDGE, RECEIVE, TRANSMIT to a gateway. */
const STEP = 2;
/** A whole hop but for the destination's text, per its entries in the walk's record (see KeptHop). */
const HOP = 3;

/**
 * What an entry holds the first time its sentence, route step or hop is made: what is kept is made later (a sentence the
 * second time, a route step or a hop the third: SEEN_TWICE), since making it costs two or three times the answer made
 * afresh, and on a large cluster most flows are asked once.
 */
const SEEN = Object.freeze({ seen: true });

/**
 * What a hop's or a route's entry holds the second time: they are kept from their third answer. Keeping a hop costs
 * about three answers made afresh, and of flows drawn at random over a large cluster a hop or a route's step met twice
 * is seldom met again (kept from the second, they made such flows 10-15% slower); a flow asked over and over is
 * answered from kept parts one answer later.
 */
const SEEN_TWICE = Object.freeze({ seen: 2 });

const keptByFabric = new WeakMap<Fabric, Kept>();

function keptFor(fabric: Fabric): Kept {
  let kept = keptByFabric.get(fabric);
  if (kept === undefined) keptByFabric.set(fabric, (kept = new Kept(fabric.netns.length)));
  return kept;
}

const PREFIX_TEXT = Array.from({ length: 129 }, (_, bits) => (bits === 0 ? 'default /0' : `/${bits}`));
const prefixText = (r: Route) => PREFIX_TEXT[r.prefix.bits]!;

function linkLabel(fabric: Fabric, link: Link): string {
  return link.netns < 0 ? link.name : `${fabric.netns[link.netns]!.name} ${link.name}`;
}

/** What every step of one explanation refers to, with the flow's addresses written out once (as NAT leaves them). */
interface Context {
  readonly fabric: Fabric;
  readonly kept: Kept;
  /** The destination and the addresses' texts as NAT leaves them: a DNAT or SNAT step changes them for the steps after. */
  dst: Addr;
  srcText: string;
  dstText: string;
  /** Which steps say why: none, all, or only those printed (PROSE_*). */
  readonly sentences: number;
  /** Whether the step at hand says why (`explanation`, and a ROUTE's `candidates`). */
  prose: boolean;
}

const PROSE_NONE = 0;
const PROSE_ALL = 1;
const PROSE_PRINTED = 2;

type RouteStepJson = Static<typeof RouteStep>;

function routeStep(ctx: Context, ns: Netns, { dst, route, group, nexthop }: Extract<Step, { type: 'ROUTE' }>): RouteStepJson {
  const dstText = addrText(ctx, dst);
  const kept = route !== undefined && ctx.prose ? keptRoute(ctx, ns, dst, route, group, nexthop, dstText) : undefined;
  if (kept !== undefined && dst === ctx.dst && !kept.ecmp) {
    // The common step, as one literal: its fields in the order the answer has always listed them.
    return { type: 'ROUTE', table: kept.table, route: kept.route, candidates: kept.candidates, explanation: fill(kept, dstText) };
  }
  // Built field by field otherwise, in the same order (JSON keeps the order of insertion).
  const step = { type: 'ROUTE' } as RouteStepJson;
  // Inside a tunnel the lookup is for the outer header: the answer says which packet it routed.
  if (dst !== ctx.dst) step.dst = dstText;
  if (route === undefined) {
    step.table = 'main';
    step.route = null;
    if (ctx.prose) Object.assign(step, routeProse(ctx, ns, dst, route, nexthop, dstText));
    return step;
  }
  step.table = bpfDevice(ns, route, nexthop) ? 'bpf' : 'main';
  step.route = render(route, ns).json;
  if (route.ecmp) step.nexthop = nexthop;
  if (kept !== undefined) {
    step.candidates = kept.candidates;
    step.explanation = fill(kept, dstText);
  } else if (ctx.prose) Object.assign(step, routeProse(ctx, ns, dst, route, nexthop, dstText));
  return step;
}

/**
 * A ROUTE step but for the destination's text, for one netns: every destination the route is the longest match of has
 * the same table, candidates and sentence. One flat object, so that a kept step costs few reads.
 */
interface KeptRoute extends Template {
  readonly ecmp: boolean;
  readonly table: 'main' | 'bpf';
  readonly route: Readonly<AnswerRoute>;
  readonly candidates: NonNullable<RouteStepJson['candidates']>;
}

/** How many next hops of an ECMP route the parts of its steps are kept for. */
const KEPT_NEXTHOPS = 64;

/**
 * A ROUTE step's parts, kept per (route, netns, next hop, outer or not), and found by the route's number in the FIBs:
 * reading the route's own fields would cost as much as the step. Undefined when they cannot be kept (a next hop past
 * KEPT_NEXTHOPS, a name that holds the hole). The routes that contain a destination are those whose prefixes contain its
 * longest match (prefixes that contain one address are nested), so they, and the sentence but for the address, are the
 * same for every destination of the route.
 */
function keptRoute(ctx: Context, ns: Netns, dst: Addr, route: Route, group: number, nexthop: number, dstText: string): KeptRoute | undefined {
  if (nexthop < 0 || nexthop >= KEPT_NEXTHOPS) return undefined;
  const key = (ns.id * 2 + (dst === ctx.dst ? 0 : 1)) * KEPT_NEXTHOPS + nexthop;
  const kept = ctx.kept.get<KeptRoute | null | typeof SEEN | typeof SEEN_TWICE>(ROUTE_PROSE, route, key, group);
  if (kept === undefined || kept === SEEN) {
    ctx.kept.put(ROUTE_PROSE, route, key, group, kept === undefined ? SEEN : SEEN_TWICE);
    return undefined;
  }
  if (kept !== SEEN_TWICE) return (kept as KeptRoute | null) ?? undefined;
  const fresh = routeProse(ctx, ns, dst, route, nexthop, dstText);
  const template = templateOf((text) => routeProse(ctx, ns, dst, route, nexthop, text).explanation, dstText, fresh.explanation);
  const made: KeptRoute | undefined =
    template === undefined
      ? undefined
      : { ...template, ecmp: route.ecmp, table: bpfDevice(ns, route, nexthop) ? 'bpf' : 'main', route: render(route, ns).json, candidates: deepFreeze(fresh.candidates) };
  ctx.kept.put(ROUTE_PROSE, route, key, group, made ?? null);
  return made;
}

/** The tunnel device of Cilium's BPF program when it, not the route, forwards the packet: one with an ipcache. */
function bpfDevice(ns: Netns, route: Route, nexthop: number): Link | undefined {
  const dev = ns.links[route.nexthops[nexthop]?.dev ?? -1];
  return dev?.tunnel !== undefined && dev.tunnel.ipcache.length > 0 ? dev : undefined;
}

/** Why a lookup matched the route it did: the routes it beat, and the sentence. */
function routeProse(ctx: Context, ns: Netns, dst: Addr, route: Route | undefined, nexthop: number, dstText: string) {
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

/**
 * The sentence `write` makes around `text` for a step about `link`, from a template kept per (link, key): the key of
 * DELIVER (-1), which names the link alone, and of TRANSMIT to the destination (>= 0), which names who answers ARP and how.
 */
function keptSentence(ctx: Context, link: Link, key: number, text: string, write: (text: string) => string): string {
  const kept = ctx.kept.get<Template | null | typeof SEEN>(SENTENCE, link, key, link.id);
  if (kept !== undefined && kept !== null && kept !== SEEN) return fill(kept as Template, text);
  const fresh = write(text);
  if (kept === undefined) ctx.kept.put(SENTENCE, link, key, link.id, SEEN);
  else if (kept === SEEN) ctx.kept.put(SENTENCE, link, key, link.id, templateOf(write, text, fresh) ?? null);
  return fresh;
}

const DELIVER_KEY = -1;

/** A TRANSMIT to a gateway, kept per gateway address, link and how; and who answered for it. */
interface KeptTransmit {
  readonly answeredBy: Link;
  readonly step: Static<typeof TransmitStep>;
}
const HOW_KEY = { owner: 0, host: 1, proxy: 2, permanent: 3 } as const;

function answerStep(ctx: Context, hop: Hop, step: Step): BareStep {
  const { fabric } = ctx;
  const ns = hop.netns;
  // Steps are built field by field in the order the answer has always listed them (JSON keeps the order of insertion).
  switch (step.type) {
    case 'ORIGINATE': {
      const out: Static<typeof OriginateStep> = { type: 'ORIGINATE', src: ctx.srcText, dst: ctx.dstText, ttl: step.ttl };
      if (ctx.prose) out.explanation = `${ns.name} sends a packet from ${ctx.srcText} to ${ctx.dstText} (TTL ${step.ttl})`;
      return out;
    }
    case 'RECEIVE': {
      const { link, ttl } = step;
      const key = -1 - (ttl * 2 + (ctx.prose ? 1 : 0));
      const kept = ctx.kept.get<Static<typeof ReceiveStep>>(STEP, link, key, link.id);
      if (kept !== undefined) return kept;
      const out: Static<typeof ReceiveStep> = { type: 'RECEIVE', link: link.name, ttl };
      if (ctx.prose) out.explanation = `${ns.name} receives the packet on ${link.name} (TTL ${ttl})`;
      return ctx.kept.put(STEP, link, key, link.id, Object.freeze(out));
    }
    case 'ROUTE':
      return routeStep(ctx, ns, step);
    case 'ENCAPSULATE':
      return encapsulateStep(ctx, ns, step);
    case 'DECAPSULATE': {
      const { link, outer } = step;
      return { type: 'DECAPSULATE', link: link.name, outer: outerJson(outer), ...(ctx.prose ? { explanation: decapsulateText(ctx, ns, step) } : {}) };
    }
    case 'BRIDGE':
      return bridgeStep(ctx, ns, step);
    case 'TRANSMIT': {
      const { link, answeredBy } = step;
      // To a gateway, the step names nothing of the flow; to the destination itself, its sentence has a hole for it.
      const toGateway = step.neighbor !== ctx.dst;
      const key = (link.id * 4 + HOW_KEY[step.how]) * 2 + (ctx.prose ? 1 : 0);
      if (toGateway) {
        const kept = ctx.kept.get<KeptTransmit>(STEP, step.neighbor, key, addrHash(step.neighbor));
        if (kept !== undefined && kept.answeredBy === answeredBy) return kept.step;
      }
      const neighbor = addrText(ctx, step.neighbor);
      const out: Static<typeof TransmitStep> = {
        type: 'TRANSMIT',
        link: link.name,
        neighbor,
        answeredBy: answeredBy.netns < 0 ? { external: true } : { netns: fabric.netns[answeredBy.netns]!.name, link: answeredBy.name },
      };
      if (toGateway) {
        if (ctx.prose) out.explanation = transmitText(ctx, ns, step, neighbor);
        return ctx.kept.put(STEP, step.neighbor, key, addrHash(step.neighbor), { answeredBy, step: Object.freeze(out) }).step;
      }
      if (ctx.prose) {
        const sentence = answeredBy.id * 8 + HOW_KEY[step.how] * 2 + (step.neighbor.family === 6 ? 1 : 0);
        out.explanation = keptSentence(ctx, link, sentence, neighbor, (t) => transmitText(ctx, ns, step, t));
      }
      return out;
    }
    case 'DELIVER': {
      const { link } = step;
      const out: Static<typeof DeliverStep> = { type: 'DELIVER', link: link.name, address: ctx.dstText };
      if (ctx.prose) {
        out.explanation = keptSentence(
          ctx,
          link,
          DELIVER_KEY,
          ctx.dstText,
          (t) => `${t} is an address of ${ns.name} (on ${link.name}): the local table, looked up before the main table, delivers it locally`,
        );
      }
      return out;
    }
    case 'DNAT':
      // The steps after it are about the translated destination.
      if (step.to !== undefined) {
        ctx.dst = step.to.address;
        ctx.dstText = step.to.address.toString();
      }
      return dnatJson(step, ns.name, ctx.prose);
    case 'SNAT':
      ctx.srcText = step.to.toString();
      return snatJson(step, ctx.prose);
    case 'POLICY':
      // Built afresh: it names the flow's pods, peer and port, which no kept part is keyed by.
      return policyAnswer(step, ctx.prose);
    case 'DROP':
      return { type: 'DROP', disposition: step.disposition, ...(ctx.prose ? { explanation: dropText(ctx, ns, step) } : {}), ...dropDetail(ctx, step) };
  }
}

/** A BRIDGE step names links alone: the same step, frozen, serves every answer that crosses the bridge so. */
function bridgeStep(ctx: Context, ns: Netns, step: Extract<Step, { type: 'BRIDGE' }>): Static<typeof BridgeStep> {
  const { bridge, from, to } = step;
  // Kept under the port it goes out of (or the bridge, when it goes up), so that keys stay small integers.
  const owner = to ?? bridge;
  const key = ((((from?.id ?? -1) + 1) * 2 + (to === undefined ? 1 : 0)) * 2) + (ctx.prose ? 1 : 0);
  const kept = ctx.kept.get<Static<typeof BridgeStep>>(STEP, owner, key, owner.id);
  if (kept !== undefined) return kept;
  const out: Static<typeof BridgeStep> = { type: 'BRIDGE', bridge: bridge.name, from: from?.name ?? null, to: to?.name ?? null };
  if (ctx.prose) out.explanation = bridgeText(ns, step);
  return ctx.kept.put(STEP, owner, key, owner.id, Object.freeze(out));
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
      : step.how === 'permanent'
        ? `its neighbour entry (permanent, as the CNI writes it, or cached in a dump) gives it ${who}'s MAC, so no ARP is sent`
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
    case 'service':
      return { ...(d.service ? { service: serviceJson(d.service) } : {}), rule: d.rule };
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
        ? `Network policy denies the source pod's egress: ${ns.name}'s network plugin drops the packet as it leaves the pod (see the POLICY step)`
        : `Network policy denies ${ns.name}'s ingress: the network plugin drops the packet before it reaches the pod (see the POLICY step)`;
    case 'service':
      return serviceDropText(d);
    case 'tunnel-mac':
      return (
        `${d.link.name} of ${ns.name} has the MAC ${d.link.mac}, but the sender's neighbour entry addressed the inner frame ` +
        `to ${d.lladdr}: ${ns.name} discards it as a frame for another host (a stale VTEP MAC)`
      );
  }
}

/**
 * A hop's answer but for the destination's text, kept per the hop's entries in the walk's record: the netns, links,
 * routes and next hops they number decide every other field. Made once from the answer with a hole for the text, it
 * serves later answers through the hop with a few reads of neighbouring memory, where building the hop step by step
 * reads a dozen objects no recent answer touched (its netns, links, routes and their kept parts), which was most of an
 * answer's cost on a large cluster.
 *
 * One flat array, read front to back: a graph of small objects (the hop, its entries, its steps, their fields and
 * holes) cost a cache miss per object on every answer, more than the rest of the kept hop's use. Its texts are parts of
 * three elements, a tag and two values (PART), so that using one reads only the array, never the objects it holds:
 *   entries:  n, e1 … en (compared in full: the key only hashes them)
 *   hop:      netns, kind, node, in, out
 *   JSON:     a part (NO_JSON when its pieces would not put it back together)
 *   steps:    count, then per step WHOLE, step (shared and frozen) | FIELDS, its maker, one part per field
 */
type KeptHop = readonly unknown[];

/** A part that is a value as it is, or a step kept whole: the value follows. */
const WHOLE = 0;
/** A text with one hole for the destination's text: the pieces before and after it follow. */
const ONE_HOLE = 1;
/** A text with several holes, or one for the source's text (a sender's ORIGINATE step): its HoledText follows. */
const HOLES = 2;
const NO_JSON = 3;
/** A step with the text in some of its fields: its maker (StepMaker) and its fields' parts follow. */
const FIELDS = 4;
const PART = 3;

/** Where the hop's fields start: after its entries. */
const hopAt = (kept: KeptHop) => (kept[0] as number) + 1;
/** The hop's fields: netns, kind, node, in, out. */
const HOP_FIELDS = 5;

/**
 * Stands for the source's text while a sender's hop is kept: its ORIGINATE step names the source, which its record
 * entries do not decide (a node may send from any of its addresses).
 */
const SRC_HOLE = '\u0001';

/** A text with holes: its pieces, and whether each hole is the source's text (else the destination's). */
interface HoledText {
  readonly pieces: readonly string[];
  readonly src: readonly boolean[];
}

const holed = (v: unknown): v is string => typeof v === 'string' && (v.includes(HOLE) || v.includes(SRC_HOLE));

/** Appends the part of a value that may hold holes. */
function pushPart(out: unknown[], v: unknown): void {
  if (!holed(v)) {
    out.push(WHOLE, v, undefined);
    return;
  }
  const split = v.split(/([\u0000\u0001])/);
  if (split.length === 3 && split[1] === HOLE) {
    out.push(ONE_HOLE, split[0], split[2]);
    return;
  }
  const t: HoledText = { pieces: split.filter((_, i) => i % 2 === 0), src: split.filter((_, i) => i % 2 === 1).map((h) => h === SRC_HOLE) };
  out.push(HOLES, t, undefined);
}

/** The value of the part at `at`, with `text` (and the source's text, `src`) in its holes. */
function part(kept: KeptHop, at: number, text: string, src: string): unknown {
  const tag = kept[at];
  if (tag === WHOLE) return kept[at + 1];
  if (tag === ONE_HOLE) return (kept[at + 1] as string) + text + (kept[at + 2] as string);
  const { pieces, src: isSrc } = kept[at + 1] as HoledText;
  let s = pieces[0]!;
  for (let i = 1; i < pieces.length; i++) s += (isSrc[i - 1] ? src : text) + pieces[i]!;
  return s;
}

/**
 * Makes a holed step from its parts: one object literal per list of field names, so that a step is made as a literal
 * is (its shape known ahead) rather than by adding fields named at run time, each of which looked its name up anew.
 */
type StepMaker = (kept: KeptHop, at: number, text: string, src: string) => BareStep;
const makers = new Map<string, StepMaker>();

function makerOf(names: readonly string[]): StepMaker {
  const key = names.join(',');
  let make = makers.get(key);
  if (make === undefined) {
    const fields = names.map((n, i) => `${JSON.stringify(n)}: part(kept, at + ${i * PART}, text, src)`).join(', ');
    // The names are the answer schema's step fields, written as JSON strings: nothing of a request is compiled.
    make = new Function('part', `return (kept, at, text, src) => ({ ${fields} });`)(part) as StepMaker;
    makers.set(key, make);
  }
  return make;
}

/**
 * Whether the hop's answer is decided by its record entries and the texts of the flow's ends alone: steps that name
 * nothing else of the flow (no NAT, no policy, no tunnel, whose outer packet earlier hops decide), about the flow's own
 * destination; the source only as the sender's ORIGINATE names it.
 */
function keepable(ctx: Context, hop: Hop): boolean {
  // Whether the packet the hop's steps are about is known to be the flow's (a route lookup for its destination).
  let flows = false;
  for (const s of hop.steps) {
    switch (s.type) {
      case 'ORIGINATE':
      case 'RECEIVE':
      case 'BRIDGE':
      case 'DELIVER':
        break;
      case 'ROUTE':
        if (s.dst !== ctx.dst) return false;
        flows = true;
        break;
      case 'TRANSMIT':
        // Its next hop is a gateway the record names, or the destination of the packet routed.
        if (!flows) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** The hop's kept answer (made the third time the same hop is answered), or undefined. */
function keptHop(ctx: Context, hop: Hop, end: number): KeptHop | undefined {
  const { record, start } = hop;
  if (record === undefined || start === undefined || !keepable(ctx, hop)) return undefined;
  let h = ctx.sentences;
  for (let i = start; i < end; i++) h = Math.imul(h ^ record[i]!, 0x9e3779b1) ^ (h >>> 15);
  const key = ((h >>> 7) << 2) | ctx.sentences;
  let kept = ctx.kept.get<KeptHop | null | typeof SEEN | typeof SEEN_TWICE>(HOP, hop.netns, key, h);
  if (kept === SEEN) {
    ctx.kept.put(HOP, hop.netns, key, h, SEEN_TWICE);
    return undefined;
  }
  if (kept === SEEN_TWICE) kept = ctx.kept.put(HOP, hop.netns, key, h, keepHop(ctx, hop, record, start, end));
  else if (kept !== undefined && kept !== null && !sameEntries(kept as KeptHop, record, start, end)) kept = undefined;
  if (kept === undefined) ctx.kept.put(HOP, hop.netns, key, h, SEEN);
  return kept === undefined || kept === null ? undefined : (kept as KeptHop);
}

/**
 * How many whole hops a revision keeps, and how many of them are senders' (their ORIGINATE step names the source): for
 * tests, that answers are made from kept hops at all.
 */
export function keptHops(fabric: Fabric): { hops: number; senders: number } {
  const counts = { hops: 0, senders: 0 };
  for (const v of keptFor(fabric).values(HOP)) {
    if (!Array.isArray(v)) continue;
    counts.hops++;
    if (v.some((part) => typeof part === 'object' && part !== null && 'src' in part && (part as HoledText).src.includes(true))) counts.senders++;
  }
  return counts;
}

function answerHop(ctx: Context, hop: Hop, end: number): BareHop {
  const kept = keptHop(ctx, hop, end);
  return kept === undefined ? answerHopAfresh(ctx, hop) : fromKept(kept, ctx.dstText, ctx.srcText);
}

/**
 * The hop's answer as JSON text: a kept hop's from the text kept with it. The text filled in is an address's (the
 * destination, or the endpoint after a DNAT), which JSON writes as it is.
 */
function hopJson(ctx: Context, hop: Hop, end: number): string {
  const kept = keptHop(ctx, hop, end);
  if (kept === undefined) return JSON.stringify(answerHopAfresh(ctx, hop));
  const at = hopAt(kept) + HOP_FIELDS;
  return kept[at] === NO_JSON ? JSON.stringify(fromKept(kept, ctx.dstText, ctx.srcText)) : (part(kept, at, ctx.dstText, ctx.srcText) as string);
}

/** What the holes are in JSON text: their characters escaped. */
const JSON_HOLE = JSON.stringify(HOLE).slice(1, -1);
const JSON_SRC_HOLE = JSON.stringify(SRC_HOLE).slice(1, -1);
/** Whether JSON text holds a hole: JSON writes their characters escaped, so the characters themselves never show. */
const holedJson = (json: string) => json.includes(JSON_HOLE) || json.includes(JSON_SRC_HOLE);

/** The part of a hop's JSON text, from its answer with holes (`holedAnswer`), given its text for `text` and `src` (`made`). */
function jsonOf(holedAnswer: BareHop, text: string, src: string, made: string): unknown[] {
  const json = JSON.stringify(holedAnswer).replaceAll(JSON_HOLE, HOLE).replaceAll(JSON_SRC_HOLE, SRC_HOLE);
  const out: unknown[] = [];
  pushPart(out, json);
  return part(out, 0, text, src) === made ? out : [NO_JSON, undefined, undefined];
}

function sameEntries(kept: KeptHop, record: readonly number[], start: number, end: number): boolean {
  const n = kept[0] as number;
  if (n !== end - start) return false;
  for (let i = 0; i < n; i++) if (kept[i + 1] !== record[start + i]) return false;
  return true;
}

function fromKept(kept: KeptHop, text: string, src: string): BareHop {
  let at = hopAt(kept);
  const out = { netns: kept[at], kind: kept[at + 1] } as BareHop;
  if (kept[at + 2] !== undefined) out.node = kept[at + 2] as string;
  if (kept[at + 3] !== undefined) out.in = kept[at + 3] as string;
  if (kept[at + 4] !== undefined) out.out = kept[at + 4] as string;
  at += HOP_FIELDS + PART;
  const count = kept[at++] as number;
  const steps: BareStep[] = [];
  for (let s = 0; s < count; s++) {
    if (kept[at] === WHOLE) {
      steps.push(kept[at + 1] as BareStep);
      at += 2;
    } else {
      steps.push((kept[at + 1] as StepMaker)(kept, at + 3, text, src));
      at += 3 + (kept[at + 2] as number) * PART;
    }
  }
  out.steps = steps;
  return out;
}

/** The hop's kept answer, made from its answer with a hole for the text; null when the hole does not come out right. */
function keepHop(ctx: Context, hop: Hop, record: readonly number[], start: number, end: number): KeptHop | null {
  const answer = answerHopAfresh({ ...ctx, dstText: HOLE, srcText: SRC_HOLE }, hop);
  const { netns, kind, node, in: inLink, out: outLink } = answer;
  if ([netns, node, inLink, outLink].some(holed)) return null;
  const steps: unknown[] = [answer.steps.length];
  for (const step of answer.steps) {
    const names = Object.keys(step);
    const values = Object.values(step);
    // The text inside a nested object (a route, who answered) is not one this hop can fill.
    if (values.some((v) => typeof v === 'object' && v !== null && holedJson(JSON.stringify(v)))) return null;
    if (!values.some(holed)) {
      steps.push(WHOLE, deepFreeze(step));
      continue;
    }
    steps.push(FIELDS, makerOf(names), names.length);
    for (const v of values) pushPart(steps, v);
  }
  const entries = record.slice(start, end);
  const head = [entries.length, ...entries, netns, kind, node, inLink, outLink];
  // The answer made from it must be the one made afresh, byte for byte; its JSON text is made from it.
  const draft = [...head, NO_JSON, undefined, undefined, ...steps];
  const made = JSON.stringify(fromKept(draft, ctx.dstText, ctx.srcText));
  if (made !== JSON.stringify(answerHopAfresh(ctx, hop))) return null;
  return [...head, ...jsonOf(answer, ctx.dstText, ctx.srcText, made), ...steps];
}

function holeOf(text: string): Template {
  const pieces = text.split(HOLE);
  return { first: pieces[0]!, last: pieces[pieces.length - 1]!, middle: pieces.length > 2 ? pieces.slice(1, -1) : undefined };
}

function answerHopAfresh(ctx: Context, hop: Hop): BareHop {
  const { netns } = hop;
  const out = { netns: netns.name, kind: netns.kind } as BareHop;
  if (netns.node !== undefined) out.node = netns.node;
  if (hop.in) out.in = hop.in.name;
  if (hop.out) out.out = hop.out.name;
  const steps: BareStep[] = [];
  const all = hop.steps;
  const decision = ctx.sentences === PROSE_PRINTED ? decidingStep(all) : -1;
  for (let i = 0; i < all.length; i++) {
    const s = all[i]!;
    if (decision >= 0) ctx.prose = i === decision || s.type === 'POLICY';
    steps.push(answerStep(ctx, hop, s));
  }
  out.steps = steps;
  return out;
}

/** How an end is named in a summary: by its name, and its address when that is not its name. */
const named = (name: string, text: string) => (name === text ? name : `${name} (${text})`);

/** The one line that says how a path ends; for one that is not delivered, with its last step's sentence. */
function pathSummary(ctx: Context, path: Path, names: { from: string; to: string }, answered?: readonly BareHop[]): string {
  const { hops } = path;
  // The hops' names from their answers when made already: a kept hop's is in the memory its answer just read, where
  // each netns is an object of its own to reach.
  let route = answered === undefined ? (hops[0]?.netns.name ?? '') : (answered[0]?.netns ?? '');
  for (let i = 1; i < hops.length; i++) route += ` → ${answered === undefined ? hops[i]!.netns.name : answered[i]!.netns}`;
  const flow = `${named(names.from, ctx.srcText)} → ${named(names.to, ctx.dstText)}`;
  if (path.disposition === 'DELIVERED') return `DELIVERED: ${flow} via ${route}`;
  const last = hops[hops.length - 1]!;
  // The last step is about the packet as NAT left it.
  const own = { ...ctx, prose: true };
  for (const hop of hops) {
    for (const s of hop.steps) {
      if (s.type === 'DNAT' && s.to !== undefined) {
        own.dst = s.to.address;
        own.dstText = s.to.address.toString();
      } else if (s.type === 'SNAT') own.srcText = s.to.toString();
    }
  }
  const { explanation } = answerStep(own, last, last.steps[last.steps.length - 1]!);
  return `${path.disposition} at ${last.netns.name}: ${flow} via ${route}: ${explanation}`;
}

/** What the summary of a split flow adds: how many of its paths deliver, and which one the answer shows. */
function splitText(t: Trace, shown: number): string {
  const n = t.paths.length;
  const delivered = t.paths.filter((p) => p.disposition === 'DELIVERED').length;
  const outcomes = new Set(t.paths.map((p) => p.disposition));
  // Paths that took no ECMP branch differ only by the Service endpoint kube-proxy chose.
  const why = t.paths.every((p) => p.choices.length === 0) ? 'Service endpoint' : 'ECMP';
  // A Service with more endpoints than the engine follows paths: say that the rest were not traced.
  let dnat: number | undefined;
  for (const h of t.paths[shown]!.hops) for (const s of h.steps) if (s.type === 'DNAT' && dnat === undefined) dnat = s.counts.candidates;
  const cut = dnat !== undefined && dnat > n ? `; only the first ${n} of the Service's ${dnat} endpoints are traced (at most ${MAX_PATHS} paths)` : '';
  return outcomes.size === 1
    ? `all ${n} ${why === 'ECMP' ? 'ECMP paths' : 'paths (one per Service endpoint)'} agree: ${delivered} of ${n} deliver${cut}`
    : `${why}: ${delivered} of ${n} paths deliver; the worst, path ${shown + 1}, is shown; outcomes: ${[...outcomes].join(', ')}${cut}`;
}

const FULL: ExplainOptions = { detail: 'full', paths: MAX_PATHS };

function summarise(ctx: Context, p: Path, names: { from: string; to: string }): ExplainedPath {
  return { disposition: p.disposition, summary: pathSummary(ctx, p, names) } as ExplainedPath;
}

/** Where hop i's entries end in its path's record: where the next hop's start. */
const hopEnd = (hops: readonly Hop[], i: number): number => hops[i + 1]?.start ?? hops[i]!.record?.length ?? 0;

function hopByHop(ctx: Context, p: Path, names: { from: string; to: string }): ExplainedPath {
  const hops: BareHop[] = [];
  // A path's own copy of the context: its DNAT and SNAT steps change the addresses the steps after them are about.
  const own = { ...ctx };
  const all = p.hops;
  for (let i = 0; i < all.length; i++) hops.push(answerHop(own, all[i]!, hopEnd(all, i)));
  return { disposition: p.disposition, summary: pathSummary(ctx, p, names, hops), hops } as ExplainedPath;
}

/** A one-path answer's summary and its hops as a JSON array (ExplainOptions.json). */
function hopByHopJson(ctx: Context, p: Path, names: { from: string; to: string }): BareExplanation {
  const out: BareExplanation = summarise(ctx, p, names);
  const own = { ...ctx };
  const all = p.hops;
  let json = '[';
  for (let i = 0; i < all.length; i++) json += (i > 0 ? ',' : '') + hopJson(own, all[i]!, hopEnd(all, i));
  out.hopsJson = json + ']';
  return out;
}

export function explain(fabric: Fabric, t: Trace, names: { from: string; to: string }): Explanation;
export function explain(fabric: Fabric, t: Trace, names: { from: string; to: string }, options: ExplainOptions): BareExplanation;
export function explain(fabric: Fabric, t: Trace, names: { from: string; to: string }, options = FULL): BareExplanation {
  const ctx: Context = {
    fabric,
    kept: keptFor(fabric),
    dst: t.flow.dst,
    srcText: t.flow.src.toString(),
    dstText: t.flow.dst.toString(),
    sentences: options.detail !== 'full' ? PROSE_NONE : options.printed === true ? PROSE_PRINTED : PROSE_ALL,
    prose: options.detail === 'full',
  };
  if (t.paths.length === 1) {
    if (options.detail === 'summary') return summarise(ctx, t.paths[0]!, names);
    return options.json === true ? hopByHopJson(ctx, t.paths[0]!, names) : hopByHop(ctx, t.paths[0]!, names);
  }
  const shown = worstPath(t.paths);
  if (options.detail === 'summary') {
    const worst = summarise(ctx, t.paths[shown]!, names);
    return { ...worst, summary: `${worst.summary} (${splitText(t, shown)})` };
  }
  const worst = hopByHop(ctx, t.paths[shown]!, names);
  // Only the paths listed are explained: their hops are most of what a split flow's answer costs.
  // Text and Markdown print only how each path ends.
  const other = ctx.sentences === PROSE_PRINTED ? summarise : hopByHop;
  const paths = t.paths.slice(0, options.paths).map((p, i) => ({ ...(i === shown ? worst : other(ctx, p, names)), choices: [...p.choices] }));
  return { ...worst, summary: `${worst.summary} (${splitText(t, shown)})`, paths };
}
