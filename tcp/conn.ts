/**
 * A TCP connection: reads, lines and writes over any runtime's socket.
 *
 * @module
 */

import type { FrameOptions } from "../protocol/frame_decoder.ts";
import type { NetAddr } from "../runtime/types.ts";

/** A network address: transport, IP literal and port. */
export type { NetAddr } from "../runtime/types.ts";
/** The framing options of `readFrame()` and `writeFrame()`. */
export type { FrameOptions } from "../protocol/frame_decoder.ts";

/**
 * A TCP connection, the same on Deno, Bun and Node.
 *
 * Reads are pulled: while nobody reads, the runtime stops reading and the
 * peer's writes block, so a slow reader never grows memory. `write()`
 * resolves only once the runtime has taken every byte. Only one read (of any
 * kind) may be pending at a time; writes may overlap and go out in call order.
 */
export interface Conn extends AsyncDisposable {
  /** This side's address. */
  readonly localAddr: NetAddr;
  /** The peer's address. */
  readonly remoteAddr: NetAddr;
  /** Bytes read from the peer so far. */
  readonly bytesRead: number;
  /** Bytes written to the peer so far. */
  readonly bytesWritten: number;
  /**
   * Reads into `buffer`; resolves with the number of bytes read, or `null`
   * at end of stream.
   */
  read(buffer: Uint8Array, options?: ReadOptions): Promise<number | null>;
  /**
   * Reads the next line, without its `\n` or `\r\n`, decoded as UTF-8; at end
   * of stream, the unterminated rest if any, then `null`. Fails with
   * `ELINETOOLONG` for a line over `maxLineBytes`.
   */
  readLine(options?: ReadOptions): Promise<string | null>;
  /**
   * Waits for at least one line and returns every complete line buffered, so
   * a server can answer pipelined requests with one write. `null` at end of
   * stream.
   */
  readLines(options?: ReadOptions): Promise<string[] | null>;
  /** Iterates over lines until end of stream; `options` apply to each line. */
  lines(options?: ReadOptions): AsyncIterableIterator<string>;
  /**
   * Reads the next length-prefixed frame's payload (see the `frames`
   * option), or `null` at end of stream between frames. Fails with
   * `EFRAMETOOLONG` for a frame over `maxFrameBytes` and `EPROTO` if the
   * stream ends inside a frame.
   */
  readFrame(options?: ReadOptions): Promise<Uint8Array | null>;
  /** Writes `payload` as one length-prefixed frame (see the `frames` option). */
  writeFrame(payload: Uint8Array): Promise<number>;
  /**
   * Writes bytes, or a string as UTF-8. Resolves with the number of bytes
   * once the runtime has taken them all.
   */
  write(data: Uint8Array | string): Promise<number>;
  /**
   * Half-closes: sends end of stream after everything written, and keeps
   * reading, so the peer can still reply.
   */
  closeWrite(): Promise<void>;
  /** Closes both directions. Pending and later calls fail with `ECLOSED`. */
  close(): void;
  /** The read side as a Web Stream; reading it does not close the connection. */
  readonly readable: ReadableStream<Uint8Array>;
  /** The write side as a Web Stream; closing it half-closes the connection. */
  readonly writable: WritableStream<Uint8Array>;
}

/**
 * Options for one read. A read given up on loses nothing: bytes that arrive
 * later go to the next read.
 */
export interface ReadOptions {
  /** Gives up waiting with `EABORTED` when it fires. */
  signal?: AbortSignal;
  /**
   * Gives up with `ETIMEDOUT` once the call has waited this many
   * milliseconds in all (a line that trickles in byte by byte gets no more).
   */
  timeout?: number;
}

/** Options that shape a {@linkcode Conn}. */
export interface ConnOptions {
  /** The longest line `readLine()` accepts, in bytes. Defaults to 64 KiB. */
  maxLineBytes?: number;
  /** The framing `readFrame()` and `writeFrame()` use. Defaults to a 4-byte prefix, 16 MiB at most. */
  frames?: FrameOptions;
}
