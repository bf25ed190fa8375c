/**
 * Counting a string's UTF-8 bytes without keeping them.
 *
 * @module
 */

const encoder = new TextEncoder();

// Where utf8Length() encodes a text to count its bytes, which are never read:
// on every runtime that costs a third of testing the text for non-ASCII
// characters with a regular expression, and a reply is counted as it is sent.
const scratch = new Uint8Array(3 * 1024);
// Texts up to this many code units are counted by the loop: encodeInto() is
// a call into the runtime, on Deno about 120 ns, where the loop takes 60 for
// a 12-character reply.
const SHORT = 16;

/**
 * The UTF-8 length of `text` as TextEncoder, Node and Bun encode it (a lone
 * surrogate as U+FFFD, three bytes).
 *
 * @example Counting bytes
 * ```ts
 * import { utf8Length } from "./utf8_length.ts";
 *
 * if (utf8Length("café") !== 5 || utf8Length("😀") !== 4) throw new Error("miscounted");
 * ```
 */
export function utf8Length(text: string): number {
  // At most three bytes per UTF-16 code unit: a text this short fits.
  if (text.length > SHORT && text.length <= scratch.byteLength / 3) return encoder.encodeInto(text, scratch).written;
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: 4 bytes for 2 code units.
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}
