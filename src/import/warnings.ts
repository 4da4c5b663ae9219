// What an import left out, inferred or could not model, told once per kind of trouble: a large cluster or a node's dumps
// can hit the same thing thousands of times, and the answer says how often with a few places to look at.

/** The first places shown of each warning: enough to find the pattern, not a second copy of the input. */
export const MAX_EXAMPLES = 10;

export interface ImportWarning {
  code: string;
  count: number;
  detail: string;
  /** Up to MAX_EXAMPLES of the places concerned, as JSON pointers into the request body. */
  examples: { pointer: string; detail: string }[];
}

/** What a warning says about all its places; a function of their count where the sentence agrees with it. */
export type WarningSummary = string | ((count: number) => string);

/** The warnings of one import, by code, in the order they first occurred. */
export class ImportWarnings<Code extends string = string> {
  private readonly byCode = new Map<Code, { summary: WarningSummary; count: number; examples: ImportWarning['examples'] }>();

  /** One more place for code; the summary given first is the one the warning keeps. */
  add(code: Code, summary: WarningSummary, pointer: string, detail: string) {
    let w = this.byCode.get(code);
    if (w === undefined) this.byCode.set(code, (w = { summary, count: 0, examples: [] }));
    w.count++;
    if (w.examples.length < MAX_EXAMPLES) w.examples.push({ pointer, detail });
  }

  list(): ImportWarning[] {
    return [...this.byCode].map(([code, w]) => ({
      code,
      count: w.count,
      detail: typeof w.summary === 'string' ? w.summary : w.summary(w.count),
      examples: w.examples,
    }));
  }
}

/** "1 node", "3 nodes": the counts of warning summaries and descriptions. */
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
