// The letter of each disposition in the reachability matrix's rows. Apart from the matrix itself so that the CLI, which
// draws a matrix from the service's rows, takes the same letters without loading the engine.
import type { Disposition } from '../engine/trace/model.js';

/** One letter per outcome, so a row of the matrix is a short string. */
export const LEGEND: Record<string, Disposition> = {
  D: 'DELIVERED',
  X: 'EXITS_NETWORK',
  R: 'NO_ROUTE',
  B: 'BLACKHOLED',
  U: 'UNREACHABLE',
  N: 'NEIGHBOR_UNREACHABLE',
  L: 'LINK_DOWN',
  F: 'FORWARDING_DISABLED',
  O: 'LOOP',
  T: 'TTL_EXCEEDED',
  J: 'REJECTED',
  P: 'DENIED',
};
