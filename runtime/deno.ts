/**
 * The Deno adapter: `Deno.listen` and `Deno.connect` behind the runtime
 * contract. Reads and writes go through `conn.read()` and `conn.write()`,
 * never `conn.readable`, whose end of stream closes the whole connection and
 * so would break half-close.
 *
 * @module
 */

import { formatAddress, SocketError, socketError } from "../socket_error.ts";
import type {
  NetAddr,
  Runtime,
  RuntimeAddrOptions,
  RuntimeConn,
  RuntimeConnectOptions,
  RuntimeListener,
} from "./types.ts";

// A pending read pins its buffer until data arrives, so an idle connection
// should wait on a small one; bulk transfers grow it to cut the op count.
const MIN_READ = 4 * 1024;
const MAX_READ = 64 * 1024;

function closedError(action: string, address: string): SocketError {
  return new SocketError("ECLOSED", `Cannot ${action} ${address}: socket is closed`);
}

function resetError(action: string, address: string): SocketError {
  return new SocketError("ECONNRESET", `Cannot ${action} ${address}: connection reset by peer`);
}

function abortedError(address: string): SocketError {
  return new SocketError("EABORTED", `Cannot connect to ${address}: aborted`);
}

// Deno hands out null-prototype objects; callers get plain ones.
function netAddr(addr: Deno.NetAddr): NetAddr {
  return { transport: "tcp", hostname: addr.hostname, port: addr.port };
}

class DenoConn implements RuntimeConn {
  readonly localAddr: NetAddr;
  readonly remoteAddr: NetAddr;
  #conn: Deno.TcpConn;
  #remote: string;
  #readSize = MIN_READ;
  #reading = false;
  #eof = false;
  #closed = false;
  // The kernel reports a reset once, to whichever call comes first; later
  // reads then see end of stream and writes EPIPE. Remembering it lets both
  // directions report the reset, as the contract asks.
  #reset = false;
  #readError: SocketError | null = null;
  #writeError: SocketError | null = null;
  #writes: Promise<void> = Promise.resolve();
  #shutdown: Promise<void> | null = null;

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    try {
      conn.setNoDelay(true);
    } catch {
      // Only a socket that is already dead refuses the option, and then the
      // first read or write reports the real fault.
    }
    this.localAddr = netAddr(conn.localAddr);
    this.remoteAddr = netAddr(conn.remoteAddr);
    this.#remote = formatAddress(this.remoteAddr);
  }

  read(): Promise<Uint8Array | null> {
    if (this.#closed) return Promise.reject(closedError("read from", this.#remote));
    // A failed read stays failed: the kernel would answer a retry with end
    // of stream, and a reset must not pass for a clean end.
    if (this.#readError !== null) return Promise.reject(this.#readError);
    if (this.#reset) return Promise.reject(resetError("read from", this.#remote));
    if (this.#eof) return Promise.resolve(null);
    if (this.#reading) {
      return Promise.reject(new SocketError("EINVAL", `Cannot read from ${this.#remote}: a read is already pending`));
    }
    this.#reading = true;
    return this.#read().finally(() => {
      this.#reading = false;
    });
  }

  async #read(): Promise<Uint8Array | null> {
    // A fresh buffer each time: the caller owns what a read returns.
    const buf = new Uint8Array(this.#readSize);
    let n: number | null;
    try {
      n = await this.#conn.read(buf);
    } catch (err) {
      // Closing interrupts the pending read (Interrupted, or BadResource).
      if (this.#closed) throw closedError("read from", this.#remote);
      this.#readError = socketError(err, { action: "read from", address: this.#remote });
      if (this.#readError.code === "ECONNRESET") this.#reset = true;
      throw this.#readError;
    }
    if (this.#closed) throw closedError("read from", this.#remote);
    if (n === null || n === 0) {
      if (this.#reset) throw resetError("read from", this.#remote);
      this.#eof = true;
      return null;
    }
    if (n === buf.byteLength) {
      // A full buffer means more is likely waiting in the kernel.
      this.#readSize = Math.min(this.#readSize * 2, MAX_READ);
      return buf;
    }
    // A short read drained the kernel, so the next read may wait a long
    // time: let it wait on the smallest buffer.
    this.#readSize = MIN_READ;
    // Copy a few bytes out of a big buffer rather than let the caller pin it.
    return n * 2 < buf.byteLength && buf.byteLength > MIN_READ ? buf.slice(0, n) : buf.subarray(0, n);
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(closedError("write to", this.#remote));
    if (data.byteLength === 0) return Promise.resolve();
    const done = this.#writes.then(() => this.#writeAll(data));
    // The chain only orders writes; each caller sees its own failure.
    this.#writes = done.catch(() => {});
    return done;
  }

  async #writeAll(data: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < data.byteLength) {
      if (this.#closed) throw closedError("write to", this.#remote);
      // A failed write may have sent part of its bytes: later ones would land
      // after a gap in the stream, so they fail with the same error.
      if (this.#writeError !== null) throw this.#writeError;
      try {
        offset += await this.#conn.write(offset === 0 ? data : data.subarray(offset));
      } catch (err) {
        if (this.#closed) throw closedError("write to", this.#remote);
        this.#writeError = socketError(err, { action: "write to", address: this.#remote });
        if (this.#writeError.code === "ECONNRESET") this.#reset = true;
        else if (this.#reset && this.#writeError.code === "EPIPE") {
          this.#writeError = resetError("write to", this.#remote);
        }
        throw this.#writeError;
      }
    }
  }

  closeWrite(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError("close", this.#remote));
    if (this.#shutdown !== null) return this.#shutdown;
    // FIN goes after every write already called; a failed write does not
    // stop it, since the peer still needs to hear that nothing more comes.
    this.#shutdown = this.#writes.then(async () => {
      if (this.#closed) throw closedError("close", this.#remote);
      try {
        await this.#conn.closeWrite();
      } catch (err) {
        if (this.#closed) throw closedError("close", this.#remote);
        throw socketError(err, { action: "close", address: this.#remote });
      }
    });
    // A write called later waits for the FIN, so it fails the same way
    // every time instead of racing it.
    this.#writes = this.#shutdown.catch(() => {});
    return this.#shutdown;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already released by Deno: there is nothing left to close.
    }
  }
}

class DenoListener implements RuntimeListener {
  readonly addr: NetAddr;
  #listener: Deno.TcpListener;
  #address: string;
  #closed = false;
  #accepts: Promise<unknown> = Promise.resolve();

  constructor(listener: Deno.TcpListener) {
    this.#listener = listener;
    this.addr = netAddr(listener.addr);
    this.#address = formatAddress(this.addr);
  }

  accept(): Promise<RuntimeConn | null> {
    // Deno rejects a second concurrent accept (Busy), so they take turns.
    const next = this.#accepts.then(() => this.#accept());
    this.#accepts = next.catch(() => {});
    return next;
  }

  async #accept(): Promise<RuntimeConn | null> {
    if (this.#closed) return null;
    let conn: Deno.TcpConn;
    try {
      conn = await this.#listener.accept();
    } catch (err) {
      // Closing rejects a pending accept (BadResource, or Interrupted).
      if (this.#closed) return null;
      throw socketError(err, { action: "accept on", address: this.#address });
    }
    if (this.#closed) {
      conn.close();
      return null;
    }
    return new DenoConn(conn);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // Already released by Deno: there is nothing left to close.
    }
  }
}

function listen(options: RuntimeAddrOptions): Promise<RuntimeListener> {
  const address = formatAddress(options);
  try {
    const listener = Deno.listen({ hostname: options.hostname, port: options.port, transport: "tcp" });
    return Promise.resolve(new DenoListener(listener));
  } catch (err) {
    return Promise.reject(socketError(err, { action: "listen on", address }));
  }
}

function connect(options: RuntimeConnectOptions): Promise<RuntimeConn> {
  const address = formatAddress(options);
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(abortedError(address));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortedError(address));
    signal?.addEventListener("abort", onAbort, { once: true });
    // Deno drops the half-open socket itself when the signal fires.
    Deno.connect({ hostname: options.hostname, port: options.port, transport: "tcp", signal }).then(
      (conn) => {
        signal?.removeEventListener("abort", onAbort);
        // Connected in the same turn as the abort: nobody will take it.
        if (signal?.aborted) conn.close();
        else resolve(new DenoConn(conn));
      },
      (err) => {
        signal?.removeEventListener("abort", onAbort);
        // After an abort Deno rejects with the signal's reason: already handled.
        if (!signal?.aborted) reject(socketError(err, { action: "connect to", address }));
      },
    );
  });
}

/**
 * Sockets on Deno through `Deno.listen` and `Deno.connect`.
 *
 * @example Listening through the Deno adapter
 * ```ts ignore
 * import { denoRuntime } from "./deno.ts";
 *
 * const listener = await denoRuntime.listen({ hostname: "127.0.0.1", port: 0 });
 * listener.close();
 * ```
 */
export const denoRuntime: Runtime = { name: "deno", listen, connect };
