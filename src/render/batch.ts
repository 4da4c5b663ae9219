// A batch of traces as text: one summary line per flow (and one for its way back), for a terminal or a chat.
import type { traceFlows } from '../answer/batch.js';
import { visible } from './escape.js';

export function renderBatchText(answer: ReturnType<typeof traceFlows>): string {
  const lines = answer.traces.map((t, i) => {
    // Names reach a terminal here: their control characters are shown, never sent as they are.
    const head = `${i + 1}. ${visible(t.trace ? t.trace.summary : `ERROR ${t.flow.from} → ${t.flow.to}: ${t.error!.detail}`)}`;
    return t.return ? `${head}\n   back: ${visible(t.return.summary)}${t.asymmetric ? ' (asymmetric)' : ''}` : head;
  });
  return `${lines.join('\n')}\n`;
}
