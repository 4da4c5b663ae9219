// Escaping for every output language, one helper each. Names in a topology are the user's (a netns, a link, a segment):
// apart from the topology's own name they may hold any character, and each output reflects them into a language where
// some characters act — a Slack mention, a Markdown link, an XML tag, a terminal escape sequence.

/**
 * Characters that act on a terminal or hide what surrounds them: C0 and C1 controls (ESC and CSI start escape
 * sequences; CR and BS overwrite), the line and paragraph separators, the bidirectional overrides and isolates (which
 * reorder what is shown), and what is no character at all: U+FFFE, U+FFFF and surrogates not in a pair.
 */
const INVISIBLE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Shows such characters as their \uXXXX escape, so a name reaches a reader as written and never acts on the screen. */
export const visible = (s: string): string => s.replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Cuts text to at most n characters, ending in "…", without splitting a surrogate pair. */
export function clip(s: string, n: number): string {
  const chars = [...s];
  return chars.length > n ? `${chars.slice(0, n - 1).join('')}…` : s;
}

/**
 * Text for XML content or a double- or single-quoted attribute. The characters XML 1.0 does not allow at all (controls
 * but tab, LF and CR; U+FFFE and U+FFFF; lone surrogates) cannot be escaped, not even as character references: they are
 * shown as \uXXXX like every invisible character, so the document stays well-formed.
 */
export const xml = (s: string): string =>
  visible(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/**
 * Text in CommonMark / GitHub Markdown, inline (a paragraph or a table cell): a backslash before each character that
 * could start emphasis, code, a link, an autolink, raw HTML or an entity, or end a table cell. What the renderers put
 * at the start of a line is their own, so the block markers (#, -, +, digits) need no escape.
 */
export const markdown = (s: string): string => visible(s).replace(/[\\`*_~[\]<>&|]/g, '\\$&');

/**
 * A code span in a Markdown table cell. Backslashes do nothing inside a code span, so a backtick in the text is kept
 * inside by a fence longer than any run of backticks in it (and a space where the text starts or ends with one); a
 * pipe is escaped all the same, because GitHub splits the table row before it reads the span.
 */
export function markdownCode(s: string): string {
  const text = visible(s).replace(/\|/g, '\\|');
  const fence = '`'.repeat(Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length)) + 1);
  const pad = /^`|`$|^ .* $/.test(text) ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** Text in a quoted Mermaid label: a quote or a bracket would end it early, a line break would end the statement. */
export const mermaid = (s: string): string => visible(s).replace(/"/g, '#quot;').replace(/[[\]{}<>]/g, ' ');

/**
 * Text in Slack mrkdwn. Slack reads &, < and > as control characters (<!channel> pings everyone, <https://x|label>
 * hides a link behind a label) and asks for them as &amp;, &lt; and &gt;. Slack has no escape for * _ ~ `: where a
 * name could turn into formatting it goes in code (slackCode, slackBlock), inside which Slack formats nothing.
 */
export const slack = (s: string): string => visible(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

// A backtick would end Slack's code span or block, and no escape keeps it inside: it is shown as the look-alike U+02CB.
const slackCoded = (s: string) => slack(s).replace(/`/g, 'ˋ');

/** A name in Slack mrkdwn, as inline code. */
export const slackCode = (s: string): string => `\`${slackCoded(s)}\``;

/**
 * Lines of text in Slack mrkdwn, as a preformatted block of at most `max` characters: the lines past it are dropped
 * whole and counted in a last line, so that no entity or line is cut and the reader knows some are missing.
 */
export function slackBlock(lines: string[], max: number): string {
  const coded = lines.map(slackCoded);
  const kept: string[] = [];
  let length = '``````'.length + '\n… 99 more lines'.length;
  for (const line of coded) {
    if (length + line.length + 1 > max) break;
    kept.push(line);
    length += line.length + 1;
  }
  if (kept.length < coded.length) kept.push(`… ${coded.length - kept.length} more line${coded.length - kept.length === 1 ? '' : 's'}`);
  return `\`\`\`${kept.join('\n')}\`\`\``;
}
