/**
 * The Deno adapter: `Deno.listen` and `Deno.connect` behind the runtime
 * contract. Reads and writes go through `conn.read()` and `conn.write()`,
 * never `conn.readable`, whose end of stream closes the whole connection and
 * so would break half-close.
 *
 * UDP uses `Deno.listenDatagram` when it exists, which is only with
 * `--unstable-net`; otherwise Deno's `node:dgram` through the Node adapter,
 * so that `--allow-net` alone is enough.
 *
 * @module
 */

import { formatAddress, SocketError, socketError } from "../socket_error.ts";
import { nameLookup } from "./_lookup.ts";
import { Pump, type PumpSocket } from "./_pump.ts";
import { encodeUtf8 } from "./_utf8.ts";
import type {
  NetAddr,
  PumpEnd,
  PumpHandler,
  Runtime,
  RuntimeAddrOptions,
  RuntimeConn,
  RuntimeConnectOptions,
  RuntimeDatagram,
  RuntimeDatagramSocket,
  RuntimeListener,
} from "./types.ts";

// A pending read pins its buffer until data arrives, so an idle connection
// should wait on a small one; bulk transfers grow it to cut the op count.
// Small also because Deno's typed arrays all live outside the V8 heap: a
// fresh 512-byte buffer costs about a third of a fresh 4 KiB one.
const MIN_READ = 512;
const MAX_READ = 64 * 1024;

// Shared by every connection that has not written yet.
const RESOLVED: Promise<void> = Promise.resolve();

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

class DenoConn implements RuntimeConn, PumpSocket {
  #conn: Deno.TcpConn;
  // Copied from Deno's on first use: an idle connection never asks, and
  // Deno keeps its own after a close or a reset.
  #localAddr: NetAddr | undefined = undefined;
  #remoteAddr: NetAddr | undefined = undefined;
  #readSize = MIN_READ;
  // The buffer the pending read fills; set exactly while one is pending.
  #readBuffer: Uint8Array | undefined = undefined;
  // The pump's read buffer, reused from read to read: a pump handler only
  // borrows its chunk (see PumpHandler.onData), where read() gives a fresh
  // buffer away each time, and on Deno a fresh one costs about 250 ns.
  #lent: Uint8Array | undefined = undefined;
  #eof = false;
  #closed = false;
  // The kernel reports a reset once, to whichever call comes first; later
  // reads then see end of stream and writes EPIPE. Remembering it lets both
  // directions report the reset, as the contract asks.
  #reset = false;
  #readError: SocketError | null = null;
  #writeError: SocketError | null = null;
  // The last write or FIN queued, and how many have not settled: a write
  // with none before it starts at once, without a link in the chain.
  #writes: Promise<unknown> = RESOLVED;
  #repliedBytes = 0;
  #unsettledWrites = 0;
  #shutdown: Promise<void> | null = null;
  #pump: Pump | undefined = undefined;
  // The read a pump started, until it settles or read() takes it over (the
  // pump stopped while it was in flight); and a chunk it brought too late
  // for the pump, which read() returns first.
  #pumpRead: Promise<number | null> | undefined = undefined;
  #held: Uint8Array | undefined = undefined;
  // The reply a pump's write is sending.
  #pumpReply: Uint8Array | undefined = undefined;
  // #pumpSettle, bound on a pump's first read or write: what an idle
  // connection keeps for the runtime's promises, so one function, not a
  // closure per outcome and per direction with the context they share. A
  // client never pumps.
  #pumpSettled: ((result: unknown) => void) | undefined = undefined;
  #settledWrite: (() => void) | undefined = undefined;

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    try {
      conn.setNoDelay(true);
    } catch {
      // Only a socket that is already dead refuses the option, and then the
      // first read or write reports the real fault.
    }
  }

  get localAddr(): NetAddr {
    return this.#localAddr ??= netAddr(this.#conn.localAddr);
  }

  get remoteAddr(): NetAddr {
    return this.#remoteAddr ??= netAddr(this.#conn.remoteAddr);
  }

  get repliedBytes(): number {
    return this.#repliedBytes;
  }

  // Error messages name the peer; formatted only when one is made.
  get #remote(): string {
    return formatAddress(this.remoteAddr);
  }

  read(): Promise<Uint8Array | null> {
    if (this.#closed) return Promise.reject(closedError("read from", this.#remote));
    const held = this.nextQueued();
    if (held !== undefined) return Promise.resolve(held);
    if (Pump.running(this.#pump)) {
      return Promise.reject(new SocketError("EINVAL", `Cannot read from ${this.#remote}: a pump is running`));
    }
    const pending = this.#pumpRead;
    if (pending !== undefined) {
      // The caller will own what this read brings: the pump needs another buffer.
      this.#pumpRead = undefined;
      this.#lent = undefined;
      return this.#settle(pending);
    }
    const known = this.#knownRead();
    if (known === null) return Promise.resolve(null);
    if (known !== undefined) return Promise.reject(known);
    if (this.#readBuffer !== undefined) {
      return Promise.reject(new SocketError("EINVAL", `Cannot read from ${this.#remote}: a read is already pending`));
    }
    return this.#settle(this.#startRead(false));
  }

  // What a read would give without reading: its error, end of stream
  // (`null`), or `undefined` when it must read. A failed read stays failed:
  // the kernel would answer a retry with end of stream, and a reset must not
  // pass for a clean end.
  #knownRead(): SocketError | null | undefined {
    if (this.#readError !== null) return this.#readError;
    if (this.#reset) return resetError("read from", this.#remote);
    if (this.#eof) return null;
    return undefined;
  }

  // A fresh buffer for `read()`, whose caller owns what it returns; the
  // pump's own one, when it is the right size, for the pump.
  #startRead(lend: boolean): Promise<number | null> {
    let buffer = lend ? this.#lent : undefined;
    if (buffer === undefined || buffer.byteLength !== this.#readSize) {
      buffer = new Uint8Array(this.#readSize);
      if (lend) this.#lent = buffer;
    }
    this.#readBuffer = buffer;
    return this.#conn.read(buffer);
  }

  // Settles a read.
  #readDone(n: number | null): Uint8Array | null {
    const buf = this.#readBuffer!;
    this.#readBuffer = undefined;
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
    // Copy a few bytes out of a big buffer rather than let the caller pin it
    // (a lent one is not kept).
    return n * 2 < buf.byteLength && buf.byteLength > MIN_READ && buf !== this.#lent
      ? buf.slice(0, n)
      : buf.subarray(0, n);
  }

  #readFailed(err: unknown): never {
    this.#readBuffer = undefined;
    // Closing interrupts the pending read (Interrupted, or BadResource).
    if (this.#closed) throw closedError("read from", this.#remote);
    this.#readError = socketError(err, { action: "read from", address: this.#remote });
    if (this.#readError.code === "ECONNRESET") this.#reset = true;
    throw this.#readError;
  }

  // #readSettle, bound on the first read() (a pump has its own): one
  // function per connection for both outcomes, as for the pump.
  #readSettled: ((result: unknown) => Uint8Array | null) | undefined = undefined;

  #settle(pending: Promise<number | null>): Promise<Uint8Array | null> {
    this.#readSettled ??= this.#readSettle.bind(this);
    return pending.then(this.#readSettled, this.#readSettled);
  }

  // Either outcome of a read: a count or null, or Deno's error.
  #readSettle(result: unknown): Uint8Array | null {
    if (result !== null && typeof result !== "number") this.#readFailed(result);
    return this.#readDone(result as number | null);
  }

  /** For the pump and `read()`: a chunk that came after its pump stopped. */
  nextQueued(): Uint8Array | undefined {
    const chunk = this.#held;
    this.#held = undefined;
    return chunk;
  }

  /** For the pump. */
  get ended(): boolean {
    return this.#eof;
  }

  /** For the pump: Deno pushes nothing, so the pump's reads start here. */
  // The runtime's promise with the pump's handlers on it directly: one
  // reaction per read, where read() would add a second.
  idle(): void {
    if (this.#pumpRead !== undefined) return;
    const known = this.#knownRead();
    if (known === null) this.#pump?.ended();
    else if (known !== undefined) this.#pump?.fail(known);
    if (known !== undefined) return;
    const pending = this.#startRead(true);
    this.#pumpRead = pending;
    this.#pumpSettled ??= this.#pumpSettle.bind(this);
    pending.then(this.#pumpSettled, this.#pumpSettled);
  }

  // Either outcome of a pump's read or write: reads resolve with a count or
  // null, writes with a count, and Deno rejects with errors. A pump never
  // has both in flight, so #pumpReply, set while it writes, tells which.
  #pumpSettle(result: unknown): void {
    const failed = result !== null && typeof result !== "number";
    if (this.#pumpReply === undefined) {
      if (failed) this.#pumpReadFailed(result);
      else this.#pumpReadDone(result as number | null);
    } else if (failed) {
      this.#pumpWriteFailed(result);
    } else {
      this.#pumpWriteDone(result as number);
    }
  }

  #pumpReadDone(n: number | null): void {
    // read() took this one over: its caller has the chunk.
    if (this.#pumpRead === undefined) return;
    this.#pumpRead = undefined;
    let chunk: Uint8Array | null;
    try {
      chunk = this.#readDone(n);
    } catch (err) {
      this.#pump?.fail(err);
      return;
    }
    if (chunk === null) this.#pump?.ended();
    // Held for read(), whose caller owns it: not the lent buffer itself.
    else if (!this.#pump?.offer(chunk)) this.#held = chunk.slice();
  }

  #pumpReadFailed(err: unknown): void {
    if (this.#pumpRead === undefined) return;
    this.#pumpRead = undefined;
    try {
      this.#readFailed(err);
    } catch (failure) {
      // The error stays in #readError for the next read() too.
      this.#pump?.fail(failure);
    }
  }

  /**
   * For the pump: Deno's writes are promises, so the pump always waits. Deno
   * writes only bytes: text is encoded here.
   */
  sendReply(reply: string | Uint8Array): boolean {
    const bytes = typeof reply === "string" ? encodeUtf8(reply) : reply;
    const refused = this.#shutdown !== null || this.#writeError !== null || this.#closed;
    // Counted when taken or queued, as Node and Bun count: not when write()
    // is about to refuse it.
    if (!refused) this.#repliedBytes += bytes.byteLength;
    if (this.#unsettledWrites > 0 || refused) {
      this.#writeForPump(bytes);
      return false;
    }
    // The runtime's promise, not #writeAll's chain: the usual write takes
    // every byte at once. Counted as unsettled so writes and FIN queue behind.
    this.#pumpReply = bytes;
    const pending = this.#conn.write(bytes);
    this.#unsettledWrites++;
    this.#writes = pending;
    this.#pumpSettled ??= this.#pumpSettle.bind(this);
    pending.then(this.#pumpSettled, this.#pumpSettled);
    return false;
  }

  // A pump's reply through write(), behind other writes or for the rest of a
  // partial write: rare, so its handlers are made only then.
  #writeForPump(bytes: Uint8Array): void {
    const pump = this.#pump!;
    this.write(bytes).then(pump.onWritten, pump.onFailed);
  }

  #pumpWriteDone(n: number): void {
    this.#writeSettled();
    const bytes = this.#pumpReply!;
    this.#pumpReply = undefined;
    if (n >= bytes.byteLength) this.#pump?.written();
    else this.#writeForPump(bytes.subarray(n));
  }

  #pumpWriteFailed(err: unknown): void {
    this.#writeSettled();
    this.#pumpReply = undefined;
    this.#pump?.fail(this.#writeFailure(err));
  }

  pumpTo(handler: PumpHandler, end: PumpEnd): void {
    Pump.run(this, handler, {
      closed: this.#closed,
      // A stopped pump's last reply still being written counts too: the new
      // pump's read and that write would share #pumpSettle.
      busy: Pump.running(this.#pump) || this.#pumpReply !== undefined ||
        (this.#readBuffer !== undefined && this.#pumpRead === undefined),
      error: this.#readError,
    }, end);
  }

  /** For the pump: see `PumpSocket.adopt`. */
  adopt(pump: Pump): void {
    this.#pump = pump;
  }

  stopPump(): void {
    this.#pump?.stop();
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(closedError("write to", this.#remote));
    // The same refusal, in the same words, as the Node and Bun adapters.
    if (this.#shutdown !== null) {
      return Promise.reject(new SocketError("EPIPE", `Cannot write to ${this.#remote}: write side is closed`));
    }
    if (data.byteLength === 0) return Promise.resolve();
    let done: Promise<void>;
    if (this.#unsettledWrites === 0 && this.#shutdown === null) {
      done = this.#writeAll(data);
    } else {
      // After the writes before it, whatever became of them: each caller
      // sees its own failure only.
      const write = () => this.#writeAll(data);
      done = this.#writes.then(write, write);
    }
    this.#track(done);
    return done;
  }

  // Makes `done` the last link of the chain, counted until it settles.
  #track(done: Promise<void>): void {
    this.#unsettledWrites++;
    this.#writes = done;
    this.#settledWrite ??= () => this.#writeSettled();
    done.then(this.#settledWrite, this.#settledWrite);
  }

  #writeSettled(): void {
    // The last write settled: its promise need not be kept for the next to
    // follow, and an idle connection would keep it.
    if (--this.#unsettledWrites === 0) this.#writes = RESOLVED;
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
        throw this.#writeFailure(err);
      }
    }
  }

  // What a failed runtime write means, remembered for later writes.
  #writeFailure(err: unknown): SocketError {
    if (this.#closed) return closedError("write to", this.#remote);
    this.#writeError = socketError(err, { action: "write to", address: this.#remote });
    if (this.#writeError.code === "ECONNRESET") this.#reset = true;
    else if (this.#reset && this.#writeError.code === "EPIPE") {
      this.#writeError = resetError("write to", this.#remote);
    }
    return this.#writeError;
  }

  closeWrite(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError("close", this.#remote));
    if (this.#shutdown !== null) return this.#shutdown;
    // FIN goes after every write already called; a failed write does not
    // stop it, since the peer still needs to hear that nothing more comes.
    const fin = async () => {
      if (this.#closed) throw closedError("close", this.#remote);
      try {
        await this.#conn.closeWrite();
      } catch (err) {
        if (this.#closed) throw closedError("close", this.#remote);
        throw socketError(err, { action: "close", address: this.#remote });
      }
    };
    this.#shutdown = this.#writes.then(fin, fin);
    // A write called later waits for the FIN, so it fails the same way
    // every time instead of racing it.
    this.#track(this.#shutdown);
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
    // A finished pump (the usual case) needs no error, which costs a stack trace.
    if (Pump.running(this.#pump)) this.#pump!.fail(closedError("read from", this.#remote));
  }
}

function connectionGone(err: unknown): boolean {
  return err instanceof Deno.errors.NotConnected || err instanceof Deno.errors.ConnectionAborted ||
    err instanceof Deno.errors.ConnectionReset;
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
    for (;;) {
      if (this.#closed) return null;
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (err) {
        // Closing rejects a pending accept (BadResource, or Interrupted).
        if (this.#closed) return null;
        // A connection its peer reset before it was accepted (a port scan,
        // a health check) is that connection's failure, not the listener's.
        if (connectionGone(err)) continue;
        throw socketError(err, { action: "accept on", address: this.#address });
      }
      if (this.#closed) {
        conn.close();
        return null;
      }
      return new DenoConn(conn);
    }
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

// The slice of Deno's unstable UDP API this adapter uses. It is typed only
// under `--unstable-net`, and this file must type-check without it.

/** A bound UDP socket from `Deno.listenDatagram`. */
interface DenoDatagramConn {
  readonly addr: Deno.Addr;
  /**
   * Receives one datagram into `buffer`; a datagram larger than the buffer
   * is silently cut to fit.
   */
  receive(buffer?: Uint8Array): Promise<[Uint8Array, Deno.Addr]>;
  /** Sends the whole datagram or rejects (EMSGSIZE): never a part of it. */
  send(data: Uint8Array, addr: Deno.NetAddr): Promise<number>;
  close(): void;
}

interface DenoListenDatagramOptions {
  hostname: string;
  port: number;
  transport: "udp";
}

type ListenDatagram = (options: DenoListenDatagramOptions) => DenoDatagramConn;

function listenDatagram(): ListenDatagram | undefined {
  const fn = (Deno as unknown as { listenDatagram?: ListenDatagram }).listenDatagram;
  return typeof fn === "function" ? fn : undefined;
}

// Large enough for any UDP payload (65,527 bytes over IPv6): a smaller
// buffer would truncate without a word.
const DATAGRAM_BUFFER = 64 * 1024;

function udpAddr(addr: Deno.Addr): NetAddr {
  const { hostname, port } = addr as Deno.NetAddr;
  return { transport: "udp", hostname, port };
}

class DenoDatagramSocket implements RuntimeDatagramSocket {
  readonly addr: NetAddr;
  #conn: DenoDatagramConn;
  #address: string;
  #receiving = false;
  #closed = false;
  #buffer: Uint8Array | undefined;

  constructor(conn: DenoDatagramConn) {
    this.#conn = conn;
    this.addr = udpAddr(conn.addr);
    this.#address = formatAddress(this.addr);
  }

  // Deno reads from the kernel only when asked, so datagrams nobody receives
  // wait in the kernel's bounded buffer: nothing to bound here.
  receive(): Promise<RuntimeDatagram | null> {
    if (this.#closed) return Promise.resolve(null);
    if (this.#receiving) {
      return Promise.reject(
        new SocketError("EINVAL", `Cannot receive on ${this.#address}: a receive is already pending`),
      );
    }
    this.#receiving = true;
    return this.#receive().finally(() => {
      this.#receiving = false;
    });
  }

  async #receive(): Promise<RuntimeDatagram | null> {
    // One buffer per socket, reused: receives take turns, and each datagram
    // is copied out. A fresh 64 KiB per datagram cost more than the receive.
    const buffer = this.#buffer ??= new Uint8Array(DATAGRAM_BUFFER);
    let data: Uint8Array;
    let remote: Deno.Addr;
    for (;;) {
      try {
        [data, remote] = await this.#conn.receive(buffer);
        break;
      } catch (err) {
        // Closing interrupts the pending receive (Interrupted, or BadResource).
        if (this.#closed) return null;
        const error = socketError(err, { action: "receive on", address: this.#address });
        // Where the OS reports an ICMP error for an earlier send on the next
        // receive (Windows does), it is no fault of this socket's.
        if (error.code !== "ECONNRESET" && error.code !== "ECONNREFUSED") throw error;
      }
    }
    if (this.#closed) return null;
    return { data: data.slice(), remote: udpAddr(remote) };
  }

  async send(data: Uint8Array, to: RuntimeAddrOptions): Promise<void> {
    const address = formatAddress(to);
    if (this.#closed) throw closedError("send to", address);
    try {
      await this.#conn.send(data, { transport: "udp", hostname: to.hostname, port: to.port });
    } catch (err) {
      if (this.#closed) throw closedError("send to", address);
      throw socketError(err, { action: "send to", address });
    }
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

// Whether Deno lets this program use the network at `address`, asking the
// user (as a native call would) when `ask` and Deno is set to prompt.
function netAllowed(address: string, ask: boolean): boolean {
  const descriptor = { name: "net", host: address } as const;
  let { state } = Deno.permissions.querySync(descriptor);
  if (state === "prompt" && ask) state = Deno.permissions.requestSync(descriptor).state;
  return state === "granted";
}

// What a user without --allow-net needs to read.
const DENIED = "permission denied (run Deno with --allow-net)";

function permissionError(action: string, address: string, cause?: unknown): SocketError {
  return new SocketError("EACCES", `Cannot ${action} ${address}: ${DENIED}`, { cause });
}

/**
 * The Node adapter's socket over Deno's `node:dgram`, which checks net
 * permissions where a denial escapes: an uncaught exception for bind, an
 * errno-less `UNKNOWN` for send. Both are turned into `EACCES`.
 */
class DenoNodeDatagramSocket implements RuntimeDatagramSocket {
  #inner: RuntimeDatagramSocket;

  constructor(inner: RuntimeDatagramSocket) {
    this.#inner = inner;
  }

  get addr(): NetAddr {
    return this.#inner.addr;
  }

  /** Datagrams the Node adapter dropped because its queue was full. */
  get dropped(): number {
    const { dropped } = this.#inner as { dropped?: unknown };
    return typeof dropped === "number" ? dropped : 0;
  }

  receive(): Promise<RuntimeDatagram | null> {
    return this.#inner.receive();
  }

  async send(data: Uint8Array, to: RuntimeAddrOptions): Promise<void> {
    try {
      await this.#inner.send(data, to);
    } catch (err) {
      const address = formatAddress(to);
      // Checked only on failure: a query per datagram would cost every send.
      if (err instanceof SocketError && err.code === "EUNKNOWN" && !netAllowed(address, false)) {
        throw permissionError("send to", address, err);
      }
      throw err;
    }
  }

  close(): void {
    this.#inner.close();
  }
}

async function bindDatagram(options: RuntimeAddrOptions): Promise<RuntimeDatagramSocket> {
  const listen = listenDatagram();
  if (listen === undefined) {
    const address = formatAddress(options);
    if (!netAllowed(address, true)) throw permissionError("bind", address);
    // Loaded only now: most programs never use UDP, and those that do
    // under --unstable-net never need it.
    const node = await import("./node.ts");
    return new DenoNodeDatagramSocket(await node.bindDatagram(options));
  }
  // Looked up here rather than by listenDatagram, so that a name that does
  // not resolve fails as on the other runtimes (ENOTFOUND, naming it).
  const hostname = await lookup(options.hostname, { action: "bind", port: options.port });
  try {
    return new DenoDatagramSocket(listen({ hostname, port: options.port, transport: "udp" }));
  } catch (err) {
    throw socketError(err, { action: "bind", address: formatAddress(options) });
  }
}

// Deno.resolveDns() asks DNS servers only, so `localhost` and the rest of
// the hosts file would not resolve; Deno's `node:dns` lookup() calls
// getaddrinfo, as Deno.connect() and Deno.listen() do for TCP. Loaded on
// first use: most programs use IP literals.
const lookup: Runtime["lookup"] = nameLookup(async (hostname, family) => {
  const dns = await import("node:dns");
  return (await dns.promises.lookup(hostname, { family })).address;
});

/**
 * Sockets on Deno through `Deno.listen` and `Deno.connect`, and UDP through
 * `Deno.listenDatagram` or, without `--unstable-net`, `node:dgram`.
 *
 * @example Listening through the Deno adapter
 * ```ts ignore
 * import { denoRuntime } from "./deno.ts";
 *
 * const listener = await denoRuntime.listen({ hostname: "127.0.0.1", port: 0 });
 * listener.close();
 * ```
 */
export const denoRuntime: Runtime = { name: "deno", listen, connect, bindDatagram, lookup };
