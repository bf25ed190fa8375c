/**
 * The usual request's line, for a connection that skips its line decoder.
 * Internal.
 *
 * @module
 */

const LF = 10;
const CR = 13;
// As the decoder's: keeps a U+FEFF (none leads a chunk answered here).
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * The line that `chunk` is, when it is one complete line and nothing more:
 * what a `LineDecoder` holding nothing returns for it (the same decoding,
 * terminator and limit), after which the decoder holds nothing again.
 * `undefined` for anything else (no newline at the end, more than one line,
 * a line over `maxLineBytes`, a line that starts with a byte order mark,
 * which only the stream's first line drops), which goes to a decoder
 * instead. For a connection that keeps a decoder and hands it only what this
 * cannot answer, so that the usual request, one line in one chunk, does not
 * read the decoder's state, one object fewer gone cold on a busy server
 * (docs/performance.md, "Per-connection objects").
 * tests/codec_properties.test.ts holds it to the decoder, at the start of a
 * stream and past it.
 */
export function soleLine(chunk: Uint8Array, maxLineBytes: number): string | undefined {
  const end = chunk.byteLength;
  // A byte scan first: a batch of lines is left to the decoder undecoded,
  // and a newline byte is never part of a multi-byte character.
  if (end === 0 || chunk.indexOf(LF) !== end - 1) return undefined;
  // Dropped or kept by where the stream starts, which only the decoder knows.
  if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) return undefined;
  const cut = end > 1 && chunk[end - 2] === CR ? 2 : 1;
  if (end - cut > maxLineBytes) return undefined;
  const text = utf8.decode(chunk);
  return text.slice(0, text.length - cut);
}
