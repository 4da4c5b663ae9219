// The TypeBox schemas openapi.yaml publishes verbatim: written there by openapi-components.ts, checked by the openapi test.
import { Cluster, Dumps, Fabric, TopologyBody, TopologyName, TopologyPutBody } from '../src/topology/schema.js';
import { RevisionList, TopologyList, TopologyMeta, TopologyWritten } from '../src/http/routes/topologies.schemas.js';
import { TraceAnswer } from '../src/answer/schema.js';
import { ImportAnswer, KubernetesImportBody } from '../src/http/routes/import.schemas.js';
import { BatchAnswer, BatchBody } from '../src/http/routes/traces.schemas.js';
import { WhatIfAnswer, WhatIfBody } from '../src/http/routes/whatif.schemas.js';
import { ReachabilityAnswer } from '../src/http/routes/reachability.js';
import { DiffAnswer } from '../src/http/routes/diff.js';

/** The components.schemas of openapi.yaml that are the TypeBox schemas themselves, by their name there. */
export const generated: Record<string, unknown> = {
  TopologyName,
  Cluster,
  Fabric,
  Dumps,
  TopologyBody,
  TopologyPutBody,
  TopologyMeta,
  TopologyWritten,
  TopologyList,
  RevisionList,
  TraceAnswer,
  BatchBody,
  BatchAnswer,
  WhatIfBody,
  WhatIfAnswer,
  ReachabilityAnswer,
  DiffAnswer,
  KubernetesImportBody,
  KubernetesImportAnswer: ImportAnswer,
};
