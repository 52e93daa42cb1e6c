/**
 * A later migration's function text is derived from an earlier one's (frozen history) with
 * only the lines that change replaced, rather than written out twice.
 */

/** `text` with `from` replaced by `to`; refuses a text that does not contain `from` exactly once. */
export function replaceExactlyOnce(text: string, from: string, to: string, who: string): string {
  const at = text.indexOf(from);
  if (at === -1 || text.indexOf(from, at + 1) !== -1) {
    throw new Error(`${who} to contain ${JSON.stringify(from.trim().slice(0, 60))} once`);
  }
  return text.slice(0, at) + to + text.slice(at + from.length);
}
