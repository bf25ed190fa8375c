/**
 * A Deno stream connection behind the runtime contract, for TCP, TLS and
 * Unix sockets alike. Deno pulls: the adapter runs the read loop. Reads and
 * writes go through `conn.read()` and `conn.write()`, never `conn.readable`,
 * whose end of stream closes the whole connection and so would break
 * half-close.
 *
 * @module
 */

import type { Addr, ConnEvents, RawConn, TlsInfo } from "../contract.ts";
import { SocketError } from "../../socket_error.ts";

// A pending read pins its buffer until data arrives, so an idle connection
// waits on a small one; full reads grow it to cut the number of reads.
const MIN_READ = 128;
const MAX_READ = 64 * 1024;
// The longest text encoded into a connection's own buffer, in bytes.
const SCRATCH_BYTES = 1024;
// The longest ASCII text copied into that buffer by hand, in characters:
// encodeInto() is a call into Deno's runtime, about 90 ns, where the copy
// takes 30 for 12 characters and draws level at about 48.
const SHORT_TEXT = 32;

const encoder = new TextEncoder();

/**
 * A plain address from Deno's (null-prototype objects, with `path: null` for
 * an unnamed Unix socket).
 *
 * @example Copying an address
 * ```ts ignore
 * import { plainAddr } from "./conn.ts";
 *
 * plainAddr({ transport: "tcp", hostname: "127.0.0.1", port: 80 });
 * ```
 */
export function plainAddr(addr: Deno.Addr): Addr {
  if (addr.transport === "unix" || addr.transport === "unixpacket") {
    return { transport: "unix", path: addr.path ?? "" };
  }
  const { hostname, port } = addr as Deno.NetAddr;
  return { transport: "tcp", hostname, port };
}

/** How {@linkcode DenoConn} treats its socket. */
export interface DenoConnOptions {
  /** Set TCP_NODELAY (plain TCP sockets only: Deno offers it on nothing else). */
  noDelay?: boolean;
  /** What the TLS handshake settled, on a TLS connection. */
  tls?: TlsInfo;
}

/**
 * A Deno stream connection (TCP, TLS or Unix) as a {@linkcode RawConn}.
 *
 * @example Wrapping an accepted connection
 * ```ts ignore
 * import { DenoConn } from "./conn.ts";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect(listener.addr);
 * const conn = new DenoConn(await listener.accept(), { noDelay: true });
 * conn.close();
 * client.close();
 * listener.close();
 * ```
 */
export class DenoConn implements RawConn {
  /** What the handshake settled, on a TLS connection. */
  readonly tls?: TlsInfo;
  /** `true` on plain TCP: a Deno read cannot be recalled, and would keep `Deno.startTls` from taking the socket. */
  readonly readsWhenAsked?: boolean;
  #conn: Deno.Conn;
  #localAddr: Addr | undefined;
  #remoteAddr: Addr | undefined;
  #events: ConnEvents | undefined;
  #readSize = MIN_READ;
  #buffer: Uint8Array | undefined;
  #scratch: Uint8Array | undefined;
  #unwritten: Uint8Array | undefined;
  #reading = false;
  #paused = false;
  #ended = false;
  // Set once error() was reported or close() called: nothing is reported after.
  #done = false;
  #closed = false;
  // One handler per direction, bound once, for both outcomes: on a busy
  // server a connection's handlers are out of cache by its next read or
  // write, and then() loads each function it is given (an arrow function
  // would also load its closure's context to reach `this`).
  #onRead = this.#settleRead.bind(this);
  #onWrite = this.#settleWrite.bind(this);

  /** Takes over `conn`; `options.noDelay` only for a `Deno.TcpConn`. */
  constructor(conn: Deno.Conn, options: DenoConnOptions = {}) {
    this.#conn = conn;
    if (options.tls !== undefined) this.tls = options.tls;
    if (options.noDelay) {
      this.readsWhenAsked = true;
      try {
        (conn as Deno.TcpConn).setNoDelay(true);
      } catch {
        // Only a socket that is already dead refuses the option; its first read
        // or write reports the real fault.
      }
    }
  }

  // Deno learns both addresses when it accepts or connects, so reading them
  // costs no system call, on a wildcard listener too; copied on first use.
  /** This side's address. */
  get localAddr(): Addr {
    return this.#localAddr ??= plainAddr(this.#conn.localAddr);
  }

  /** The peer's address. */
  get remoteAddr(): Addr {
    return this.#remoteAddr ??= plainAddr(this.#conn.remoteAddr);
  }

  /**
   * Hands the socket over for `Deno.startTls`: this connection then reports
   * nothing more and closing it does nothing. Deno takes a socket only when
   * no read or write of its is in flight, and would otherwise drop it; so
   * then, as once closed, this throws and the connection stays as it was.
   * `address` names the peer in the error.
   */
  detach(address: string): Deno.TcpConn {
    if (this.#closed || this.#done) {
      throw new SocketError("ECLOSED", `Cannot start TLS with ${address}: socket is closed`);
    }
    if (this.#reading || this.#unwritten !== undefined) {
      throw new SocketError(
        "EPROTO",
        `Cannot start TLS with ${address}: a plaintext read or write is still in flight`,
      );
    }
    this.#closed = true;
    this.#done = true;
    return this.#conn as Deno.TcpConn;
  }

  /** Starts reporting to `events`. */
  start(events: ConnEvents): void {
    this.#events = events;
    this.#readLoop();
  }

  /** Starts no read after the one in flight. */
  pause(): void {
    this.#paused = true;
  }

  /** Reads again. */
  resume(): void {
    this.#paused = false;
    if (!this.#reading && this.#events !== undefined) this.#readLoop();
  }

  // Bytes wait in the kernel until the first read, so none arrive before
  // start(); while paused, the kernel's window fills and the peer stalls.
  // One read at a time, each started by the last: an idle connection holds
  // one pending read and its buffer, no suspended async function.
  #readLoop(): void {
    if (this.#paused || this.#ended || this.#done) return;
    // One buffer per connection, lent to data() for each read (the contract
    // lets the receiver copy what it keeps): a fresh one per read cost Deno a
    // malloc and a free on its sweeper thread per request.
    if (this.#buffer === undefined || this.#buffer.byteLength !== this.#readSize) {
      this.#buffer = new Uint8Array(this.#readSize);
    }
    this.#reading = true;
    this.#conn.read(this.#buffer).then(this.#onRead, this.#onRead);
  }

  // Deno resolves a read with a count or null, and never rejects with either.
  #settleRead(result: unknown): void {
    if (typeof result === "number" || result === null) this.#read(result);
    else this.#readFailed(result);
  }

  #read(n: number | null): void {
    this.#reading = false;
    if (this.#done) return;
    if (n === null) {
      this.#ended = true;
      this.#events!.end();
      return;
    }
    const buffer = this.#buffer!;
    // A full buffer means more is likely waiting in the kernel: the next
    // read gets twice the room. One much shorter than its buffer halves it,
    // so that an idle connection waits on a small one, but a peer's usual
    // batch still fits in one read.
    if (n === buffer.byteLength) this.#readSize = Math.min(this.#readSize * 2, MAX_READ);
    else if (n * 4 < buffer.byteLength) this.#readSize = Math.max(this.#readSize / 2, MIN_READ);
    this.#events!.data(buffer.subarray(0, n));
    if (!this.#reading) this.#readLoop();
  }

  #readFailed(err: unknown): void {
    this.#reading = false;
    // rustls calls a FIN without TLS's close_notify an error; Node and Bun,
    // and most peers that close so, treat it as the end of the stream.
    if (this.tls !== undefined && err instanceof Deno.errors.UnexpectedEof) this.#read(null);
    else this.#fail(err);
  }

  // Deno's writes are promises: the kernel's taking the bytes is never known
  // at once, so write() always answers false and drain() follows.
  /** Writes all of `data`; answers `false`, and `drain()` follows. */
  write(data: Uint8Array | string): boolean {
    this.#writeRest(typeof data === "string" ? this.#encode(data) : data);
    return false;
  }

  // Short text goes through one buffer per connection, free again once
  // drain() has been called, before which no write comes: a fresh one per
  // reply cost a malloc and a free on V8's sweeper thread per request.
  // It grows with the replies, from 64 bytes, so that an idle connection
  // keeps no more than its longest reply needed.
  #encode(text: string): Uint8Array {
    const most = text.length * 3;
    if (most > SCRATCH_BYTES) return encoder.encode(text);
    if (this.#scratch === undefined || this.#scratch.byteLength < most) {
      this.#scratch = new Uint8Array(Math.max(64, 2 ** Math.ceil(Math.log2(most))));
    }
    const scratch = this.#scratch;
    if (text.length <= SHORT_TEXT) {
      let i = 0;
      for (; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c >= 0x80) break;
        scratch[i] = c;
      }
      if (i === text.length) return scratch.subarray(0, i);
    }
    return scratch.subarray(0, encoder.encodeInto(text, scratch).written);
  }

  // One write of Deno's at a time, until every byte is taken.
  #writeRest(data: Uint8Array): void {
    this.#unwritten = data;
    this.#conn.write(data).then(this.#onWrite, this.#onWrite);
  }

  // Deno resolves a write with a count, and never rejects with one.
  #settleWrite(result: unknown): void {
    if (typeof result === "number") this.#written(result);
    else this.#writeFailed(result);
  }

  #written(n: number): void {
    const data = this.#unwritten!;
    this.#unwritten = undefined;
    if (this.#done) return;
    if (n < data.byteLength) this.#writeRest(data.subarray(n));
    else this.#events!.drain();
  }

  #writeFailed(err: unknown): void {
    this.#unwritten = undefined;
    this.#fail(err);
  }

  /** Sends FIN (after TLS's close_notify, on TLS). */
  closeWrite(): void {
    this.#conn.closeWrite().catch((err) => this.#fail(err));
  }

  #fail(err: unknown): void {
    // Closing interrupts pending reads and writes: that is no fault to report.
    if (this.#done) return;
    this.#done = true;
    this.#events!.error(err);
  }

  /** Closes the socket. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#done = true;
    try {
      this.#conn.close();
    } catch {
      // Already released by Deno: there is nothing left to close.
    }
  }
}
