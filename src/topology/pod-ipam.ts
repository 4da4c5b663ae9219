// Which data paths give a pod an address from its node's pod CIDR (host-local IPAM, GKE's alias ranges), so that the
// cluster form holds pod IPs to it. Calico allocates from its IPAM blocks, weave from one cluster-wide subnet, and the
// AWS VPC CNI and Azure CNI hand out the VPC's or VNet's own addresses, attached to the node's network interfaces.
import type { CniDoc } from './schema.js';

const OWN_IPAM: ReadonlySet<CniDoc['plugin']> = new Set(['calico', 'weave', 'aws-vpc-cni', 'azure-cni']);

export const podIpsFromNodeCidr = (plugin: CniDoc['plugin']): boolean => !OWN_IPAM.has(plugin);
