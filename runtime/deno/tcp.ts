/**
 * TCP on Deno: `Deno.listen` and `Deno.connect` behind the runtime contract.
 * Deno pulls: the adapter runs the read loop and the accept loop. Reads and
 * writes go through `conn.read()` and `conn.write()`, never `conn.readable`,
 * whose end of stream closes the whole connection and so would break
 * half-close.
 *
 * @module
 */

import type { AddrOptions, ConnEvents, ListenerEvents, NetAddr, RawConn, RawListener } from "../contract.ts";

// A pending read pins its buffer until data arrives, so an idle connection
// waits on a small one; full reads grow it to cut the number of reads.
const MIN_READ = 128;
const MAX_READ = 64 * 1024;
// The longest text encoded into a connection's own buffer, in bytes.
const SCRATCH_BYTES = 1024;

const encoder = new TextEncoder();

// Deno hands out null-prototype objects; callers get plain ones.
function netAddr(addr: Deno.NetAddr): NetAddr {
  return { transport: "tcp", hostname: addr.hostname, port: addr.port };
}

class DenoConn implements RawConn {
  #conn: Deno.TcpConn;
  #localAddr: NetAddr | undefined;
  #remoteAddr: NetAddr | undefined;
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

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    try {
      conn.setNoDelay(true);
    } catch {
      // Only a socket that is already dead refuses the option; its first read
      // or write reports the real fault.
    }
  }

  // Deno learns both addresses when it accepts or connects, so reading them
  // costs no system call, on a wildcard listener too; copied on first use.
  get localAddr(): NetAddr {
    return this.#localAddr ??= netAddr(this.#conn.localAddr);
  }

  get remoteAddr(): NetAddr {
    return this.#remoteAddr ??= netAddr(this.#conn.remoteAddr);
  }

  start(events: ConnEvents): void {
    this.#events = events;
    this.#readLoop();
  }

  pause(): void {
    this.#paused = true;
  }

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
    this.#conn.read(this.#buffer).then(this.#read, this.#readFailed);
  }

  #read = (n: number | null): void => {
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
  };

  #readFailed = (err: unknown): void => {
    this.#reading = false;
    this.#fail(err);
  };

  // Deno's writes are promises: the kernel's taking the bytes is never known
  // at once, so write() always answers false and drain() follows.
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
    return this.#scratch.subarray(0, encoder.encodeInto(text, this.#scratch).written);
  }

  // One write of Deno's at a time, until every byte is taken.
  #writeRest(data: Uint8Array): void {
    this.#unwritten = data;
    this.#conn.write(data).then(this.#written, this.#writeFailed);
  }

  #written = (n: number): void => {
    const data = this.#unwritten!;
    this.#unwritten = undefined;
    if (this.#done) return;
    if (n < data.byteLength) this.#writeRest(data.subarray(n));
    else this.#events!.drain();
  };

  #writeFailed = (err: unknown): void => {
    this.#unwritten = undefined;
    this.#fail(err);
  };

  closeWrite(): void {
    this.#conn.closeWrite().catch((err) => this.#fail(err));
  }

  #fail(err: unknown): void {
    // Closing interrupts pending reads and writes: that is no fault to report.
    if (this.#done) return;
    this.#done = true;
    this.#events!.error(err);
  }

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

// Connections that failed between the kernel's accept and Deno's: the
// peer's doing, never the listener's.
function connectionGone(err: unknown): boolean {
  return err instanceof Deno.errors.NotConnected || err instanceof Deno.errors.ConnectionAborted ||
    err instanceof Deno.errors.ConnectionReset;
}

class DenoListener implements RawListener {
  readonly addr: NetAddr;
  #listener: Deno.TcpListener;
  #events: ListenerEvents | undefined;
  #wanted = false;
  #closed = false;
  #looping = false;
  // The last accept loop: Deno releases the socket only once the accept in
  // flight has given up, which ends it.
  #accepting: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(listener: Deno.TcpListener) {
    this.#listener = listener;
    this.addr = netAddr(listener.addr);
  }

  start(events: ListenerEvents): void {
    this.#events = events;
    if (this.#wanted) this.resume();
  }

  resume(): void {
    this.#wanted = true;
    if (this.#events !== undefined && !this.#looping) this.#accepting = this.#acceptLoop(this.#events);
  }

  pause(): void {
    this.#wanted = false;
  }

  // Accepts only while connections are wanted, so that a listener nobody
  // accepts from leaves them to the kernel's backlog. After a failure the
  // next accept would likely fail at once (out of descriptors), so it waits,
  // doubling from 5 ms to a second while failures repeat, as Go's net/http does.
  async #acceptLoop(events: ListenerEvents): Promise<void> {
    // Cleared in the same turn the loop stops: a resume() from a microtask
    // that runs before the loop's promise settles must start a new one.
    this.#looping = true;
    try {
      let delay = 0;
      while (this.#wanted && !this.#closed) {
        let conn: Deno.TcpConn;
        try {
          conn = await this.#listener.accept();
        } catch (err) {
          // Closing rejects the pending accept (BadResource, or Interrupted).
          if (this.#closed) return;
          if (connectionGone(err)) continue;
          events.error(err);
          delay = Math.min(Math.max(delay * 2, 5), 1000);
          await this.#backoff(delay);
          continue;
        }
        delay = 0;
        if (this.#closed) {
          conn.close();
          return;
        }
        events.conn(new DenoConn(conn));
      }
    } finally {
      this.#looping = false;
    }
  }

  #backoff(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#wake?.();
      try {
        this.#listener.close();
      } catch {
        // Already released by Deno: there is nothing left to close.
      }
    }
    return this.#accepting ?? Promise.resolve();
  }
}

/**
 * Binds and listens on a TCP address; rejects with Deno's error.
 *
 * @example Listening on a free port
 * ```ts ignore
 * import { listen } from "./tcp.ts";
 *
 * const listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * if (listener.addr.port === 0) throw new Error("unexpected");
 * await listener.close();
 * ```
 */
export function listen(options: AddrOptions): Promise<RawListener> {
  try {
    const listener = Deno.listen({ hostname: options.hostname, port: options.port, transport: "tcp" });
    return Promise.resolve(new DenoListener(listener));
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Connects to a TCP address; rejects with Deno's error. `options.signal`
 * gives the attempt up, and Deno then drops the half-open socket itself.
 *
 * @example Connecting to a listener
 * ```ts ignore
 * import { connect, listen } from "./tcp.ts";
 *
 * const listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * const conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * conn.close();
 * await listener.close();
 * ```
 */
export async function connect(options: AddrOptions): Promise<RawConn> {
  const { signal } = options;
  signal?.throwIfAborted();
  const conn = await Deno.connect({ hostname: options.hostname, port: options.port, transport: "tcp", signal });
  if (signal?.aborted) {
    // Connected in the same turn as the abort: nobody will take it.
    conn.close();
    throw signal.reason;
  }
  return new DenoConn(conn);
}
