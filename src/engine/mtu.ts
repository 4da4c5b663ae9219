// The MTU along a path: the largest IP packet that gets through every link the packet leaves by. Inside a tunnel the
// packet is the payload of an outer one, so a link of the underlay leaves it its MTU less the outer headers.
import type { Family } from './addr.js';
import type { Link, Netns } from './fabric.js';
import type { Hop, Step } from './trace.js';

export interface Bottleneck {
  /** The largest packet that fits there: the link's MTU less the outer headers in effect. */
  readonly mtu: number;
  readonly link: Link;
  readonly netns: Netns;
  /** The bytes of outer headers the packet carries on that link (0 outside tunnels). */
  readonly overhead: number;
  /** Whether the link is the source's own: the sending kernel, not a router, decides the packet's fate there. */
  readonly atSource: boolean;
}

// ENCAPSULATE ({ link, overhead }) pushes the outer headers of a tunnel and DECAPSULATE pops them. They come with the
// tunnel data paths, so they are read by type name and field here, without relying on the Step union holding them.
const isStep = (step: Step, type: string) => (step.type as string) === type;
const encapsulated = (step: Step) => step as unknown as { readonly link?: Link; readonly overhead?: number };

/**
 * Where the path's MTU is smallest: every hop's `out` link (when the packet left by it) and every tunnel device the
 * packet entered, each with the overhead of the tunnels it is inside there. The first of equals, where a packet that is
 * too large would be stopped. Undefined when the packet leaves by no link (delivered in its own netns).
 */
export function bottleneck(hops: readonly Hop[]): Bottleneck | undefined {
  const pushed: number[] = [];
  let overhead = 0;
  let found: Bottleneck | undefined;
  const meet = (link: Link, netns: Netns) => {
    const mtu = link.mtu - overhead;
    if (found === undefined || mtu < found.mtu) found = { mtu, link, netns, overhead, atSource: netns === hops[0]?.netns && overhead === 0 };
  };
  hops.forEach((hop, i) => {
    // The tunnel device takes the inner packet, before the outer headers are added.
    let tunnel: Link | undefined;
    for (const step of hop.steps) {
      if (isStep(step, 'ENCAPSULATE')) {
        const { link, overhead: bytes = 0 } = encapsulated(step);
        if (link !== undefined) meet(link, hop.netns);
        tunnel = link;
        pushed.push(bytes);
        overhead += bytes;
      } else if (isStep(step, 'DECAPSULATE')) {
        overhead -= pushed.pop() ?? 0;
      }
    }
    // A hop's out link carries the packet if another hop follows or it was transmitted (out of the model): a packet
    // dropped before it leaves (link down, no neighbour) never meets it.
    const left = i < hops.length - 1 || hop.steps.some((s) => s.type === 'TRANSMIT');
    if (hop.out !== undefined && hop.out !== tunnel && left) meet(hop.out, hop.netns);
  });
  return found;
}

export interface MtuReport {
  smallest: number;
  netns: string;
  link: string;
  size?: number;
  fits?: boolean;
  explanation?: string;
}

/**
 * The path's smallest MTU, where it is, and with a packet size, whether the packet fits and (with prose) what Linux does
 * when it does not. Undefined when the packet leaves by no link.
 */
export function mtuReport(hops: readonly Hop[], family: Family, size?: number, prose = true): MtuReport | undefined {
  const b = bottleneck(hops);
  if (b === undefined) return undefined;
  const report: MtuReport = { smallest: b.mtu, netns: b.netns.name, link: b.link.name };
  if (size === undefined) return report;
  if (!prose) return { ...report, size, fits: size <= b.mtu };
  const where = `${b.link.name} of ${b.netns.name} (MTU ${b.link.mtu}${b.overhead > 0 ? `, ${b.mtu} inside ${b.overhead} bytes of outer headers` : ''})`;
  const fits = size <= b.mtu;
  return { ...report, size, fits, explanation: fits ? `a ${size}-byte packet fits through every link on the way; the smallest MTU is at ${where}` : tooBig(size, where, family, b.atSource) };
}

function tooBig(size: number, where: string, family: Family, atSource: boolean): string {
  const head = `a ${size}-byte packet does not fit through ${where}`;
  if (family === 6) {
    return atSource
      ? `${head}: the sending kernel fragments it (in IPv6 only the source may), or refuses it (EMSGSIZE) on a socket with IPV6_DONTFRAG`
      : `${head}: IPv6 routers never fragment, so the kernel drops it and answers ICMPv6 packet too big`;
  }
  return atSource
    ? `${head}: with DF set (TCP, ping -M do) the sending kernel refuses it (EMSGSIZE); without DF it fragments it before sending`
    : `${head}: with DF set (TCP, ping -M do) the kernel drops it and answers ICMP fragmentation needed; without DF it is fragmented`;
}
