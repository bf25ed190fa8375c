/**
 * The usual request's line, for a connection that skips its line decoder.
 * Internal.
 *
 * @module
 */

const LF = 10;
const CR = 13;
const utf8 = new TextDecoder();
const ASCII_MAX_BYTES = 16;

/**
 * The line that `chunk` is, when it is one complete line and nothing more:
 * what a `LineDecoder` holding nothing returns for it (the same decoding,
 * terminator and limit), after which the decoder holds nothing again.
 * `undefined` for anything else (no newline at the end, more than one line,
 * a line over `maxLineBytes`), which goes to a decoder instead. For a
 * connection that keeps a decoder and hands it only what this cannot
 * answer, so that the usual request, one line in one chunk, does not read
 * the decoder's state (bench/PROFILES.md, item 39). tests/codec_properties.test.ts
 * holds it to the decoder.
 */
export function soleLine(chunk: Uint8Array, maxLineBytes: number): string | undefined {
  const end = chunk.byteLength;
  // A byte scan first: a batch of lines is left to the decoder undecoded,
  // and a newline byte is never part of a multi-byte character.
  if (end === 0 || chunk.indexOf(LF) !== end - 1) return undefined;
  const cut = end > 1 && chunk[end - 2] === CR ? 2 : 1;
  const length = end - cut;
  if (length > maxLineBytes) return undefined;
  const ascii = length <= ASCII_MAX_BYTES ? decodeAscii(chunk, length) : undefined;
  if (ascii !== undefined) return ascii;
  const text = utf8.decode(chunk);
  return text.slice(0, text.length - cut);
}

// A short ASCII line, the usual one, decoded byte by byte: on Deno and
// Node, TextDecoder's decode() costs more for a few bytes, on the path from a
// request's read to its reply's write (bench/PROFILES.md, item 43); past 16
// bytes it costs less. `undefined` at the first byte that is not ASCII.
function decodeAscii(bytes: Uint8Array, length: number): string | undefined {
  let text = "";
  for (let i = 0; i < length; i++) {
    const byte = bytes[i];
    if (byte > 0x7f) return undefined;
    text += String.fromCharCode(byte);
  }
  return text;
}
