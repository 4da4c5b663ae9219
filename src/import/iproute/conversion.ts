// One conversion of dumps to a fabric: what its steps (links, peers, addresses, sysctls, routes, neighbours, segments) read
// and write, the namespaces and links as they are read, and what it found wrong or left out on the way.
import { Prefix } from '../../engine/prefix.js';
import type { IfAddr } from '../../engine/ifaddr.js';
import type { InvalidParam } from '../../topology/data-error.js';
import type { DumpLinkDoc, DumpNetnsDoc, DumpsDoc, LinkDoc, NetnsDoc, SegmentDoc } from '../../topology/schema.js';
import { ImportWarnings } from '../warnings.js';

const WARNINGS = {
  'veth-peer-outside': 'veths whose other end is in none of the dumped namespaces are taken as physical links',
  'kind-not-modelled': 'links of kinds the fabric does not model are taken as physical links',
  'ipip-remote-not-modelled': "IP-in-IP links with a remote are traced as Calico's tunl0 (no remote): the route's gateway is the outer destination",
  'master-not-bridge': "links enslaved to something other than a bridge are taken without their master",
  'no-carrier': 'physical links that are up but have no carrier are traced as if they had it',
  'segment-inferred': 'physical links that no segment names were put on one segment per subnet they share',
  'physical-alone': 'physical links that share no subnet with another dumped link are plugged into nothing',
  'external-from-neighbour': 'neighbours that no dump owns, on a segment, are taken as hosts outside the dumps',
  'address-peer': 'the peer of a point-to-point address is not modelled (the local address is kept)',
  'address-dadfailed': 'IPv6 addresses that failed duplicate address detection are left out',
  'address-unknown-link': 'addresses of links that the link dump does not show are left out',
  'route-table-skipped': 'routes of tables other than main are left out: policy routing is not modelled',
  'route-type-skipped': 'routes of types the fabric does not model are left out',
  'route-via-skipped': 'routes through a gateway of another family (via) are left out',
  'route-lo-skipped': 'unicast routes through lo are left out',
  'connected-route-kept': 'connected routes (proto kernel) that the fabric does not derive from an address are kept as routes',
  'sysctl-not-modelled': 'sysctls that change forwarding decisions but are not modelled',
  'proxy-ndp-off': 'proxy NDP entries of links whose proxy_ndp is off are left out',
  'fdb-skipped': 'FDB entries without a remote (dst) are left out: the fabric keeps tunnel endpoints only',
} as const;
type WarningCode = keyof typeof WARNINGS;

export const LINK_LOCAL6 = Prefix.parse('fe80::/10');
export const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

export interface LinkRec {
  readonly ns: NsRec;
  readonly pointer: string;
  readonly raw: DumpLinkDoc;
  readonly name: string;
  readonly ifindex: number;
  readonly infoKind: string | undefined;
  readonly up: boolean;
  readonly doc: LinkDoc;
  /** Where doc sits in its netns's links. */
  readonly position: number;
  peer: LinkRec | undefined;
  addrs: IfAddr[];
}

export interface NsRec {
  readonly index: number;
  readonly pointer: string;
  readonly dump: DumpNetnsDoc;
  readonly links: LinkRec[];
  readonly byName: Map<string, LinkRec>;
  readonly byIfindex: Map<number, LinkRec>;
  readonly doc: NetnsDoc;
}

export class Conversion {
  readonly errors: InvalidParam[] = [];
  readonly warnings = new ImportWarnings<WarningCode>();
  /** For a pointer into the fabric, the pointer of the dump entry it was made of. */
  readonly origins = new Map<string, string>();
  readonly nss: NsRec[] = [];
  readonly nsByName = new Map<string, NsRec>();
  readonly segments: SegmentDoc[] = [];
  /** The link-local IPv6 gateways of every dumped route: the only link-local addresses worth keeping. */
  readonly linkLocalGateways = new Set<string>();

  constructor(
    readonly dumps: DumpsDoc,
    /** Where the dumps are in the request body. */
    readonly base: string,
  ) {}

  error(pointer: string, detail: string) {
    this.errors.push({ pointer, detail });
  }

  warn(code: WarningCode, pointer: string, detail: string) {
    this.warnings.add(code, WARNINGS[code], pointer, detail);
  }
}
