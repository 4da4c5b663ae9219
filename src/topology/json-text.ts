// What is wrong with a JSON text before it is parsed: nesting deeper than any document the service takes (recursive
// code further on would overflow the stack) and NUL characters in strings (PostgreSQL's text cannot hold them). A linear
// scan of bytes, cheap next to the parse itself.
/** kubectl's deepest objects (managedFields) nest about 20 levels; iproute2's about 6. */
export const MAX_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** What is wrong with the text, before it is parsed; undefined when nothing is. */
export function jsonTextProblem(text: string): { detail: string; at: string } | undefined {
  let depth = 0;
  for (let i = 0, n = text.length; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // A string: skip to its closing quote, looking only at escapes.
      for (i++; i < n; i++) {
        const s = text.charCodeAt(i);
        if (s === QUOTE) break;
        if (s === BACKSLASH) {
          if (text.startsWith('u0000', i + 1)) return { detail: 'a string holds a NUL character (\\u0000), which cannot be stored', at: `character ${i}` };
          i++;
        }
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_DEPTH) return { detail: `the document nests deeper than ${MAX_DEPTH} levels; no document the service takes does`, at: `character ${i}` };
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return undefined;
}
