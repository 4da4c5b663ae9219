import assert from 'node:assert/strict';
import { SaxesParser } from 'saxes';

/**
 * Parses an XML document with a conforming XML 1.0 parser (which throws at the first error); returns the text of its
 * elements. saxes lets a high surrogate without its pair through, so the UTF-8 round trip checks for those first.
 */
export function parseXml(doc: string): string {
  assert.equal(Buffer.from(doc).toString(), doc, 'no surrogate outside a pair');
  let text = '';
  const parser = new SaxesParser();
  parser.on('text', (s) => (text += s));
  parser.write(doc).close();
  return text;
}
