/**
 * A stream connection (TCP or a Unix socket, over TLS or not): reads, lines
 * and writes over any runtime's socket.
 *
 * @module
 */

import type { FrameOptions } from "../protocol/frame_decoder.ts";
import type { Addr, NetAddr, TlsInfo, UnixAddr } from "../runtime/contract.ts";

/** A network address: transport, IP literal and port. */
export type { NetAddr } from "../runtime/contract.ts";
/** A Unix socket's address: its path. */
export type { UnixAddr } from "../runtime/contract.ts";
/** Any address: a {@linkcode NetAddr} or a {@linkcode UnixAddr}. */
export type { Addr } from "../runtime/contract.ts";

/** The address type of a connection or listener made with options `O`: Unix for a `path`, else network. */
export type AddrOf<O> = O extends { path: string } ? UnixAddr : NetAddr;
/** The framing options of `readFrame()` and `writeFrame()`. */
export type { FrameOptions } from "../protocol/frame_decoder.ts";

/**
 * A stream connection, the same on Deno, Bun and Node: TCP (`A` is
 * {@linkcode NetAddr}) or a Unix socket ({@linkcode UnixAddr}), over TLS
 * or not.
 *
 * Reads are pulled: while nobody reads, the runtime stops reading and the
 * peer's writes block, so a slow reader never grows memory. `write()`
 * resolves only once the runtime has taken every byte. Only one read (of any
 * kind) may be pending at a time; writes may overlap and go out in call order.
 */
export interface Conn<A extends Addr = NetAddr> extends AsyncDisposable {
  /** This side's address. An IPv4 address reached through an IPv6 socket is reported as IPv4. */
  readonly localAddr: A;
  /** The peer's address, IPv4 as IPv4 on a dual-stack listener (not `::ffff:127.0.0.1`). */
  readonly remoteAddr: A;
  /**
   * What the TLS handshake settled (protocol version, ALPN protocol, the
   * peer's certificate as DER), or `undefined` on a plaintext connection.
   * Deno tells neither the version nor the certificate (`undefined`).
   */
  readonly tls: TlsInfo | undefined;
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
  /**
   * The read side as a byte stream (`type: "bytes"`), always the same one:
   * for `pipeTo()`, `pipeThrough()`, and BYOB readers
   * (`getReader({ mode: "byob" })`), which read into the caller's buffer;
   * what does not fit goes to the next read. It is one more way to read, not
   * a copy of the connection: bytes already buffered (read ahead by
   * `readLine()`) come first, and the stream reads from the socket only when
   * it is read (high-water mark 0), so the peer feels backpressure and
   * `read()` or `readLine()` can take over where it stopped. As with any
   * read, only one may be pending at a time.
   *
   * End of stream closes the stream but not the connection, which can still
   * write. A read error errors it with the `SocketError` (`ECONNRESET` for a
   * peer that reset), as does `close()` with `ECLOSED`.
   *
   * `cancel()` ends the stream only, as does leaving a `for await` loop over
   * it early (`values({ preventCancel: true })` keeps it open): the
   * connection stays open for reading and writing, and no byte is lost: a
   * read the stream was waiting on is given up, and whatever it would have
   * got goes to the next `read()` or `readLine()`. A cancelled stream stays
   * closed. Call `close()` to close the connection.
   *
   * @example Reading a body into your own buffer after a header line
   * ```ts
   * import { connect, listen } from "../mod.ts";
   *
   * await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
   * await using client = await connect({ port: listener.addr.port });
   * await using server = await listener.accept();
   * await client.write("header\nbody bytes");
   * await client.closeWrite();
   *
   * if (await server.readLine() !== "header") throw new Error("no header");
   * // The stream goes on where readLine() stopped: nothing read ahead is lost.
   * const reader = server.readable.getReader({ mode: "byob" });
   * let buffer = new ArrayBuffer(4);
   * let body = "";
   * for (;;) {
   *   const { value, done } = await reader.read(new Uint8Array(buffer));
   *   if (done) break;
   *   body += new TextDecoder().decode(value);
   *   buffer = value.buffer;
   * }
   * if (body !== "body bytes") throw new Error(`unexpected body: ${body}`);
   * ```
   */
  readonly readable: ReadableStream<Uint8Array>;
  /**
   * The write side as a Web Stream, always the same one. Each chunk goes out
   * with `write()`, so its promise resolves once the runtime has taken every
   * byte. The high-water mark is 16 KiB, counting the chunk being written:
   * past it `writer.desiredSize` is 0 or less and `writer.ready` waits until
   * the runtime takes the bytes, that is, until the peer reads. `close()`
   * half-closes (as `closeWrite()`); `abort()` closes the connection. For
   * text, pipe through a `TextEncoderStream`.
   *
   * @example An echo server: what comes in goes back out, then end of stream
   * ```ts
   * import { connect, listen } from "../mod.ts";
   *
   * await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
   * await using client = await connect({ port: listener.addr.port });
   * await using server = await listener.accept();
   * // Ends by half-closing the server's side once the client's ends.
   * const echoing = server.readable.pipeTo(server.writable);
   *
   * await ReadableStream.from(["ping\n", "pong\n"])
   *   .pipeThrough(new TextEncoderStream())
   *   .pipeTo(client.writable);
   * if (await client.readLine() !== "ping") throw new Error("no ping");
   * if (await client.readLine() !== "pong") throw new Error("no pong");
   * if (await client.readLine() !== null) throw new Error("no end of stream");
   * await echoing;
   * ```
   */
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
