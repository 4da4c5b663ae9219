// Label selectors (metav1.LabelSelector) as NetworkPolicy reads them: every matchLabels pair and every matchExpression
// must hold; an empty selector selects everything. Evaluated when policies are compiled, never during a walk: the walk
// reads the pod sets compiled from them (policies.ts).
import type { LabelSelectorDoc } from '../../topology/schema.js';

export type Labels = Readonly<Record<string, string>>;

/** The first requirement of the selector that the labels do not meet, in words; undefined when they meet all. */
export function unmet(selector: LabelSelectorDoc, labels: Labels): string | undefined {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return `${key}=${value} (${has(labels, key) ? `it has ${key}=${labels[key]}` : `it has no ${key}`})`;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const present = has(labels, key);
    const value = labels[key];
    switch (operator) {
      case 'In':
        if (!present || !values.includes(value!)) return `${key} in (${values.join(', ')}) (${present ? `it has ${key}=${value}` : `it has no ${key}`})`;
        break;
      case 'NotIn':
        // As in Kubernetes' labels.Requirement: a pod without the key is not in the set, so NotIn holds for it.
        if (present && values.includes(value!)) return `${key} notin (${values.join(', ')}) (it has ${key}=${value})`;
        break;
      case 'Exists':
        if (!present) return `${key} exists (it has no ${key})`;
        break;
      case 'DoesNotExist':
        if (present) return `!${key} (it has ${key}=${value})`;
        break;
    }
  }
  return undefined;
}

export const matches = (selector: LabelSelectorDoc, labels: Labels) => unmet(selector, labels) === undefined;

export const isEmpty = (selector: LabelSelectorDoc) =>
  Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;

/** The selector as kubectl prints it (`role=db,tier in (a, b)`), or `{}` (everything). */
export function selectorText(selector: LabelSelectorDoc): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    parts.push(
      operator === 'In' ? `${key} in (${values.join(', ')})` : operator === 'NotIn' ? `${key} notin (${values.join(', ')})` : operator === 'Exists' ? key : `!${key}`,
    );
  }
  return parts.length === 0 ? '{}' : parts.join(',');
}

const has = (labels: Labels, key: string) => Object.prototype.hasOwnProperty.call(labels, key);
