// The documents under examples/ are what the README tells users to POST; tests use the same files.
import { readFileSync } from 'node:fs';
import type { TopologyBodyDoc } from '../../src/topology/schema.js';

export function example(name: string): TopologyBodyDoc & { name: string } {
  return JSON.parse(readFileSync(new URL(`../../examples/${name}.json`, import.meta.url), 'utf8'));
}
