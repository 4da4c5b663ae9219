// kube-proxy's configuration, as the fields of its KubeProxyConfiguration that change a packet's fate, with kube-proxy's
// defaults filled in.
import type { Family } from '../addr.js';
import { parseAddrBits, Prefix } from '../prefix.js';
import type { KubeProxyDoc } from '../../topology/services.schema.js';

export type ProxyMode = 'iptables' | 'nftables' | 'ipvs';
export type DetectLocalMode = 'ClusterCIDR' | 'NodeCIDR' | 'BridgeInterface' | 'InterfaceNamePrefix';

export interface ProxyConfig {
  readonly mode: ProxyMode;
  readonly clusterCIDRs: readonly Prefix[];
  readonly detectLocalMode: DetectLocalMode;
  readonly bridgeInterface: string | undefined;
  readonly interfaceNamePrefix: string | undefined;
  readonly masqueradeAll: boolean;
  /** NodePorts answer on 127.0.0.1: iptables mode only (the nftables mode never does; IPv6 never does). */
  readonly localhostNodePorts: boolean;
  /** The prefixes NodePorts answer in; `all` every local address, `primary` the node's own addresses. */
  readonly nodePortAddresses: readonly Prefix[] | 'all';
  readonly nodePortPrimary: boolean;
}

/** kube-proxy's ParseCIDRSloppy: a prefix whose host bits are cleared rather than refused, as the API accepts them. */
export function sloppyPrefix(s: string): Prefix {
  const { addr, bits } = parseAddrBits(s, 'prefix');
  return Prefix.of(addr, bits);
}

export function proxyConfig(doc: KubeProxyDoc | undefined): ProxyConfig {
  const mode: ProxyMode = doc?.mode === 'nftables' || doc?.mode === 'ipvs' ? doc.mode : 'iptables';
  const cidrs = doc?.clusterCIDR ? doc.clusterCIDR.split(',').map((s) => sloppyPrefix(s.trim())) : [];
  const masqueradeAll = (mode === 'nftables' ? doc?.nftables?.masqueradeAll : undefined) ?? doc?.iptables?.masqueradeAll ?? false;
  const given = doc?.nodePortAddresses ?? [];
  const primary = given.includes('primary') || (given.length === 0 && mode === 'nftables');
  return {
    mode,
    clusterCIDRs: cidrs,
    detectLocalMode: doc?.detectLocalMode || 'ClusterCIDR',
    bridgeInterface: doc?.detectLocal?.bridgeInterface,
    interfaceNamePrefix: doc?.detectLocal?.interfaceNamePrefix,
    masqueradeAll,
    localhostNodePorts: mode === 'iptables' && (doc?.iptables?.localhostNodePorts ?? true),
    nodePortAddresses: given.length === 0 ? 'all' : given.filter((s) => s !== 'primary').map(sloppyPrefix),
    nodePortPrimary: primary,
  };
}

export function clusterCIDR(config: ProxyConfig, family: Family): Prefix | undefined {
  return config.clusterCIDRs.find((p) => p.family === family);
}
