// A topology as a request gives it, in any of its forms. Dumps are converted to the fabric they describe before anything
// is checked (src/import/iproute.ts), so that validation (src/topology/validate.ts) only ever sees clusters and fabrics.
import { checkTopology, topologyForm } from '../topology/validate.js';
import type { ClusterDoc, DumpsDoc, FabricDoc, TopologySpec } from '../topology/schema.js';
import { checkDumps } from './iproute.js';
import type { ImportWarning } from './warnings.js';

/** The checked spec of a body, and for dumps what the conversion left out or had to infer; throws DataError (400, 422). */
export function checkTopologyBody(body: { cluster?: ClusterDoc; fabric?: FabricDoc; dumps?: DumpsDoc }): {
  spec: TopologySpec;
  warnings: ImportWarning[];
} {
  return topologyForm(body) === 'dumps' ? checkDumps(body.dumps!) : { spec: checkTopology(body), warnings: [] };
}
