// The node annotations CNI plugins write, as the cluster form keeps them (`nodes[].annotations`, in the Kubernetes API's
// words), and what the compilers read from them: the facts of a real node that no rule derives (the tunnel address Calico's
// IPAM gave it, the router address Cilium picked, the MAC flannel's VTEP got). A value that does not parse is reported by
// validation (src/topology/validate.ts); the readers here return undefined for it, and the compilers derive instead.
import { Addr, type Family } from '../addr.js';
import { IfAddr } from '../ifaddr.js';
import type { ClusterDoc } from '../../topology/schema.js';

export const ANNOTATION = {
  flannelBackendType: 'flannel.alpha.coreos.com/backend-type',
  flannelBackendData: 'flannel.alpha.coreos.com/backend-data',
  flannelBackendV6Data: 'flannel.alpha.coreos.com/backend-v6-data',
  flannelPublicIp: 'flannel.alpha.coreos.com/public-ip',
  calicoIPv4Address: 'projectcalico.org/IPv4Address',
  calicoIPv6Address: 'projectcalico.org/IPv6Address',
  calicoIPv4IPIPTunnelAddr: 'projectcalico.org/IPv4IPIPTunnelAddr',
  calicoIPv4VXLANTunnelAddr: 'projectcalico.org/IPv4VXLANTunnelAddr',
  calicoIPv6VXLANTunnelAddr: 'projectcalico.org/IPv6VXLANTunnelAddr',
  ciliumIPv4Host: 'network.cilium.io/ipv4-cilium-host',
  ciliumIPv6Host: 'network.cilium.io/ipv6-cilium-host',
  ciliumIPv4PodCIDR: 'network.cilium.io/ipv4-pod-cidr',
  ciliumIPv6PodCIDR: 'network.cilium.io/ipv6-pod-cidr',
  ciliumIPv4HealthIp: 'network.cilium.io/ipv4-health-ip',
  ciliumIPv6HealthIp: 'network.cilium.io/ipv6-health-ip',
  // Cilium before 1.12 wrote the same under io.cilium.network.
  ciliumLegacyIPv4Host: 'io.cilium.network.ipv4-cilium-host',
  ciliumLegacyIPv6Host: 'io.cilium.network.ipv6-cilium-host',
  ciliumLegacyIPv4PodCIDR: 'io.cilium.network.ipv4-pod-cidr',
  ciliumLegacyIPv6PodCIDR: 'io.cilium.network.ipv6-pod-cidr',
  ciliumLegacyIPv4HealthIp: 'io.cilium.network.ipv4-health-ip',
  ciliumLegacyIPv6HealthIp: 'io.cilium.network.ipv6-health-ip',
} as const;

/** The annotations the cluster form keeps: those the compilers read (the others only tell the import the data path). */
export const CNI_ANNOTATIONS: ReadonlySet<string> = new Set([
  ANNOTATION.flannelBackendData,
  ANNOTATION.flannelBackendV6Data,
  ANNOTATION.calicoIPv4Address,
  ANNOTATION.calicoIPv6Address,
  ANNOTATION.calicoIPv4IPIPTunnelAddr,
  ANNOTATION.calicoIPv4VXLANTunnelAddr,
  ANNOTATION.calicoIPv6VXLANTunnelAddr,
  ANNOTATION.ciliumIPv4Host,
  ANNOTATION.ciliumIPv6Host,
  ANNOTATION.ciliumIPv4HealthIp,
  ANNOTATION.ciliumIPv6HealthIp,
  ANNOTATION.ciliumLegacyIPv4Host,
  ANNOTATION.ciliumLegacyIPv6Host,
  ANNOTATION.ciliumLegacyIPv4HealthIp,
  ANNOTATION.ciliumLegacyIPv6HealthIp,
]);

type ClusterNode = ClusterDoc['nodes'][number];

const value = (node: ClusterNode, ...keys: string[]): { key: string; text: string } | undefined => {
  for (const key of keys) {
    const text = node.annotations?.[key];
    if (text !== undefined) return { key, text };
  }
  return undefined;
};

const addrOf = (text: string | undefined, family: Family) => {
  const a = text === undefined ? undefined : Addr.tryParse(text);
  return a?.family === family ? a : undefined;
};

/** The address Calico's IPAM gave the node's tunnel device (tunl0, vxlan.calico, vxlan-v6.calico). */
export function calicoTunnelAddr(node: ClusterNode, family: Family, mode: 'ipip' | 'vxlan'): Addr | undefined {
  const key =
    family === 6 ? ANNOTATION.calicoIPv6VXLANTunnelAddr : mode === 'ipip' ? ANNOTATION.calicoIPv4IPIPTunnelAddr : ANNOTATION.calicoIPv4VXLANTunnelAddr;
  return addrOf(node.annotations?.[key], family);
}

/** Any tunnel address Calico gave the node in `family`, whichever mode wrote it: it tells the node's IPAM block. */
export function calicoAnyTunnelAddr(node: ClusterNode, family: Family): Addr | undefined {
  return calicoTunnelAddr(node, family, 'ipip') ?? calicoTunnelAddr(node, family, 'vxlan');
}

/** The node's address and subnet as Calico detected them (`172.18.0.3/16`): the node's own interface address. */
export function calicoNodeAddress(node: ClusterNode, family: Family): IfAddr | undefined {
  const text = node.annotations?.[family === 4 ? ANNOTATION.calicoIPv4Address : ANNOTATION.calicoIPv6Address];
  if (text === undefined) return undefined;
  try {
    const a = IfAddr.parse(text);
    return a.addr.family === family ? a : undefined;
  } catch {
    return undefined;
  }
}

/** cilium_host's address (Cilium's router IP) as the node's annotation gives it. */
export function ciliumHostAddr(node: ClusterNode, family: Family): Addr | undefined {
  const keys =
    family === 4 ? [ANNOTATION.ciliumIPv4Host, ANNOTATION.ciliumLegacyIPv4Host] : [ANNOTATION.ciliumIPv6Host, ANNOTATION.ciliumLegacyIPv6Host];
  return addrOf(value(node, ...keys)?.text, family);
}

/** The address of the node's cilium-health endpoint. */
export function ciliumHealthAddr(node: ClusterNode, family: Family): Addr | undefined {
  const keys =
    family === 4
      ? [ANNOTATION.ciliumIPv4HealthIp, ANNOTATION.ciliumLegacyIPv4HealthIp]
      : [ANNOTATION.ciliumIPv6HealthIp, ANNOTATION.ciliumLegacyIPv6HealthIp];
  return addrOf(value(node, ...keys)?.text, family);
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** The parsed backend-data of flannel, or undefined when it is not a JSON object. */
export function flannelBackendData(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const data: unknown = JSON.parse(text);
    return typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The MAC of the node's flannel VXLAN device (flannel.1, or flannel-v6.1), as flanneld published it in backend-data. */
export function flannelVtepMac(node: ClusterNode, family: Family): string | undefined {
  const data = flannelBackendData(node.annotations?.[family === 4 ? ANNOTATION.flannelBackendData : ANNOTATION.flannelBackendV6Data]);
  const mac = data?.VtepMAC;
  return typeof mac === 'string' && MAC.test(mac) ? mac.toLowerCase() : undefined;
}

/**
 * What is wrong with an annotation the compilers read, or undefined when it reads (or is not one they read): the
 * validator reports it with the node's pointer.
 */
export function annotationProblem(key: string, text: string): string | undefined {
  const address = (family: Family | undefined) => {
    const a = Addr.tryParse(text);
    if (a === undefined) return `${JSON.stringify(text)} is not an IP address`;
    return family !== undefined && a.family !== family ? `${text} is not an IPv${family} address` : undefined;
  };
  switch (key) {
    case ANNOTATION.calicoIPv4IPIPTunnelAddr:
    case ANNOTATION.calicoIPv4VXLANTunnelAddr:
    case ANNOTATION.ciliumIPv4Host:
    case ANNOTATION.ciliumLegacyIPv4Host:
    case ANNOTATION.ciliumIPv4HealthIp:
    case ANNOTATION.ciliumLegacyIPv4HealthIp:
      return address(4);
    case ANNOTATION.calicoIPv6VXLANTunnelAddr:
    case ANNOTATION.ciliumIPv6Host:
    case ANNOTATION.ciliumLegacyIPv6Host:
    case ANNOTATION.ciliumIPv6HealthIp:
    case ANNOTATION.ciliumLegacyIPv6HealthIp:
      return address(6);
    case ANNOTATION.calicoIPv4Address:
    case ANNOTATION.calicoIPv6Address:
      try {
        const a = IfAddr.parse(text);
        if (a.addr.family !== (key === ANNOTATION.calicoIPv4Address ? 4 : 6)) return `${text} is not of the annotation's family`;
        return undefined;
      } catch {
        return `${JSON.stringify(text)} is not an interface address such as 172.18.0.3/16`;
      }
    case ANNOTATION.flannelBackendData:
    case ANNOTATION.flannelBackendV6Data: {
      // host-gw nodes carry backend-data "null": nothing to read, nothing wrong.
      const data = text === 'null' ? {} : flannelBackendData(text);
      if (data === undefined) return `${JSON.stringify(text)} is not a JSON object`;
      if (data.VtepMAC !== undefined && (typeof data.VtepMAC !== 'string' || !MAC.test(data.VtepMAC))) {
        return `VtepMAC ${JSON.stringify(data.VtepMAC)} is not a MAC address`;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}
