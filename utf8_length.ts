/**
 * Counting a string's UTF-8 bytes without encoding it.
 *
 * @module
 */

const NON_ASCII = /[\u0080-\uffff]/;

/**
 * The UTF-8 length of `text` as TextEncoder, Node and Bun encode it (a lone
 * surrogate as U+FFFD, three bytes). ASCII text, the usual reply, is found
 * with one regular expression test.
 *
 * @example Counting bytes
 * ```ts
 * import { utf8Length } from "./utf8_length.ts";
 *
 * if (utf8Length("café") !== 5 || utf8Length("😀") !== 4) throw new Error("miscounted");
 * ```
 */
export function utf8Length(text: string): number {
  if (!NON_ASCII.test(text)) return text.length;
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
