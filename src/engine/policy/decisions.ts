// Which policy decided each cell of a reachability matrix: the rule that allowed or denied each direction, read from the
// POLICY entries a walk recorded (record.ts) and interned, so that a cell holds one integer however many pairs share a
// decision, and the names are looked up once per decision when the answer is written.
import { RecordedPath } from '../trace/decode.js';
import type { Path } from '../trace/model.js';
import { ALLOWED, DENIED } from './policies.js';

/** One direction's decision: a rule that allowed or denied, or a NetworkPolicy isolation that no rule lifted. */
export interface Decision {
  readonly egress: boolean;
  /** ALLOWED or DENIED (policies.ts). */
  readonly verdict: number;
  /** NETWORK_POLICY, ADMIN or BASELINE (admin.ts): which table `policy` numbers. */
  readonly tier: number;
  /** The deciding policy and rule; -1 for a NetworkPolicy denial, where no rule of the isolating policies admits. */
  readonly policy: number;
  readonly rule: number;
  /** For a NetworkPolicy denial, the pod whose isolating policies denied (policies.ts isolating()); else -1. */
  readonly pod: number;
}

// Operands of a POLICY entry (record.ts).
const VERDICT = 1;
const POD = 2;
const POLICY = 4;
const RULE = 5;
const TIER = 8;

export class Decisions {
  readonly decisions: Decision[] = [];
  /** Per cell id: its egress and its ingress decision (numbers in `decisions`, -1: no policy decided it). */
  readonly egress: number[] = [];
  readonly ingress: number[] = [];
  private readonly decisionIds = new Map<number, number>();
  private readonly cellIds = new Map<number, number>();
  // Consecutive traces (one source class to every destination) mostly repeat the decision before: it is checked first.
  private lastEgress = -2;
  private lastIngress = -2;
  private lastCell = -1;

  /** The cell id of a path's decisions, or -1 when no policy decided either direction. */
  of(path: Path): number {
    if (!(path instanceof RecordedPath)) return -1;
    const e = this.direction(path, true);
    const i = this.direction(path, false);
    if (e < 0 && i < 0) return -1;
    if (e === this.lastEgress && i === this.lastIngress) return this.lastCell;
    this.lastEgress = e;
    this.lastIngress = i;
    const key = (e + 1) * 0x4000000 + (i + 1);
    let id = this.cellIds.get(key);
    if (id === undefined) {
      this.cellIds.set(key, (id = this.egress.length));
      this.egress.push(e);
      this.ingress.push(i);
    }
    return (this.lastCell = id);
  }

  private direction(path: RecordedPath, egress: boolean): number {
    const verdict = path.policyOperand(egress, VERDICT);
    if (verdict !== ALLOWED && verdict !== DENIED) return -1;
    const tier = path.policyOperand(egress, TIER);
    const policy = path.policyOperand(egress, POLICY);
    const rule = path.policyOperand(egress, RULE);
    // A NetworkPolicy denial names no rule: the isolating policies of its pod are what decided.
    const pod = policy < 0 ? path.policyOperand(egress, POD) : -1;
    const a = policy < 0 ? pod : policy;
    const key = (((a + 1) * 0x400000 + (rule + 1)) * 4 + tier) * 4 + (egress ? 2 : 0) + (verdict === DENIED ? 1 : 0);
    let id = this.decisionIds.get(key);
    if (id === undefined) {
      this.decisionIds.set(key, (id = this.decisions.length));
      this.decisions.push({ egress, verdict, tier, policy, rule, pod });
    }
    return id;
  }
}
