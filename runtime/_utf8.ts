/**
 * UTF-8 encoding for text on its way out: shared by `TcpConn`, which counts
 * and encodes what it writes, and the adapters whose runtime cannot take a
 * string reply itself (Deno).
 *
 * @module
 */

const utf8 = new TextEncoder();

// Short strings are encoded into a shared slab, as Node's Buffer.from() does:
// one allocation per slab rather than one per write, which matters most on
// Deno and Node, where every fresh ArrayBuffer costs a few hundred ns. Each
// write gets its own region and no region is ever reused: a full slab is
// replaced, and lives on while a pending write still holds part of it, so a
// stuck write pins at most SLAB bytes.
const SLAB = 8 * 1024;
const SLAB_MAX_CHARS = 1024;
// Up to here copying ASCII in JavaScript beat encodeInto() on every runtime
// in a microbenchmark of short strings; at 48 units it no longer did on Node.
const ASCII_MAX_CHARS = 32;
let slab = new Uint8Array(SLAB);
let slabUsed = 0;

/**
 * `text` as UTF-8, lone surrogates as U+FFFD (as `TextEncoder` does). The
 * bytes are the caller's for good: they are never written again.
 */
export function encodeUtf8(text: string): Uint8Array {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  if (text.length > SLAB_MAX_CHARS) return utf8.encode(text);
  if (slabUsed + text.length * 3 > SLAB) {
    slab = new Uint8Array(SLAB);
    slabUsed = 0;
  }
  const start = slabUsed;
  let written = text.length <= ASCII_MAX_CHARS ? encodeAscii(text, slab, start) : -1;
  if (written < 0) written = utf8.encodeInto(text, slab.subarray(start)).written;
  // Keep regions 8-byte aligned, as allocations would be.
  slabUsed = (start + written + 7) & ~7;
  return slab.subarray(start, start + written);
}

// A short ASCII string, the usual reply, copied unit by unit: encodeInto()
// costs more for a few units, most on Deno, where it is a call into Rust on
// every reply's path from read to write (docs/performance.md, "Lines and
// text"); the other callers (TcpConn.write() of text, Bun's rest of a
// partial write) are off the usual path. -1 at the first unit that is not
// ASCII, having written the units before it, which encodeInto() then writes
// again.
function encodeAscii(text: string, into: Uint8Array, at: number): number {
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const unit = text.charCodeAt(i);
    if (unit > 0x7f) return -1;
    into[at + i] = unit;
  }
  return length;
}

/**
 * How many bytes {@linkcode encodeUtf8} makes of `text`, without encoding
 * it: what Bun sends of a string reply, which it encodes itself and reports
 * only as how many bytes its socket took (Node counts them for us).
 */
export function utf8Length(text: string): number {
  const length = text.length;
  let bytes = length;
  for (let i = 0; i < length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) {
      bytes += 1;
      continue;
    }
    // Three bytes from U+0800 on, and for a lone surrogate, which becomes
    // U+FFFD; a surrogate pair is four bytes for its two units.
    bytes += 2;
    if (unit <= 0xdbff && unit >= 0xd800 && i + 1 < length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
  }
  return bytes;
}
