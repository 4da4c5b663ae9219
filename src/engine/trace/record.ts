// The record of a walk: what the walk writes as it goes, integers only (netns, link, route group and next-hop numbers),
// and decode.ts turns into Hop and Step objects when someone reads them. A sequence of entries, each an opcode and its
// operands; link, netns, group and next-hop numbers are -1 for none.
//   HOP netns in out            a netns entered (out is filled in when the packet leaves)
//   ORIGINATE ttl | RECEIVE link ttl | ROUTE group nexthop | BRIDGE bridge from to | DELIVER link
//   TRANSMIT link neighbor answeredBy how ttl    neighbor: the next hop whose gateway it is, or -1 for the destination
//   ENCAP link mode ref mac ttl   mode TUNNEL_FDB or TUNNEL_IPCACHE: ref is an endpoint number (Tunnels.endpoints), mac
//     the neighbour's MAC number (-1 for ipcache); TUNNEL_IPIP: ref the next hop (its gateway is the endpoint), or -1 for
//     the inner destination. Every entry up to the matching DECAP is about the outer packet.
//   DECAP link at                 link: the tunnel link that takes the packet; at: the link owning the outer destination
//   DROP code operands…   per code: NO_ROUTE, BLACKHOLED, UNREACHABLE group | FORWARDING_DISABLED family |
//     TTL_EXCEEDED ttl | LINK_DOWN link | NEIGHBOR_UNREACHABLE link neighbor blockedAt | EXITS_NETWORK link neighbor
//     external | LOOP ttl count netns… | NO_TUNNEL_NEIGHBOR link neighbor | NO_FDB link neighbor mac | NO_IPCACHE link |
//     NO_RECEIVER link at | WRONG_MAC link mac | MARTIAN link | SERVICE_REJECT, SERVICE_NO_LOCAL, SERVICE_SOURCE_RANGE sp |
//     DENIED direction (0 ingress, 1 egress): NetworkPolicy's, kube-proxy's denials being the SERVICE_* codes
//   DNAT sp kind frontend node verdict chain route masq endpoint port   kube-proxy's rules (service/nat.ts): the Service
//     port, how it was met (service/table.ts), the frontend (-1 for a NodePort), the node, the verdict, chain and why
//     (service/policy.ts), the masquerade mark, the endpoint taken (-1 for none) and the destination port before DNAT
//   SNAT link reason rule node    the masquerade of a packet as it leaves a node by link: kube-proxy's of a packet it
//     marked (reason, rule -1), to the source its route gives; or the data path's egress rule `rule` of node `node`
//     (compile/masquerade.ts, reason 0), to the route's source or the rule's --to-source
//   POLICY direction verdict pod peerPod policy rule peer port tier passPolicy passRule   the policies' verdict
//     (policy/policies.ts, policy/admin.ts): pod and peerPod are PolicySet pod numbers (-1: not a pod), policy rule
//     peer port the deciding rule's (-1 where none): a NetworkPolicy's allowing rule under tier NETWORK_POLICY, the
//     matching ANP or BANP rule under ADMIN or BASELINE; passPolicy passRule an ANP rule whose Pass handed the
//     connection on to NetworkPolicy (-1: none)
// A new step type is a new opcode here with its writer method, a case in decode.ts, and its Step in model.ts.
import { DISPOSITIONS, type Disposition } from './model.js';

export const HOP = 0;
export const ORIGINATE = 1;
export const RECEIVE = 2;
export const ROUTE = 3;
export const BRIDGE = 4;
export const TRANSMIT = 5;
export const DELIVER = 6;
export const DROP = 7;
export const ENCAP = 8;
export const DECAP = 9;
export const DNAT = 10;
export const SNAT = 11;
export const POLICY = 12;

// Drop codes: a disposition's code is its position in DISPOSITIONS; the codes after those name a finer cause.
const code = (d: Disposition) => DISPOSITIONS.indexOf(d);
export const DELIVERED = code('DELIVERED');
export const EXITS_NETWORK = code('EXITS_NETWORK');
export const NO_ROUTE = code('NO_ROUTE');
export const BLACKHOLED = code('BLACKHOLED');
export const UNREACHABLE = code('UNREACHABLE');
export const NEIGHBOR_UNREACHABLE = code('NEIGHBOR_UNREACHABLE');
export const LINK_DOWN = code('LINK_DOWN');
export const FORWARDING_DISABLED = code('FORWARDING_DISABLED');
export const LOOP = code('LOOP');
export const TTL_EXCEEDED = code('TTL_EXCEEDED');
export const REJECTED = code('REJECTED');
export const DENIED = code('DENIED');

/**
 * The finer causes, by the disposition each ends in: the tunnel's sender cannot find the far end (as a neighbour it
 * cannot resolve), or the far end refuses the outer packet (the kernel answers port or protocol unreachable); a packet
 * back at its sender, which Linux drops as a martian source, has gone round in a loop; kube-proxy rejects a packet to a
 * Service with no usable endpoint, and drops one under Local policy with no endpoint on the node or from outside a
 * load balancer's source ranges; its nftables mode rejects a packet to a port a ClusterIP does not serve and drops one
 * to an address of the service CIDR that no Service holds.
 */
const CAUSES = [
  ['NO_TUNNEL_NEIGHBOR', 'NEIGHBOR_UNREACHABLE'],
  ['NO_FDB', 'NEIGHBOR_UNREACHABLE'],
  ['NO_IPCACHE', 'NEIGHBOR_UNREACHABLE'],
  ['NO_RECEIVER', 'UNREACHABLE'],
  ['WRONG_MAC', 'NEIGHBOR_UNREACHABLE'],
  ['MARTIAN', 'LOOP'],
  ['SERVICE_REJECT', 'REJECTED'],
  ['SERVICE_NO_LOCAL', 'DENIED'],
  ['SERVICE_SOURCE_RANGE', 'DENIED'],
  ['SERVICE_CLUSTER_IP_PORT', 'REJECTED'],
  ['SERVICE_UNALLOCATED', 'DENIED'],
] as const satisfies readonly (readonly [string, Disposition])[];
const cause = (name: (typeof CAUSES)[number][0]) => DISPOSITIONS.length + CAUSES.findIndex(([n]) => n === name);
export const NO_TUNNEL_NEIGHBOR = cause('NO_TUNNEL_NEIGHBOR');
export const NO_FDB = cause('NO_FDB');
export const NO_IPCACHE = cause('NO_IPCACHE');
export const NO_RECEIVER = cause('NO_RECEIVER');
export const WRONG_MAC = cause('WRONG_MAC');
export const MARTIAN = cause('MARTIAN');
export const SERVICE_REJECT = cause('SERVICE_REJECT');
export const SERVICE_NO_LOCAL = cause('SERVICE_NO_LOCAL');
export const SERVICE_SOURCE_RANGE = cause('SERVICE_SOURCE_RANGE');
export const SERVICE_CLUSTER_IP_PORT = cause('SERVICE_CLUSTER_IP_PORT');
export const SERVICE_UNALLOCATED = cause('SERVICE_UNALLOCATED');

/** The disposition of every code. */
export const DISPOSITION_OF: readonly Disposition[] = [...DISPOSITIONS, ...CAUSES.map(([, d]) => d)];

/** How a neighbour was answered for (TRANSMIT's `how`). */
export const HOW = ['owner', 'host', 'proxy', 'permanent'] as const;
export const OWNER = 0;
export const HOST = 1;
export const PROXY = 2;
/** A neighbour entry (permanent, or cached in a dump) names the MAC: nothing answers, the frame goes to that link. */
export const PERMANENT = 3;

/** Writes one walk's record into a buffer that the next walk reuses; a finished path keeps a copy. */
export class Recorder {
  private entries = new Array<number>(1024).fill(0);
  length = 0;
  /**
   * Where the path's egress and ingress POLICY entries are (-1: none yet), so that a reader of many paths (the
   * reachability matrix) finds the deciding rule without decoding the record.
   */
  egressAt = -1;
  ingressAt = -1;

  reset(): void {
    this.length = 0;
    this.egressAt = this.ingressAt = -1;
  }

  /**
   * Goes back to the record as it was `length` entries long, the hop at `hop` (its last) not yet left: what a later
   * walk wrote past it is forgotten, and that walk's way out of the hop with it.
   */
  rewind(length: number, hop: number): void {
    this.length = length;
    this.entries[hop + 3] = -1;
  }

  /** The entries so far, copied out of the buffer. */
  copy(): number[] {
    return this.entries.slice(0, this.length);
  }

  put(x: number): void {
    this.entries[this.length++] = x;
  }

  /** Starts the record of a hop into netns `ns`; returns where it is, for netnsOf() and out(). */
  hop(ns: number, inLink: number): number {
    const at = this.length;
    this.put(HOP);
    this.put(ns);
    this.put(inLink);
    this.put(-1);
    return at;
  }

  netnsOf(hop: number): number {
    return this.entries[hop + 1]!;
  }

  /** Fills in the link by which the packet leaves the hop at `hop`. */
  out(hop: number, link: number): void {
    this.entries[hop + 3] = link;
  }

  originate(ttl: number): void {
    this.put(ORIGINATE);
    this.put(ttl);
  }

  receive(link: number, ttl: number): void {
    this.put(RECEIVE);
    this.put(link);
    this.put(ttl);
  }

  route(group: number, nexthop: number): void {
    this.put(ROUTE);
    this.put(group);
    this.put(nexthop);
  }

  bridge(bridge: number, from: number, to: number): void {
    this.put(BRIDGE);
    this.put(bridge);
    this.put(from);
    this.put(to);
  }

  transmit(link: number, neighbor: number, answeredBy: number, how: number, ttl: number): void {
    this.put(TRANSMIT);
    this.put(link);
    this.put(neighbor);
    this.put(answeredBy);
    this.put(how);
    this.put(ttl);
  }

  deliver(link: number): void {
    this.put(DELIVER);
    this.put(link);
  }

  encap(link: number, mode: number, ref: number, mac: number, ttl: number): void {
    this.put(ENCAP);
    this.put(link);
    this.put(mode);
    this.put(ref);
    this.put(mac);
    this.put(ttl);
  }

  decap(link: number, at: number): void {
    this.put(DECAP);
    this.put(link);
    this.put(at);
  }

  dnat(sp: number, kind: number, frontend: number, node: number, verdict: number, chain: number, route: number, masq: number, endpoint: number, port: number): void {
    this.put(DNAT);
    this.put(sp);
    this.put(kind);
    this.put(frontend);
    this.put(node);
    this.put(verdict);
    this.put(chain);
    this.put(route);
    this.put(masq);
    this.put(endpoint);
    this.put(port);
  }

  snat(link: number, reason: number, rule = -1, node = -1): void {
    this.put(SNAT);
    this.put(link);
    this.put(reason);
    this.put(rule);
    this.put(node);
  }

  policy(egress: boolean, verdict: number, pod: number, peerPod: number, policy: number, rule: number, peer: number, port: number, tier: number, passPolicy: number, passRule: number): void {
    if (egress) this.egressAt = this.length;
    else this.ingressAt = this.length;
    this.put(POLICY);
    this.put(egress ? 1 : 0);
    this.put(verdict);
    this.put(pod);
    this.put(peerPod);
    this.put(policy);
    this.put(rule);
    this.put(peer);
    this.put(port);
    this.put(tier);
    this.put(passPolicy);
    this.put(passRule);
  }

  /** A DROP with its code; the caller puts the code's operands. */
  drop(code: number): void {
    this.put(DROP);
    this.put(code);
  }
}
