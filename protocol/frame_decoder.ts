/**
 * Incremental length-prefixed framing: bytes in, complete frames out, no I/O.
 *
 * @module
 */

import { SocketError } from "../socket_error.ts";

/**
 * The default for `maxFrameBytes`: 16 MiB, or what the prefix can express if
 * that is less (255 bytes for a 1-byte prefix, 65535 for a 2-byte one).
 */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

const EMPTY = new Uint8Array(0);

/** Options for {@linkcode FrameDecoder} and `encodeFrame()`. */
export interface FrameOptions {
  /**
   * How many bytes the big-endian length prefix takes: 1, 2 or 4. The length
   * counts the payload only, not the prefix. Defaults to 4.
   */
  prefixBytes?: 1 | 2 | 4;
  /**
   * The longest payload accepted, in bytes; at most what the prefix can
   * express. A frame that declares more fails with `EFRAMETOOLONG` as soon as
   * its prefix is read, before any of its payload is buffered. Defaults to
   * {@linkcode DEFAULT_MAX_FRAME_BYTES}.
   */
  maxFrameBytes?: number;
}

/** Options for {@linkcode FrameDecoder}. */
export interface FrameDecoderOptions extends FrameOptions {
  /**
   * What its errors say was being done, such as `read frame from
   * 127.0.0.1:7`. Defaults to `decode frame`.
   */
  action?: string;
}

/**
 * What is wrong with `options`, in the words an error message gives after
 * its colon, or `undefined` when nothing is.
 *
 * @example A prefix too short for the limit
 * ```ts
 * import { frameOptionsProblem } from "./frame_decoder.ts";
 *
 * const problem = frameOptionsProblem({ prefixBytes: 1, maxFrameBytes: 300 });
 * if (problem !== "maxFrameBytes must be an integer from 1 to 255 for a 1-byte prefix, got 300") throw new Error(problem);
 * ```
 */
export function frameOptionsProblem(options: FrameOptions): string | undefined {
  const prefix = options.prefixBytes ?? 4;
  if (prefix !== 1 && prefix !== 2 && prefix !== 4) return `prefixBytes must be 1, 2 or 4, got ${prefix}`;
  const ceiling = 2 ** (8 * prefix) - 1;
  const max = options.maxFrameBytes ?? Math.min(DEFAULT_MAX_FRAME_BYTES, ceiling);
  if (!Number.isSafeInteger(max) || max < 1 || max > ceiling) {
    return `maxFrameBytes must be an integer from 1 to ${ceiling} for a ${prefix}-byte prefix, got ${max}`;
  }
  return undefined;
}

/**
 * Splits a byte stream into frames, each a big-endian length prefix followed
 * by that many payload bytes. A frame may arrive split over any number of
 * chunks, and many frames may arrive in one. The caller owns every frame it
 * gets: it is either copied out of the decoder's own buffer or a view of a
 * pushed chunk that the decoder never writes into.
 *
 * `next()` returns `undefined` for "need more bytes", never an error for a
 * partial frame; the only error is a frame over `maxFrameBytes`
 * (`EFRAMETOOLONG`), after which the decoder keeps failing: the stream is out
 * of sync.
 *
 * @example Decoding frames that arrive in pieces
 * ```ts
 * import { FrameDecoder } from "./frame_decoder.ts";
 * import assert from "node:assert/strict";
 *
 * const decoder = new FrameDecoder({ prefixBytes: 2 });
 * const bytes = Uint8Array.of(0, 3, 1, 2, 3, 0, 0, 0, 2, 4);
 * assert.deepEqual(decoder.decode(bytes.subarray(0, 4)), []); // 2 of 3 payload bytes
 * assert.deepEqual(decoder.decode(bytes.subarray(4)), [Uint8Array.of(1, 2, 3), new Uint8Array(0)]);
 * assert.deepEqual(decoder.decode(Uint8Array.of(5)), [Uint8Array.of(4, 5)]);
 * ```
 *
 * @example Rejecting an oversized frame from its prefix alone
 * ```ts
 * import { FrameDecoder } from "./frame_decoder.ts";
 * import assert from "node:assert/strict";
 *
 * const decoder = new FrameDecoder({ maxFrameBytes: 1024 });
 * assert.throws(() => decoder.decode(Uint8Array.of(0, 0, 4, 1)), {
 *   code: "EFRAMETOOLONG",
 *   message: "Cannot decode frame: 1025 bytes is over the limit of 1024",
 * });
 * ```
 */
export class FrameDecoder {
  #prefix: 1 | 2 | 4;
  #max: number;
  #buf: Uint8Array = EMPTY;
  #start = 0;
  #end = 0;
  // Whether #buf is ours to write into; an adopted chunk is the caller's, and
  // frames handed out as views of it must never change under the caller.
  #owned = false;
  #failed: SocketError | null = null;
  #action: string;

  /** Makes a decoder; see {@linkcode FrameOptions}. Throws `EINVAL` for bad options. */
  constructor(options: FrameDecoderOptions = {}) {
    const problem = frameOptionsProblem(options);
    if (problem !== undefined) throw new SocketError("EINVAL", `Cannot make a frame decoder: ${problem}`);
    this.#prefix = options.prefixBytes ?? 4;
    this.#max = options.maxFrameBytes ?? Math.min(DEFAULT_MAX_FRAME_BYTES, 2 ** (8 * this.#prefix) - 1);
    this.#action = options.action ?? "decode frame";
  }

  /** The longest payload accepted, in bytes. */
  get maxFrameBytes(): number {
    return this.#max;
  }

  /** How many bytes the length prefix takes. */
  get prefixBytes(): 1 | 2 | 4 {
    return this.#prefix;
  }

  /** How many bytes are buffered and not yet returned. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Adds bytes. The decoder may keep `chunk` itself, and frames it returns may
   * be views of it: do not change it afterwards. Never throws; an oversized
   * frame is reported by the next `next()` or `decode()`.
   */
  push(chunk: Uint8Array): void {
    const length = chunk.byteLength;
    if (length === 0 || this.#failed !== null) return;
    if (this.#start === this.#end) {
      // Nothing buffered: adopt the chunk rather than copy it.
      this.#buf = chunk;
      this.#start = 0;
      this.#end = length;
      this.#owned = false;
      this.#checkHead();
      return;
    }
    const live = this.#end - this.#start;
    const needed = live + length;
    if (!this.#owned || this.#buf.byteLength < needed) {
      // Double for amortised growth, but never past the end of a frame whose
      // size is known: a 16 MiB frame should not cost 32 MiB.
      let capacity = Math.max(needed, live * 2, 1024);
      const frame = this.#headLength();
      if (frame >= 0 && this.#prefix + frame >= needed) capacity = Math.min(capacity, this.#prefix + frame);
      const target = new Uint8Array(capacity);
      target.set(this.#buf.subarray(this.#start, this.#end), 0);
      this.#buf = target;
      this.#owned = true;
      this.#start = 0;
      this.#end = live;
    } else if (this.#buf.byteLength - this.#end < length) {
      // Room enough in total: compact rather than grow.
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += length;
    this.#checkHead();
  }

  /**
   * The next complete frame's payload, or `undefined` when more bytes are
   * needed. Throws `EFRAMETOOLONG` for a frame over `maxFrameBytes`.
   */
  next(): Uint8Array | undefined {
    if (this.#failed !== null) throw this.#failed;
    const length = this.#headLength();
    if (length < 0) return undefined;
    if (length > this.#max) throw this.#fail(length);
    const from = this.#start + this.#prefix;
    const stop = from + length;
    if (stop > this.#end) return undefined;
    // Our own buffer will be overwritten, so copy; a caller's chunk will not.
    const frame = this.#owned ? this.#buf.slice(from, stop) : this.#buf.subarray(from, stop);
    this.#consume(stop);
    return frame;
  }

  /**
   * Every complete frame buffered now, in order; empty when more bytes are
   * needed. Pushes `chunk` first when one is given.
   */
  decode(chunk?: Uint8Array): Uint8Array[] {
    if (chunk !== undefined) this.push(chunk);
    const frames: Uint8Array[] = [];
    for (let frame = this.next(); frame !== undefined; frame = this.next()) frames.push(frame);
    return frames;
  }

  /**
   * Removes and returns up to `max` buffered bytes as they came, prefixes
   * included, for a reader that switches from frames to raw bytes. The caller
   * owns what it gets.
   */
  take(max: number = Infinity): Uint8Array {
    const stop = Math.min(this.#end, this.#start + max);
    let bytes = this.#buf.subarray(this.#start, stop);
    // A partial take of an owned buffer must not alias bytes we will overwrite.
    if (this.#owned && stop < this.#end) bytes = bytes.slice();
    this.#consume(stop);
    return bytes;
  }

  // The declared payload length of the first buffered frame, or -1 while its
  // prefix is incomplete.
  #headLength(): number {
    if (this.#end - this.#start < this.#prefix) return -1;
    const buf = this.#buf;
    const at = this.#start;
    switch (this.#prefix) {
      case 1:
        return buf[at];
      case 2:
        return (buf[at] << 8) | buf[at + 1];
      case 4:
        // Multiply the top byte: `<< 24` would turn lengths of 2 GiB and up negative.
        return buf[at] * 0x1000000 + ((buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]);
    }
  }

  // Fails on push as soon as the first frame's prefix is known to be too long,
  // so none of its payload is kept; `next()` then throws the error.
  #checkHead(): void {
    const length = this.#headLength();
    if (length > this.#max) this.#fail(length);
  }

  #consume(upTo: number): void {
    this.#start = upTo;
    if (this.#start === this.#end) {
      // Drop the buffer so an idle decoder holds no memory.
      this.#buf = EMPTY;
      this.#start = this.#end = 0;
      this.#owned = false;
    }
  }

  // Records the error for every later call and returns it.
  #fail(length: number): SocketError {
    this.#failed = new SocketError(
      "EFRAMETOOLONG",
      `Cannot ${this.#action}: ${length} bytes is over the limit of ${this.#max}`,
      { limit: this.#max },
    );
    // Release what was buffered: the stream is out of sync anyway.
    this.#buf = EMPTY;
    this.#start = this.#end = 0;
    this.#owned = false;
    return this.#failed;
  }
}
