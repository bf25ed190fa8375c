/**
 * Incremental line framing: bytes in, complete lines out, no I/O.
 *
 * @module
 */

import { SocketError } from "../socket_error.ts";

/** The default for `maxLineBytes`: 64 KiB. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

const LF = 10;
const CR = 13;
const EMPTY = new Uint8Array(0);
const NO_LINES: string[] = [];
const NO_ENDS: number[] = [];
const BOM = 0xfeff;
// Keeps every U+FEFF: the decoder drops one itself, at the start of the stream
// only, where a lone decode would drop one at the start of every line.
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
// Ranges up to this long are searched for a newline byte by byte: on V8 a
// typed array's indexOf() is a call into C++, which costs more than scanning
// a short line (a request of a line protocol, usually) in JavaScript.
const SHORT_SCAN = 64;

// Where the first `\n` in `buf[from, end)` is, or -1.
function indexOfLF(buf: Uint8Array, from: number, end: number): number {
  if (end - from <= SHORT_SCAN) {
    for (let i = from; i < end; i++) {
      if (buf[i] === LF) return i;
    }
    return -1;
  }
  // indexOf on a view: bytes past `end` in an owned buffer are stale.
  return (end === buf.byteLength ? buf : buf.subarray(0, end)).indexOf(LF, from);
}

// Where the last `\n` in `buf[from, end)` is, or -1.
function lastIndexOfLF(buf: Uint8Array, from: number, end: number): number {
  if (end - from <= SHORT_SCAN) {
    for (let i = end - 1; i >= from; i--) {
      if (buf[i] === LF) return i;
    }
    return -1;
  }
  const i = buf.lastIndexOf(LF, end - 1);
  return i >= from ? i : -1;
}

/** Options for {@linkcode LineDecoder}. */
export interface LineDecoderOptions {
  /**
   * The longest line accepted, in bytes, not counting `\r\n` or `\n`. A longer
   * line fails with `ELINETOOLONG` as soon as that many bytes are buffered
   * without a newline, so memory stays bounded. Defaults to 64 KiB.
   */
  maxLineBytes?: number;
}

/**
 * What is wrong with a line limit, in the words an error message gives after
 * its colon, or `undefined` when nothing is.
 *
 * @example A limit of zero
 * ```ts
 * import { lineLimitProblem } from "./line_decoder.ts";
 *
 * if (lineLimitProblem(0) !== "maxLineBytes must be a positive integer, got 0") throw new Error("unexpected");
 * ```
 */
export function lineLimitProblem(maxLineBytes: number): string | undefined {
  if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 1) {
    return `maxLineBytes must be a positive integer, got ${maxLineBytes}`;
  }
  return undefined;
}

/**
 * Splits a byte stream into UTF-8 lines ended by `\n` or `\r\n`. A line may
 * arrive split over any number of chunks, many lines may arrive in one, and a
 * multi-byte character cut between chunks stays whole because only complete
 * lines are decoded. Each byte is scanned for a newline once.
 *
 * `next()` returns `undefined` for "need more bytes", never an error for a
 * partial line; the only error is a line over `maxLineBytes` (`ELINETOOLONG`),
 * after which the decoder keeps failing: the stream is out of sync.
 *
 * A byte order mark (U+FEFF) is dropped at the very start of the stream, the
 * first bytes ever pushed, as a `TextDecoder` in stream mode drops it (its
 * bytes still count towards the first line's `maxLineBytes`); anywhere else,
 * even at the start of a line, it is a character of the line. Bytes taken
 * with {@linkcode LineDecoder.take} before the first line count as the start.
 *
 * @example Decoding lines that arrive in pieces
 * ```ts
 * import { LineDecoder } from "./line_decoder.ts";
 * import assert from "node:assert/strict";
 *
 * const decoder = new LineDecoder();
 * const bytes = new TextEncoder().encode("héllo\r\nwor");
 * assert.deepEqual(decoder.decode(bytes.subarray(0, 2)), []); // "h" and half of "é"
 * assert.deepEqual(decoder.decode(bytes.subarray(2)), ["héllo"]);
 * assert.deepEqual(decoder.decode(new TextEncoder().encode("ld\n")), ["world"]);
 * ```
 */
export class LineDecoder {
  #max: number;
  #buf: Uint8Array = EMPTY;
  #start = 0;
  #end = 0;
  // Where the newline search resumes: bytes before it hold no newline.
  #scan = 0;
  // Whether #buf is ours to write into; an adopted chunk is the caller's.
  #owned = false;
  #failed: SocketError | null = null;
  // Lines decoded ahead, all in one call, and not yet returned: #queue[i]
  // ends just before byte #ends[i] of #buf (without #ends: ASCII lines that
  // keep their `\r`, each followed by its `\n`). Their bytes stay buffered
  // until returned, so `buffered` and `take()` see them as before.
  #queue: string[] = NO_LINES;
  #ends: number[] = NO_ENDS;
  #head = 0;
  // Whether the lines of an ASCII queue are as returned: no `\r` to drop and
  // none over the limit. nextLines() then hands over what is left of it whole.
  #plain = false;
  // Whether no byte has been consumed yet: the first line drops a BOM.
  #fresh = true;

  /** Makes a decoder; see {@linkcode LineDecoderOptions}. */
  constructor(options: LineDecoderOptions = {}) {
    const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    const problem = lineLimitProblem(max);
    if (problem !== undefined) throw new SocketError("EINVAL", `Cannot make a line decoder: ${problem}`);
    this.#max = max;
  }

  /** The longest line accepted, in bytes. */
  get maxLineBytes(): number {
    return this.#max;
  }

  /** How many bytes are buffered and not yet returned. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** Whether {@linkcode LineDecoder.next} would return `undefined` now: nothing is buffered, and it has not failed. */
  get drained(): boolean {
    return this.#start === this.#end && this.#failed === null;
  }

  /**
   * Adds bytes. The decoder may keep `chunk` itself: do not change it
   * afterwards, unless {@linkcode LineDecoder.detach} was called since.
   */
  push(chunk: Uint8Array): void {
    const length = chunk.byteLength;
    if (length === 0) return;
    // The bytes may move: lines decoded ahead are decoded again when asked.
    if (this.#queue !== NO_LINES) this.#dropQueue();
    if (this.#start === this.#end) {
      // Nothing buffered: adopt the chunk rather than copy it.
      this.#buf = chunk;
      this.#start = 0;
      this.#end = length;
      this.#scan = 0;
      this.#owned = false;
      return;
    }
    const live = this.#end - this.#start;
    if (this.#owned && this.#buf.byteLength - this.#end >= length) {
      this.#buf.set(chunk, this.#end);
      this.#end += length;
      return;
    }
    let target = this.#buf;
    if (!this.#owned || target.byteLength < live + length) {
      // Doubling keeps a line that comes in small chunks from being copied
      // over and over. While what is buffered could be one line, it stops at
      // what the longest line and a `\r\n` take: past that a line near the
      // limit held twice the limit. Beyond it the buffer holds whole lines
      // as well, and doubles on, or every push would copy them all again.
      const need = live + length;
      const doubled = Math.max(live * 2, 1024);
      target = new Uint8Array(need > this.#max + 2 ? Math.max(need, doubled) : Math.min(doubled, this.#max + 2));
      if (target.byteLength < need) target = new Uint8Array(need);
    }
    target.set(this.#buf.subarray(this.#start, this.#end), 0);
    target.set(chunk, live);
    this.#scan -= this.#start;
    this.#buf = target;
    this.#owned = true;
    this.#start = 0;
    this.#end = live + length;
  }

  /**
   * Copies the buffered bytes that are still part of a pushed chunk, so the
   * caller may reuse that chunk (a read buffer lent for one `push`), and
   * moves what is left of a large buffer of the decoder's own, once most of
   * it is read, into one its size. Cheap when every line was taken: nothing
   * is left to copy.
   */
  detach(): void {
    if (this.#start === this.#end) return;
    const live = this.#end - this.#start;
    if (this.#owned) {
      // A buffer that grew to take a large chunk behind a partial line would
      // otherwise be held whole for the next partial line, maybe for as long
      // as the connection stays idle. Not while lines are decoded ahead:
      // their ends are offsets into this buffer.
      if (this.#queue !== NO_LINES || this.#buf.byteLength <= Math.max(2 * live, 1024)) return;
    } else if (this.#queue !== NO_LINES) {
      // Lines decoded ahead are decoded again from the copy.
      this.#dropQueue();
    }
    // A copy whatever was pushed: Node's Buffer.slice() would be a view.
    const copy = new Uint8Array(live);
    copy.set(this.#buf.subarray(this.#start, this.#end));
    this.#buf = copy;
    this.#scan = Math.max(this.#scan - this.#start, 0);
    this.#end -= this.#start;
    this.#start = 0;
    this.#owned = true;
  }

  /**
   * The next complete line without its terminator, or `undefined` when more
   * bytes are needed. Throws `ELINETOOLONG` for a line over `maxLineBytes`.
   */
  next(): string | undefined {
    if (this.#failed !== null) throw this.#failed;
    if (this.#head < this.#queue.length) return this.#dequeue();
    if (this.#fresh) return this.#firstLine();
    // A chunk adopted whole that ends with a newline is nothing but complete
    // lines, as a request or a batch of them usually is: decoded at once and
    // searched as text, where V8 and JSC search natively, not byte by byte.
    const end = this.#end;
    if (this.#start === 0 && end > 0 && !this.#owned && this.#scan === 0 && this.#buf[end - 1] === LF) {
      const line = this.#wholeLines(end);
      if (line !== undefined) return line;
    }
    const newline = this.#find();
    if (newline < 0) {
      this.#scan = this.#end;
      const pending = this.#end - this.#start;
      // One byte of slack: a trailing `\r` may be half of a `\r\n`.
      if (pending > this.#max && !(pending === this.#max + 1 && this.#buf[this.#end - 1] === CR)) {
        this.#fail();
      }
      return undefined;
    }
    let stop = newline;
    if (stop > this.#start && this.#buf[stop - 1] === CR) stop--;
    if (stop - this.#start > this.#max) this.#fail();
    // More complete lines behind this one (pipelined requests): decode them
    // all in one call, which costs about what decoding one line does.
    if (newline + 1 < this.#end) {
      const second = indexOfLF(this.#buf, newline + 1, this.#end);
      if (second >= 0) return this.#decodeAhead(newline, second);
    }
    const line = this.#decode(this.#start, newline + 1, newline - stop + 1);
    this.#consume(newline + 1);
    return line;
  }

  // next() for the stream's first line, which drops the BOM that a
  // TextDecoder in stream mode drops: once, at the start of the stream.
  #firstLine(): string | undefined {
    this.#fresh = false;
    const line = this.next();
    if (line === undefined) this.#fresh = true;
    else if (line.charCodeAt(0) === BOM) return line.slice(1);
    return line;
  }

  // next() for a buffer that is the chunk pushed, ending with a newline at
  // `end - 1`: its first line, or `undefined` for the byte by byte search
  // (several lines that are not all ASCII).
  #wholeLines(end: number): string | undefined {
    const buf = this.#buf;
    const text = utf8.decode(buf);
    if (text.indexOf("\n") === text.length - 1) {
      // One line: its bytes are the chunk's less the terminator.
      const cr = end > 1 && buf[end - 2] === CR;
      if (end - (cr ? 2 : 1) > this.#max) this.#fail();
      this.#consume(end);
      return text.slice(0, text.length - (cr ? 2 : 1));
    }
    return text.length === end ? this.#queueAscii(text, end) : undefined;
  }

  // Queues the ASCII lines of `text`, the decoded bytes from #start up to
  // `upTo` (just past a newline), and returns the first: a character per
  // byte, so the text splits at its newlines and each line's bytes are its
  // length (see #dequeue).
  #queueAscii(text: string, upTo: number): string {
    const lines = text.split("\n");
    lines.pop();
    this.#scan = upTo;
    this.#queue = lines;
    this.#ends = NO_ENDS;
    this.#head = 0;
    this.#plain = text.indexOf("\r") < 0 && (text.length <= this.#max + 1 || this.#withinLimit(lines));
    return this.#dequeue();
  }

  // Whether every line is within the limit: a batch longer than the limit,
  // as a large chunk of short lines is, may still be handed over whole.
  #withinLimit(lines: string[]): boolean {
    const max = this.#max;
    for (let i = 0; i < lines.length; i++) if (lines[i].length > max) return false;
    return true;
  }

  // The text of `#buf[from, to)` less its last `cut` characters (ASCII: a
  // line's terminator). A range that is the whole buffer, as a lone request
  // in its own chunk is, is decoded without a view of it: on Bun a view of a
  // buffer the runtime made costs more than the decode.
  #decode(from: number, to: number, cut: number): string {
    const buf = this.#buf;
    if (from === 0 && to === buf.byteLength) {
      const text = utf8.decode(buf);
      return cut === 0 ? text : text.slice(0, text.length - cut);
    }
    return utf8.decode(buf.subarray(from, to - cut));
  }

  // Decodes the complete lines from #start on, the first two ending at
  // `first` and `second`, up to the first line over the limit (left for
  // next() to fail on), and returns the first one. The result is what
  // decoding each line on its own gives: a newline is never part of a
  // multi-byte character, so it also ends any malformed one.
  #decodeAhead(first: number, second: number): string {
    const buf = this.#buf;
    // ASCII, as most line protocols are, is queued by #queueAscii(): one
    // decode and one split, with no byte scan past the second newline.
    const last = lastIndexOfLF(buf, second, this.#end);
    const text = this.#decode(this.#start, last + 1, 0);
    if (text.length === last + 1 - this.#start) return this.#queueAscii(text, last + 1);
    const ends: number[] = [first + 1];
    for (let newline = second; newline >= 0; newline = indexOfLF(buf, newline + 1, this.#end)) {
      const from = ends[ends.length - 1];
      const stop = newline > from && buf[newline - 1] === CR ? newline - 1 : newline;
      if (stop - from > this.#max) break;
      ends.push(newline + 1);
    }
    this.#scan = ends[ends.length - 1];
    const upTo = ends[ends.length - 1];
    // Decoded again only when a line over the limit cut the batch short.
    const lines = (upTo === last + 1 ? text : this.#decode(this.#start, upTo, 0)).split("\n");
    lines.length = ends.length;
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i];
      if (line.length > 0 && line.charCodeAt(line.length - 1) === CR) line = line.slice(0, -1);
      lines[i] = line;
    }
    this.#queue = lines;
    this.#ends = ends;
    this.#head = 0;
    return this.#dequeue();
  }

  #dequeue(): string {
    if (this.#ends === NO_ENDS) {
      // An ASCII queue (see #decodeAhead): lines keep their `\r`, and one
      // over the limit fails only when its turn comes.
      let line = this.#queue[this.#head++];
      const end = this.#start + line.length + 1;
      if (line.length > 0 && line.charCodeAt(line.length - 1) === CR) line = line.slice(0, -1);
      if (line.length > this.#max) this.#fail();
      if (this.#head === this.#queue.length) this.#dropQueue();
      this.#consume(end);
      return line;
    }
    const line = this.#queue[this.#head];
    const end = this.#ends[this.#head++];
    if (this.#head === this.#queue.length) this.#dropQueue();
    this.#consume(end);
    return line;
  }

  // Forgets lines decoded ahead; their newlines will be found again.
  #dropQueue(): void {
    if (this.#head < this.#queue.length && this.#scan > this.#start) this.#scan = this.#start;
    this.#queue = NO_LINES;
    this.#ends = NO_ENDS;
    this.#head = 0;
  }

  /**
   * Every complete line buffered now, in order; empty when more bytes are
   * needed. Pushes `chunk` first when one is given.
   */
  decode(chunk?: Uint8Array): string[] {
    if (chunk !== undefined) this.push(chunk);
    const lines: string[] = [];
    for (let line = this.next(); line !== undefined; line = this.next()) lines.push(line);
    return lines;
  }

  /**
   * The complete lines buffered now, in order, as {@linkcode LineDecoder.next}
   * returns them one by one; empty when more bytes are needed. A line over
   * `maxLineBytes` throws `ELINETOOLONG` once the lines before it have been
   * returned: here if it is the first, else from the next call.
   *
   * @example Lines before one that is too long
   * ```ts
   * import { LineDecoder } from "./line_decoder.ts";
   * import assert from "node:assert/strict";
   *
   * const decoder = new LineDecoder({ maxLineBytes: 4 });
   * decoder.push(new TextEncoder().encode("ok\nfine\ntoo long\n"));
   * assert.deepEqual(decoder.nextLines(), ["ok", "fine"]);
   * assert.throws(() => decoder.nextLines(), { code: "ELINETOOLONG" });
   * ```
   */
  nextLines(): string[] {
    // The rest of a batch of ASCII lines decoded ahead, after next() took its
    // first lines: in one step, not a call per line.
    if (this.#head > 0 && this.#plain && this.#ends === NO_ENDS) {
      return this.#restOfBatch(this.#queue.slice(this.#head));
    }
    const first = this.next();
    if (first === undefined) return [];
    // A batch next() has just decoded: the queue, `first` included, as it is.
    if (this.#head === 1 && this.#plain && this.#ends === NO_ENDS) return this.#restOfBatch(this.#queue);
    const lines = [first];
    try {
      for (let line = this.next(); line !== undefined; line = this.next()) lines.push(line);
    } catch {
      // The decoder keeps failing: the caller hears of it on its next call.
    }
    return lines;
  }

  // Hands over `lines`, the rest of the queued batch, and consumes them.
  #restOfBatch(lines: string[]): string[] {
    const upTo = this.#scan;
    this.#queue = NO_LINES;
    this.#head = 0;
    this.#consume(upTo);
    // What follows holds no newline, but may be over the limit already:
    // next() fails then, as it would have after the last line.
    if (this.#end > upTo) {
      try {
        this.next();
      } catch {
        // Heard of on the next call, as for a batch cut short by such a line.
      }
    }
    return lines;
  }

  /**
   * At end of stream: the last line if it had no terminator, else
   * `undefined`. Throws `ELINETOOLONG` if that line is too long.
   */
  end(): string | undefined {
    if (this.#failed !== null) throw this.#failed;
    const line = this.next();
    if (line !== undefined || this.#start === this.#end) return line;
    let stop = this.#end;
    if (this.#buf[stop - 1] === CR) stop--;
    if (stop - this.#start > this.#max) this.#fail();
    const rest = utf8.decode(this.#buf.subarray(this.#start, stop));
    this.#consume(this.#end);
    if (!this.#fresh) return rest;
    this.#fresh = false;
    return rest.charCodeAt(0) === BOM ? rest.slice(1) : rest;
  }

  /**
   * Removes and returns up to `max` buffered bytes as they came, for a reader
   * that switches from lines to raw bytes, as a plain Uint8Array whatever
   * was pushed. The caller owns what it gets.
   */
  take(max: number = Infinity): Uint8Array {
    if (this.#queue !== NO_LINES) this.#dropQueue();
    const stop = Math.min(this.#end, this.#start + max);
    if (stop > this.#start) this.#fresh = false;
    // A plain Uint8Array whatever was pushed: a subclass's subarray() (Node's
    // Buffer) would make one of that subclass.
    const buf = this.#buf;
    let bytes = new Uint8Array(buf.buffer, buf.byteOffset + this.#start, stop - this.#start);
    // A partial take of an owned buffer must not alias bytes we will overwrite.
    if (this.#owned && stop < this.#end) bytes = bytes.slice();
    this.#consume(stop);
    return bytes;
  }

  #find(): number {
    const from = this.#scan > this.#start ? this.#scan : this.#start;
    if (from >= this.#end) return -1;
    return indexOfLF(this.#buf, from, this.#end);
  }

  #consume(upTo: number): void {
    this.#start = upTo;
    if (this.#start === this.#end) {
      // Drop the buffer so an idle decoder holds no memory.
      this.#buf = EMPTY;
      this.#start = this.#end = this.#scan = 0;
      this.#owned = false;
    }
  }

  #fail(): never {
    this.#dropQueue();
    this.#failed = new SocketError("ELINETOOLONG", `Cannot decode line: longer than ${this.#max} bytes`, {
      limit: this.#max,
    });
    // Release what was buffered: the stream is out of sync anyway.
    this.#buf = EMPTY;
    this.#start = this.#end = this.#scan = 0;
    this.#owned = false;
    throw this.#failed;
  }
}
