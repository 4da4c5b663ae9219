// What a trace answers: the flow, the paths, their hops and steps, and the disposition each path ends in. These are the
// shapes explain.ts, the HTTP answers and the renderers read. The walk (walk.ts) writes integers only, into a record
// (record.ts) that decode.ts turns into these objects when someone reads a path's hops.
import type { Addr, Family } from '../addr.js';
import type { Link, Netns } from '../fabric.js';
import type { Route } from '../route.js';
import type { DnatStep, ServiceRef, SnatStep } from '../service/describe.js';

/**
 * Every disposition, from best to worst. The position is the disposition's severity, for the answer to an ECMP split:
 * the kernel spreads flows over every branch, so an answer that said DELIVERED while a branch drops would hide the flows
 * that fail. DELIVERED is best; EXITS_NETWORK next (the packet leaves the model: no failure seen, but no delivery either);
 * then the drops, whose order only breaks ties so that the same trace always shows the same path. The position is also
 * the disposition's code in a walk's record (see record.ts), where further drop codes name finer causes.
 */
export const DISPOSITIONS = [
  'DELIVERED',
  'EXITS_NETWORK',
  'NO_ROUTE',
  'BLACKHOLED',
  'UNREACHABLE',
  'NEIGHBOR_UNREACHABLE',
  'LINK_DOWN',
  'FORWARDING_DISABLED',
  'LOOP',
  'TTL_EXCEEDED',
  'REJECTED',
  'DENIED',
] as const;

export type Disposition = (typeof DISPOSITIONS)[number];

const SEVERITY = Object.fromEntries(DISPOSITIONS.map((d, i) => [d, i])) as Readonly<Record<Disposition, number>>;

/** The index of the path with the worst disposition (the first of equals): the one an answer reports. */
export function worstPath(paths: readonly { readonly disposition: Disposition }[]): number {
  let worst = 0;
  for (let i = 1; i < paths.length; i++) if (SEVERITY[paths[i]!.disposition] > SEVERITY[paths[worst]!.disposition]) worst = i;
  return worst;
}

export interface Flow {
  readonly src: Addr;
  readonly dst: Addr;
  readonly ttl: number;
  /** The transport header, for the rules that match on it (kube-proxy's, NetworkPolicy's); routing reads addresses only. */
  readonly protocol?: 'icmp' | 'tcp' | 'udp' | 'sctp';
  readonly srcPort?: number;
  readonly dstPort?: number;
  /**
   * A packet of a connection conntrack already tracks (the reply of an allowed request): every NetworkPolicy
   * implementation admits it without evaluating policies, as the API defines policies over connections.
   */
  readonly established?: boolean;
}

export type Step =
  | { readonly type: 'ORIGINATE'; readonly src: Addr; readonly dst: Addr; readonly ttl: number }
  | { readonly type: 'RECEIVE'; readonly link: Link; readonly ttl: number }
  | {
      readonly type: 'ROUTE';
      readonly netns: Netns;
      /** The packet routed: the flow's, or inside a tunnel the outer one. */
      readonly src: Addr;
      readonly dst: Addr;
      readonly route: Route | undefined;
      /** The route's number in the fabric's FIBs (-1 with none): what an answer keys the parts it keeps for it by. */
      readonly group: number;
      readonly nexthop: number;
    }
  | {
      readonly type: 'ENCAPSULATE';
      readonly link: Link;
      /** How the far end was found: the neighbour and FDB (VXLAN), Cilium's ipcache, or the route's gateway (IP-in-IP). */
      readonly via: 'fdb' | 'ipcache' | 'gateway';
      /** For `fdb`: the next hop, and the MAC its permanent neighbour entry gives. */
      readonly neighbor: Addr | undefined;
      readonly lladdr: string | undefined;
      readonly outer: OuterHeader;
      /** Bytes the outer headers add: what the inner packet loses of every MTU on the way. */
      readonly overhead: number;
    }
  | { readonly type: 'DECAPSULATE'; readonly link: Link; readonly outer: OuterHeader }
  | { readonly type: 'BRIDGE'; readonly bridge: Link; readonly from: Link | undefined; readonly to: Link | undefined; readonly dst: Addr }
  | {
      readonly type: 'TRANSMIT';
      readonly link: Link;
      readonly neighbor: Addr;
      /** The link that answered ARP/ND for the neighbour. */
      readonly answeredBy: Link;
      readonly how: 'owner' | 'host' | 'proxy' | 'permanent';
      readonly ttl: number;
    }
  | { readonly type: 'DELIVER'; readonly link: Link; readonly dst: Addr }
  | DnatStep
  | SnatStep
  | PolicyStep
  | { readonly type: 'DROP'; readonly disposition: Disposition; readonly detail: DropDetail };

/** A NetworkPolicy by namespace and name. */
export interface PolicyRef {
  readonly namespace: string;
  readonly name: string;
}

/**
 * NetworkPolicy's verdict at the pod's edge: egress as the packet leaves the source pod, ingress as it reaches the
 * destination pod. NOT_ISOLATED: no policy selects the pod for the direction, so everything passes; FROM_NODE: the
 * pod is isolated but the packet comes from its own node, which a pod cannot block (Kubernetes documents it; plugins
 * follow).
 */
export interface PolicyStep {
  readonly type: 'POLICY';
  readonly direction: 'ingress' | 'egress';
  readonly verdict: 'ALLOWED' | 'DENIED' | 'NOT_ISOLATED' | 'FROM_NODE';
  /** The pod the policies are about (namespace/name), and the other end: its address, and its pod when it is one. */
  readonly pod: string;
  readonly peer: Addr;
  readonly peerPod: string | undefined;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP' | 'ICMP';
  readonly port: number | undefined;
  /** Every policy that isolates the pod for the direction. */
  readonly isolatedBy: readonly PolicyRef[];
  /** ALLOWED: the rule that admits the connection, with its matching peer and port (absent: the rule has none). */
  readonly allowedBy: PolicyRuleRef | undefined;
  /** DENIED: the rule that misses by the fewest parts, and what it misses. */
  readonly closest: (PolicyRuleRef & { readonly unmet: readonly string[] }) | undefined;
  /** The AdminNetworkPolicy or BaselineAdminNetworkPolicy rule that decided (its action Allow or Deny), if one did. */
  readonly decidedBy?: AdminRuleRef | undefined;
  /** The AdminNetworkPolicy rule whose Pass handed the connection on to NetworkPolicy (and the baseline), if one did. */
  readonly passedBy?: AdminRuleRef | undefined;
  /** DENIED by an admin rule: the Allow or Pass rule evaluated before it that misses by the fewest parts, and what it misses. */
  readonly closestAdmin?: (AdminRuleRef & { readonly unmet: readonly string[] }) | undefined;
}

/** A rule of an AdminNetworkPolicy or of the BaselineAdminNetworkPolicy (cluster-scoped: a name, no namespace). */
export interface AdminRuleRef {
  readonly kind: 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy';
  readonly name: string;
  /** An ANP's priority (lower first); undefined for the BANP. */
  readonly priority: number | undefined;
  /** The rule's index in the ingress or egress list, and its name if it has one. */
  readonly rule: number;
  readonly ruleName: string | undefined;
  readonly action: 'Allow' | 'Deny' | 'Pass';
  /** The peer and port entry that matched (`namespaces conformance-house=slytherin`, `TCP/80`), undefined for no ports. */
  readonly peer: string;
  readonly peerIndex: number;
  readonly port: string | undefined;
  readonly portIndex: number | undefined;
}

export interface PolicyRuleRef {
  readonly policy: PolicyRef;
  /** The rule's index in the policy's ingress or egress list. */
  readonly rule: number;
  /** The peer's and port entry's text (`pods role=client`, `TCP/80`), and their index in the rule, or undefined. */
  readonly peer: string | undefined;
  readonly peerIndex: number | undefined;
  readonly port: string | undefined;
  readonly portIndex: number | undefined;
}

export interface OuterHeader {
  readonly src: Addr;
  readonly dst: Addr;
  readonly protocol: 'udp' | 'ipip';
  /** VXLAN/Geneve only. */
  readonly vni: number | undefined;
  readonly port: number | undefined;
  readonly ttl: number;
}

export type DropDetail =
  | { readonly kind: 'route'; readonly route: Route | undefined }
  /** NetworkPolicy denied the connection; the POLICY step before says which policies and rules. */
  | { readonly kind: 'policy'; readonly direction: 'ingress' | 'egress' }
  | { readonly kind: 'forwarding'; readonly family: Family }
  | { readonly kind: 'ttl'; readonly ttl: number }
  | { readonly kind: 'carrier'; readonly link: Link }
  | { readonly kind: 'neighbor'; readonly link: Link; readonly neighbor: Addr; readonly blockedAt: Link | undefined }
  | { readonly kind: 'loop'; readonly cycle: readonly Netns[]; readonly ttl: number }
  /** An IPv4 packet came back to the netns that sent it, whose own address its source is (a martian source). */
  | { readonly kind: 'martian'; readonly link: Link }
  | { readonly kind: 'exit'; readonly link: Link; readonly neighbor: Addr; readonly external: Link }
  /** A tunnel link without a permanent neighbour entry for the next hop (it cannot ARP through the tunnel). */
  | { readonly kind: 'tunnel-neighbor'; readonly link: Link; readonly neighbor: Addr }
  | { readonly kind: 'fdb'; readonly link: Link; readonly neighbor: Addr; readonly lladdr: string }
  | { readonly kind: 'ipcache'; readonly link: Link; readonly dst: Addr }
  /** The outer packet reached `at`, whose netns has no tunnel link that takes it. */
  | { readonly kind: 'tunnel-receiver'; readonly link: Link; readonly at: Link; readonly outer: OuterHeader }
  /** The receiving tunnel link's MAC is not the one the sender's neighbour entry gave. */
  | { readonly kind: 'tunnel-mac'; readonly link: Link; readonly lladdr: string; readonly outer: OuterHeader }
  /**
   * kube-proxy's REJECT (no usable endpoint) or DROP (Local policy with none on the node; outside the source ranges); in
   * its nftables mode also the REJECT of a port a ClusterIP does not serve (`service` the Service at that address) and
   * the DROP of an address of the service CIDR that no Service holds (no `service`). `dst` and `port`: the packet's; `by`:
   * kube-proxy, or Cilium's kube-proxy replacement, whose BPF programs reject and drop by the same rules.
   */
  | { readonly kind: 'service'; readonly service: ServiceRef | undefined; readonly rule: ServiceDropRule; readonly dst: Addr; readonly port: number | undefined; readonly by: 'kube-proxy' | 'cilium' };

export type ServiceDropRule = 'reject' | 'no-local-endpoints' | 'source-range' | 'cluster-ip-port' | 'unallocated-cluster-ip';

export interface Hop {
  readonly netns: Netns;
  /** The link the packet entered this netns by (undefined where it originated). */
  readonly in: Link | undefined;
  /** The link it left by: the route's device, or for a netns it only crossed at L2, the bridge port. */
  readonly out: Link | undefined;
  readonly steps: readonly Step[];
  /**
   * The walk's record of the path and where this hop's entries start in it (they end where the next hop's start): the
   * numbers that decide the hop, which an answer keys what it keeps for the hop by. None on a hop not made by a walk.
   */
  readonly record?: readonly number[];
  readonly start?: number;
}

export interface Trace {
  readonly flow: Flow;
  readonly source: Netns;
  /** The path through the first next hop of every ECMP route; then every other combination. */
  readonly paths: readonly Path[];
}

/** One way the flow goes: through one next hop of every ECMP route on the way. */
export interface Path {
  readonly disposition: Disposition;
  /** The next hop taken at each ECMP route on the way (index into the route's nexthops). */
  readonly choices: readonly number[];
  readonly hops: readonly Hop[];
}
