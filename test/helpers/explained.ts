// Explanations as tests read them: a step's fields are read without narrowing the step by its type first, since a test
// that asserts on a step already knows which one it is (and fails when it is not).
import type { AnswerStep } from '../../src/answer/steps.js';

export type AnyStep = AnswerStep & Record<string, any>;

export interface ExplainedPathView {
  disposition: string;
  summary: string;
  hops: { netns: string; kind: string; node?: string; in?: string; out?: string; steps: AnyStep[] }[];
}

export type ExplanationView = ExplainedPathView & { paths?: (ExplainedPathView & { choices: number[] })[] };
