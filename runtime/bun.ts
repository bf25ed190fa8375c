/**
 * The Bun adapter: `Bun.listen`, `Bun.connect` and `Bun.udpSocket` behind the
 * runtime contract. Bun's own sockets rather than its `node:net` and
 * `node:dgram` emulations, which are layers over these same sockets, except
 * for a connect that may be given up on (a timeout or a signal): that goes
 * through `node:net`, since `Bun.connect()` cannot be cancelled.
 *
 * @module
 */

import { formatAddress, SocketError, socketError } from "../socket_error.ts";
import { AnswerLoop } from "./_answer_loop.ts";
import { DatagramQueue } from "./_datagram_queue.ts";
import { nameLookup } from "./_lookup.ts";
import { Pump, type PumpSocket } from "./_pump.ts";
import { AcceptQueue } from "./_accept_queue.ts";
import { acceptedLocalAddr } from "./_local_addr.ts";
import { ReadAhead } from "./_read_ahead.ts";
import { encodeUtf8, utf8Length } from "./_utf8.ts";
import type {
  DatagramAnswerer,
  NetAddr,
  PumpEnd,
  PumpHandler,
  PumpReply,
  Runtime,
  RuntimeAddrOptions,
  RuntimeConn,
  RuntimeConnectOptions,
  RuntimeDatagram,
  RuntimeDatagramSocket,
  RuntimeListener,
} from "./types.ts";

// The slice of Bun's socket API this adapter uses. Deno type-checks this file
// and has no Bun types, so they are declared here rather than imported.

/** A Bun TCP socket, as passed to the handlers. */
interface BunSocket {
  /** Per-socket state; Bun's handlers are shared by every socket of a listener. */
  data: BunConn | undefined;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /**
   * Writes to the kernel (text as UTF-8); returns the bytes taken (the rest
   * is not kept), or -1 once closed.
   */
  write(data: string | Uint8Array): number;
  /**
   * With no argument, `shutdown(SHUT_WR)`: sends FIN and keeps reading. Older
   * docs say the opposite; `shutdown(true)` shuts the read side on 1.4.
   */
  shutdown(): void;
  /** Closes the socket now, even with `allowHalfOpen`; `terminate()` would reset it. */
  end(): void;
  /** Closes the socket now, with a reset. */
  terminate(): void;
  /** Stops and restarts reading from the kernel. */
  pause(): void;
  resume(): void;
  setNoDelay(noDelay: boolean): boolean;
}

interface BunSocketHandler {
  binaryType: "uint8array";
  open(socket: BunSocket): void;
  data(socket: BunSocket, data: Uint8Array): void;
  drain(socket: BunSocket): void;
  end(socket: BunSocket): void;
  close(socket: BunSocket, error?: Error): void;
  error(socket: BunSocket, error: Error): void;
}

interface BunSocketOptions {
  hostname: string;
  port: number;
  allowHalfOpen: boolean;
  socket: BunSocketHandler;
}

interface BunListenOptions extends BunSocketOptions {
  exclusive: boolean;
}

interface BunSockName {
  address?: string;
  port?: number;
}

interface BunListener {
  readonly hostname: string;
  readonly port: number;
  /** Fills `out` with the bound address: `hostname` echoes what was asked for. */
  getsockname?(out: BunSockName): void;
  /** Stops listening; sockets already open stay open unless told otherwise. */
  stop(closeActiveConnections?: boolean): void;
}

/** A Bun UDP socket, from `Bun.udpSocket`. */
interface BunUdpSocket {
  /** The bound address; `hostname` would echo the name asked for. */
  readonly address: { address: string; port: number };
  /**
   * Sends one whole datagram. False when the kernel's send buffer is full:
   * nothing was sent, and `drain` fires once there is room. Throws on
   * failure (EMSGSIZE), including an ICMP error left over from an earlier
   * datagram (ECONNREFUSED), since Bun sets IP_RECVERR.
   */
  send(data: string | Uint8Array, port: number, address: string): boolean;
  close(): void;
}

interface BunUdpReceiveFlags {
  /** The datagram did not fit Bun's buffer and was cut (MSG_TRUNC). */
  truncated: boolean;
}

interface BunUdpHandler {
  data(socket: BunUdpSocket, data: Uint8Array, port: number, address: string, flags?: BunUdpReceiveFlags): void;
  drain(socket: BunUdpSocket): void;
  /**
   * ICMP errors for earlier sends, read from the error queue. The docs say
   * `(socket, error)`; Bun 1.4 passes the error alone.
   */
  error(...args: unknown[]): void;
}

interface BunUdpOptions {
  hostname: string;
  port: number;
  binaryType: "uint8array";
  socket: BunUdpHandler;
}

interface BunApi {
  listen(options: BunListenOptions): BunListener;
  connect(options: BunSocketOptions): Promise<BunSocket>;
  udpSocket(options: BunUdpOptions): Promise<BunUdpSocket>;
  dns: {
    /** Every address found, in the resolver's order; rejects when there is none. */
    lookup(hostname: string, options: { family: 0 | 4 | 6 }): Promise<{ address: string }[]>;
  };
}

function bun(): BunApi {
  return (globalThis as unknown as { Bun: BunApi }).Bun;
}

// A write waiting for the kernel to take its bytes, or the FIN that follows
// every write queued before `closeWrite()`.
interface PendingWrite {
  data: Uint8Array;
  offset: number;
  fin: boolean;
  resolve(): void;
  reject(reason: unknown): void;
}

function closedError(action: string, address: string): SocketError {
  return new SocketError("ECLOSED", `Cannot ${action} ${address}: socket is closed`);
}

function netAddr(hostname: string | undefined, port: number | undefined): NetAddr {
  return { transport: "tcp", hostname: hostname ?? "", port: port ?? 0 };
}

const EMPTY = new Uint8Array(0);
const RESOLVED: Promise<void> = Promise.resolve();

// A promise's resolving functions, taken without a closure per promise.
let capturedResolve: ((chunk: Uint8Array | null) => void) | undefined;
let capturedReject: ((reason: unknown) => void) | undefined;
function captureRead(resolve: (chunk: Uint8Array | null) => void, reject: (reason: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

class BunConn implements RuntimeConn, PumpSocket {
  // The fields a request reads come first, together: on a busy server a
  // connection's state is cold by its next request (docs/performance.md, "Per-connection objects").
  #socket: BunSocket;
  // The pump's handler while the pump is idle (see PumpSocket.idle), which a
  // chunk goes to at once: a request then reads no field of the Pump, whose
  // object is one more cache line gone cold by the connection's next request
  // (docs/performance.md, "Per-connection objects"). Cleared by #wake() before every call into it.
  #ready: PumpHandler | undefined = undefined;
  #closed = false;
  // Made when a chunk has to wait, dropped once none does: a pumped request
  // then reads one field here rather than two more objects (the queue and
  // its array), and an idle connection holds neither.
  #readAhead: ReadAhead | undefined = undefined;
  // Writes waiting for `drain`, oldest first: made when one has to wait and
  // dropped once none does, so that a request checks one field of this
  // object rather than reading an array that may have gone cold.
  #writes: PendingWrite[] | undefined = undefined;
  #finished: Promise<void> | null = null;
  #pump: Pump | undefined = undefined;
  // The Bun socket is gone: closed by close(), or by Bun after both FINs, a
  // reset or an error. Bun may call handlers no more, so nothing may wait.
  #socketClosed = false;
  // #answer() is writing a reply the pump does not know of: Bun may report
  // the peer's FIN or the socket's close meanwhile, which must not end the
  // pump as if the reply had gone out.
  #answering = false;
  #repliedBytes = 0;
  #eof = false;
  #cause: unknown = undefined;
  #error: SocketError | null = null;
  // A pending read's resolving functions; fields rather than an object, so
  // that a read allocates its promise and nothing else.
  #readResolve: ((chunk: Uint8Array | null) => void) | undefined = undefined;
  #readReject: ((reason: unknown) => void) | undefined = undefined;
  readonly localAddr: NetAddr;
  readonly remoteAddr: NetAddr;

  /**
   * Wraps `socket`. An accepted one may come with its local address, known
   * from the listener: Bun asks the kernel for it on each read of
   * `localAddress` and of `localPort`, two system calls per connection.
   */
  constructor(socket: BunSocket, local?: NetAddr) {
    this.#socket = socket;
    socket.data = this;
    // Bun already sets TCP_NODELAY on every socket; the contract requires it,
    // so it is set here rather than trusted to a default.
    socket.setNoDelay(true);
    this.localAddr = local === undefined
      ? netAddr(socket.localAddress, socket.localPort)
      : netAddr(local.hostname, local.port);
    this.remoteAddr = netAddr(socket.remoteAddress, socket.remotePort);
  }

  get repliedBytes(): number {
    return this.#repliedBytes;
  }

  // Error messages name the peer; formatted only when one is made.
  get #remote(): string {
    return formatAddress(this.remoteAddr);
  }

  /** Handlers for every socket; each finds its connection in `socket.data`. */
  static handlers(open: (socket: BunSocket) => void): BunSocketHandler {
    return {
      // A plain Uint8Array over a fresh ArrayBuffer per call: Bun never
      // reuses it, so chunks go to the caller without a copy.
      binaryType: "uint8array",
      open,
      data: (socket, chunk) => {
        const conn = socket.data;
        if (conn !== undefined) conn.#onData(chunk);
      },
      drain: (socket) => {
        const conn = socket.data;
        if (conn !== undefined) conn.#flush();
      },
      end: (socket) => {
        const conn = socket.data;
        if (conn === undefined) return;
        conn.#eof = true;
        conn.#settle(null);
        // Not during #answer()'s write, which ends the pump once its reply is out.
        if (!conn.#answering) conn.#wake()?.ended();
      },
      // Bun reports a reset or a failed read only here, as the argument.
      close: (socket, error) => {
        const conn = socket.data;
        if (conn !== undefined) conn.#onClose(error);
      },
      error: (socket, error) => {
        const conn = socket.data;
        if (conn === undefined) return;
        conn.#onClose(error);
        socket.end();
      },
    };
  }

  #onData(chunk: Uint8Array): void {
    if (this.#closed) return;
    const handler = this.#ready;
    if (handler !== undefined && this.#readAhead === undefined) {
      this.#answer(handler, chunk);
      return;
    }
    if (this.#pump !== undefined && this.#wake()!.offer(chunk)) return;
    const resolve = this.#readResolve;
    if (resolve !== undefined) {
      this.#readResolve = this.#readReject = undefined;
      resolve(chunk);
      return;
    }
    if ((this.#readAhead ??= new ReadAhead()).push(chunk)) {
      // Takes the socket out of the poller, so the kernel buffer fills and
      // the peer's writes stall.
      this.#socket.pause();
    }
  }

  // The pump's usual request, answered without going through its loop: about 1%
  // more requests per second at one in flight (120 paired rounds at 256
  // connections, docs/performance.md, "Reading and answering"). Anything else goes to the pump.
  #answer(handler: PumpHandler, chunk: Uint8Array): void {
    let reply: PumpReply | Promise<PumpReply>;
    try {
      reply = handler.onData(chunk);
    } catch (err) {
      this.#wake()!.fail(err);
      return;
    }
    if (
      (typeof reply !== "string" && !(reply instanceof Uint8Array)) || reply.length === 0 ||
      this.#writes !== undefined || this.#finished !== null || this.#socketClosed
    ) {
      this.#wake()!.answered(reply);
      return;
    }
    this.#answering = true;
    const taken = this.#writeNow(reply);
    this.#answering = false;
    if (taken < 0) {
      this.#wake()!.fail(this.#writeError());
      return;
    }
    this.#repliedBytes += taken;
    const length = typeof reply === "string" ? utf8Length(reply) : reply.byteLength;
    // The kernel's buffer is full: the pump sends the rest (the kernel may
    // well take none of it yet) and waits for `drain`.
    if (taken < length) this.#wake()!.answered((typeof reply === "string" ? encodeUtf8(reply) : reply).subarray(taken));
    else if (this.#eof) this.#wake()!.ended();
  }

  // The pump, no longer idle as far as #onData() knows: every call into it
  // that may change its state goes through here, and the pump says when it
  // is idle again.
  #wake(): Pump | undefined {
    this.#ready = undefined;
    return this.#pump;
  }

  #onClose(error: Error | undefined): void {
    this.#socketClosed = true;
    this.#eof = true;
    if (error !== undefined && this.#cause === undefined) {
      this.#cause = error;
      this.#error = socketError(error, { action: "read from", address: this.#remote });
    }
    this.#failWrites();
    this.#settle(null);
    if (this.#error !== null) this.#wake()?.fail(this.#error);
    // Not during #answer()'s write, which fails the pump: its reply is lost.
    else if (!this.#answering) this.#wake()?.ended();
  }

  // Wakes a pending read with end of stream, or the error that ended it.
  #settle(value: null): void {
    const resolve = this.#readResolve;
    const reject = this.#readReject;
    if (resolve === undefined || reject === undefined) return;
    this.#readResolve = this.#readReject = undefined;
    if (this.#closed) reject(closedError("read from", this.#remote));
    else if (this.#error !== null) reject(this.#error);
    else resolve(value);
  }

  // Why a write cannot finish once the socket is gone.
  #writeError(): SocketError {
    if (this.#closed) return closedError("write to", this.#remote);
    if (this.#cause !== undefined) {
      return socketError(this.#cause, { action: "write to", address: this.#remote });
    }
    return new SocketError("EPIPE", `Cannot write to ${this.#remote}: connection closed by peer`);
  }

  #failWrites(): void {
    const writes = this.#writes;
    if (writes === undefined) return;
    this.#writes = undefined;
    for (const item of writes) {
      // The FIN of a connection that ended cleanly has nothing left to do.
      if (item.fin && !this.#closed && this.#cause === undefined) item.resolve();
      else item.reject(this.#writeError());
    }
  }

  // Hands queued bytes to the kernel until it takes no more; Bun keeps none
  // of what `write` did not take, and calls `drain` once there is room.
  #flush(): void {
    for (let writes = this.#writes; writes !== undefined; writes = this.#writes) {
      if (this.#socketClosed) {
        this.#failWrites();
        return;
      }
      const item = writes[0];
      if (item.fin) {
        this.#dropWrite(writes);
        this.#socket.shutdown();
        item.resolve();
        continue;
      }
      const rest = item.offset === 0 ? item.data : item.data.subarray(item.offset);
      const taken = this.#socket.write(rest);
      // Bun may have closed the socket and failed the queue during write(),
      // or (were it ever to call `drain` from inside it) flushed it further.
      if (this.#writes !== writes || writes[0] !== item) return;
      if (taken < 0) {
        this.#socketClosed = true;
        this.#failWrites();
        return;
      }
      item.offset += taken;
      if (item.offset < item.data.byteLength) return;
      this.#dropWrite(writes);
      item.resolve();
    }
  }

  // The oldest queued write is done; the queue goes once it is empty.
  #dropWrite(writes: PendingWrite[]): void {
    writes.shift();
    if (writes.length === 0) this.#writes = undefined;
  }

  // Queues a write behind the others; `true` if none was queued.
  #queueWrite(item: PendingWrite): boolean {
    const writes = this.#writes;
    if (writes !== undefined) {
      writes.push(item);
      return false;
    }
    this.#writes = [item];
    return true;
  }

  // Hands bytes to the kernel at once, with nothing queued: how many it took,
  // or -1 once the socket is gone. Bun may close the socket during write():
  // the write then fails, and the queue with it, as a queued one would.
  #writeNow(data: string | Uint8Array): number {
    const taken = this.#socket.write(data);
    if (taken >= 0 && !this.#socketClosed) return taken;
    this.#socketClosed = true;
    this.#failWrites();
    return -1;
  }

  #enqueue(data: Uint8Array, fin: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#queueWrite({ data, offset: 0, fin, resolve, reject })) this.#flush();
    });
  }

  read(): Promise<Uint8Array | null> {
    if (this.#closed) return Promise.reject(closedError("read from", this.#remote));
    if (Pump.running(this.#pump)) {
      return Promise.reject(new SocketError("EINVAL", `Cannot read from ${this.#remote}: a pump is running`));
    }
    const chunk = this.nextQueued();
    if (chunk !== undefined) return Promise.resolve(chunk);
    if (this.#error !== null) return Promise.reject(this.#error);
    if (this.#eof) return Promise.resolve(null);
    if (this.#readResolve !== undefined) {
      return Promise.reject(new SocketError("EINVAL", `Cannot read from ${this.#remote}: a read is already pending`));
    }
    const read = new Promise<Uint8Array | null>(captureRead);
    this.#readResolve = capturedResolve;
    this.#readReject = capturedReject;
    capturedResolve = capturedReject = undefined;
    return read;
  }

  /** For the pump and `read()`: the oldest chunk read ahead, resuming the socket once few are left. */
  nextQueued(): Uint8Array | undefined {
    const ahead = this.#readAhead;
    if (ahead === undefined) return undefined;
    const chunk = ahead.shift();
    if (chunk !== undefined && ahead.resume() && !this.#socketClosed) this.#socket.resume();
    // Empty, it is also unpaused: the last shift() resumed it.
    if (ahead.empty) this.#readAhead = undefined;
    return chunk;
  }

  /** For the pump. */
  get ended(): boolean {
    return this.#eof;
  }

  /** For the pump: Bun pushes bytes, so there is nothing to start; the next chunk goes to `handler`. */
  idle(handler: PumpHandler): void {
    this.#ready = handler;
  }

  /**
   * For the pump: what the kernel does not take at once waits for `drain`.
   * Text goes as it is, encoded by Bun; only a partial write needs it as
   * bytes, to queue the rest.
   */
  sendReply(reply: string | Uint8Array): boolean {
    const pump = this.#pump!;
    if (this.#finished !== null) {
      pump.fail(new SocketError("EPIPE", `Cannot write to ${this.#remote}: write side is closed`));
      return false;
    }
    if (this.#socketClosed) {
      pump.fail(this.#writeError());
      return false;
    }
    let taken = 0;
    // The reply's length in bytes once counted: it is known only after a try.
    let length = -1;
    if (this.#writes === undefined) {
      taken = this.#writeNow(reply);
      if (taken < 0) {
        pump.fail(this.#writeError());
        return false;
      }
      length = typeof reply === "string" ? utf8Length(reply) : reply.byteLength;
      this.#repliedBytes += length;
      if (taken === length) return true;
    }
    const bytes = typeof reply === "string" ? encodeUtf8(reply) : reply;
    if (length < 0) this.#repliedBytes += bytes.byteLength;
    this.#queueWrite({ data: bytes, offset: taken, fin: false, resolve: pump.onWritten, reject: pump.onFailed });
    return false;
  }

  pumpTo(handler: PumpHandler, end: PumpEnd): void {
    Pump.run(this, handler, {
      closed: this.#closed,
      busy: Pump.running(this.#pump) || this.#readResolve !== undefined,
      error: this.#error,
    }, end);
  }

  /** For the pump: see `PumpSocket.adopt`. */
  adopt(pump: Pump): void {
    this.#wake();
    this.#pump = pump;
  }

  stopPump(): void {
    this.#wake()?.stop();
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(closedError("write to", this.#remote));
    if (this.#finished !== null) {
      return Promise.reject(new SocketError("EPIPE", `Cannot write to ${this.#remote}: write side is closed`));
    }
    if (this.#socketClosed) return Promise.reject(this.#writeError());
    if (data.byteLength === 0) return Promise.resolve();
    if (this.#writes !== undefined) return this.#enqueue(data, false);
    // Nothing queued: the kernel usually takes it all at once, and then
    // there is nothing to wait for.
    const taken = this.#writeNow(data);
    if (taken < 0) return Promise.reject(this.#writeError());
    if (taken === data.byteLength) return RESOLVED;
    // The rest waits for `drain`.
    return new Promise((resolve, reject) => {
      this.#queueWrite({ data, offset: taken, fin: false, resolve, reject });
    });
  }

  closeWrite(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError("close", this.#remote));
    // Queued behind the writes so the FIN follows their last byte.
    this.#finished ??= this.#enqueue(EMPTY, true);
    return this.#finished;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Before end(), which may report the close (as an end of stream) at once.
    // A finished pump (the usual case) needs no error, which costs a stack trace.
    if (Pump.running(this.#pump)) this.#wake()!.fail(closedError("read from", this.#remote));
    this.#readAhead = undefined;
    this.#failWrites();
    if (!this.#socketClosed) {
      this.#socketClosed = true;
      this.#socket.end();
    }
    this.#settle(null);
  }
}

class BunListenerImpl implements RuntimeListener {
  readonly addr: NetAddr;
  #server: BunListener;
  #accepted = new AcceptQueue();
  #closed = false;
  // Every accepted connection's local address, unless bound to a wildcard.
  #local: NetAddr | undefined = undefined;

  constructor(options: RuntimeAddrOptions) {
    this.#server = bun().listen({
      hostname: options.hostname,
      port: options.port,
      // Without it Bun closes the socket at the peer's FIN.
      allowHalfOpen: true,
      // Bun sets SO_REUSEADDR and never SO_REUSEPORT either way on Linux;
      // this asks it not to share the port where the OS would.
      exclusive: true,
      socket: BunConn.handlers((socket) => this.#onOpen(socket)),
    });
    // `hostname` echoes the name asked for ("localhost"); the contract wants
    // the IP literal that was bound.
    const bound: BunSockName = {};
    this.#server.getsockname?.(bound);
    this.addr = netAddr(bound.address ?? this.#server.hostname, bound.port ?? this.#server.port);
    this.#local = acceptedLocalAddr(this.addr);
  }

  #onOpen(socket: BunSocket): void {
    // Reset by its peer before it was accepted (a port scan, a health
    // check): Bun cannot name the peer, and there is nothing to serve. A
    // dead socket that Bun did name fails its first read instead.
    if (!socket.remoteAddress) {
      socket.terminate();
      return;
    }
    this.#accepted.offer(new BunConn(socket, this.#local));
  }

  accept(): Promise<RuntimeConn | null> {
    return this.#accepted.accept();
  }

  acceptEach(onConn: (conn: RuntimeConn) => void, onError: (error: unknown) => void): Promise<void> | undefined {
    return this.#accepted.acceptEach(onConn, onError);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // false: connections already accepted stay open.
    this.#server.stop(false);
    this.#accepted.close();
  }
}

function listen(options: RuntimeAddrOptions): Promise<RuntimeListener> {
  const address = formatAddress(options);
  try {
    return Promise.resolve(new BunListenerImpl(options));
  } catch (err) {
    const error = socketError(err, { action: "listen on", address });
    if (error.code !== "EUNKNOWN") return Promise.reject(error);
    // Bun.listen() gives no code for a name that does not resolve ("Failed
    // to listen at <name>"): looking the name up tells that apart (ENOTFOUND,
    // as elsewhere) from whatever else it was.
    return lookup(options.hostname, { action: "listen on", port: options.port }).then(() => Promise.reject(error));
  }
}

function connect(options: RuntimeConnectOptions): Promise<RuntimeConn> {
  const address = formatAddress(options);
  const { signal } = options;
  if (signal !== undefined) {
    // Bun.connect() cannot be cancelled: an attempt given up on kept its
    // descriptor, and the process alive, until the kernel ended it (over two
    // minutes for a peer that drops SYNs). Bun's node:net cancels one with
    // destroy(), so an attempt that may be given up on goes through the Node
    // adapter, and the connection it makes is a node:net socket.
    const aborted = () => Promise.reject(new SocketError("EABORTED", `Cannot connect to ${address}: aborted`));
    if (signal.aborted) return aborted();
    // The Node adapter hears the signal from its call on: one that fired
    // while the adapter loaded would not reach it.
    return import("./node.ts").then(({ nodeRuntime }) => signal.aborted ? aborted() : nodeRuntime.connect(options));
  }
  let attempt: Promise<BunSocket>;
  try {
    attempt = bun().connect({
      hostname: options.hostname,
      port: options.port,
      allowHalfOpen: true,
      // The connection exists from here, so bytes that arrive before the
      // promise below settles are already queued for read().
      socket: BunConn.handlers((socket) => void new BunConn(socket)),
    });
  } catch (err) {
    return Promise.reject(socketError(err, { action: "connect to", address }));
  }
  return attempt.then(
    (socket) => socket.data ?? new BunConn(socket),
    (err: unknown) => Promise.reject(socketError(err, { action: "connect to", address })),
  );
}

// Errors a send can report for an earlier datagram: the ICMP reply to it
// left a pending error that the kernel hands to the next send, and that send
// fails before its own datagram goes out.
const STALE_ERRORS = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN"]);
// More stale errors than this in a row mean something else is wrong.
const MAX_STALE_RETRIES = 16;

interface PendingSend {
  // A reply of push mode's, dropped silently at close() as any unsent reply is.
  pushed: boolean;
  data: string | Uint8Array;
  to: RuntimeAddrOptions;
  resolve(): void;
  reject(reason: unknown): void;
}

// Sends one datagram; false if the kernel's buffer is full. Retries past
// errors left over from earlier datagrams (see STALE_ERRORS).
function sendNow(socket: BunUdpSocket, data: string | Uint8Array, to: RuntimeAddrOptions): boolean {
  for (let stale = 0;; stale++) {
    try {
      return socket.send(data, to.port, to.hostname);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code !== "string" || !STALE_ERRORS.has(code) || stale >= MAX_STALE_RETRIES) throw err;
    }
  }
}

class BunDatagramSocket implements RuntimeDatagramSocket {
  // Set by attach() once Bun has bound; the handlers must exist before.
  #addr: NetAddr = { transport: "udp", hostname: "", port: 0 };
  #socket: BunUdpSocket | null = null;
  #address = "";
  #received = new DatagramQueue();
  #closed = false;
  #sends: PendingSend[] = [];
  #loop: AnswerLoop | null = null;

  /** Handlers bound to this socket, for `Bun.udpSocket`. */
  handlers(): BunUdpHandler {
    return {
      data: (_socket, data, port, address, flags) => this.#onData(data, port, address, flags),
      drain: () => this.#flush(),
      // Each ICMP error also fails the next send, which retries it.
      error: () => {},
    };
  }

  attach(socket: BunUdpSocket): void {
    this.#socket = socket;
    this.#addr = { transport: "udp", hostname: socket.address.address, port: socket.address.port };
    this.#address = formatAddress(this.#addr);
  }

  get addr(): NetAddr {
    return this.#addr;
  }

  /** Datagrams dropped because the queue was full or Bun cut them short. */
  get dropped(): number {
    return this.#received.dropped;
  }

  #onData(data: Uint8Array, port: number, address: string, flags: BunUdpReceiveFlags | undefined): void {
    if (this.#closed) return;
    // Part of a datagram is not the datagram: drop it as the kernel would.
    if (flags?.truncated) {
      this.#received.drop();
      return;
    }
    // Bun gives each datagram a fresh buffer of its exact size: no copy.
    const remote: NetAddr = { transport: "udp", hostname: address, port };
    if (this.#loop !== null) this.#loop.offer(data, remote);
    else this.#received.push({ data, remote });
  }

  receive(): Promise<RuntimeDatagram | null> {
    return this.#received.receive(this.#address);
  }

  answerEach(answerer: DatagramAnswerer): Promise<void> {
    if (this.#loop !== null) {
      return Promise.reject(new SocketError("EINVAL", `Cannot answer on ${this.#address}: already answering`));
    }
    const loop = new AnswerLoop(answerer, this.#received, (reply, data, remote) => {
      const socket = this.#socket!;
      if (this.#sends.length === 0) {
        try {
          if (sendNow(socket, reply, remote)) return true;
        } catch (err) {
          throw socketError(err, { action: "send to", address: formatAddress(remote) });
        }
      }
      // The kernel's buffer is full: `drain` sends the reply, then answering
      // goes on.
      this.#sends.push({
        pushed: true,
        data: reply,
        to: remote,
        resolve: () => loop.resume(),
        reject: (err) => {
          answerer.fail(err, data, remote);
          loop.resume();
        },
      });
      return false;
    });
    this.#loop = loop;
    if (this.#closed) loop.close();
    else loop.resume();
    return loop.finished;
  }

  send(data: Uint8Array, to: RuntimeAddrOptions): Promise<void> {
    if (this.#closed) return Promise.reject(closedError("send to", formatAddress(to)));
    const socket = this.#socket;
    if (this.#sends.length === 0 && socket !== null) {
      // Nothing queued: the kernel usually takes it at once, and then there
      // is nothing to wait for.
      let sent: boolean;
      try {
        sent = sendNow(socket, data, to);
      } catch (err) {
        return Promise.reject(socketError(err, { action: "send to", address: formatAddress(to) }));
      }
      if (sent) return RESOLVED;
      // The kernel's buffer is full: wait for `drain`, which flushes.
      return new Promise((resolve, reject) => {
        this.#sends.push({ pushed: false, data, to, resolve, reject });
      });
    }
    return new Promise((resolve, reject) => {
      this.#sends.push({ pushed: false, data, to, resolve, reject });
      if (this.#sends.length === 1) this.#flush();
    });
  }

  // Sends queued datagrams in call order until the kernel's buffer is full;
  // Bun keeps none that `send` refused, and calls `drain` once there is room.
  #flush(): void {
    const socket = this.#socket;
    while (this.#sends.length > 0 && socket !== null && !this.#closed) {
      const item = this.#sends[0];
      let sent = false;
      try {
        sent = sendNow(socket, item.data, item.to);
      } catch (err) {
        this.#sends.shift();
        item.reject(socketError(err, { action: "send to", address: formatAddress(item.to) }));
        continue;
      }
      if (!sent) return;
      this.#sends.shift();
      item.resolve();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#socket?.close();
    } catch {
      // Already closed by Bun: there is nothing left to close.
    }
    for (const item of this.#sends.splice(0)) {
      if (!item.pushed) item.reject(closedError("send to", formatAddress(item.to)));
    }
    this.#received.close();
    this.#loop?.close();
  }
}

async function bindDatagram(options: RuntimeAddrOptions): Promise<RuntimeDatagramSocket> {
  // Looked up here rather than by udpSocket(), so that a name that does not
  // resolve fails as on the other runtimes (ENOTFOUND, naming it).
  const hostname = await lookup(options.hostname, { action: "bind", port: options.port });
  const socket = new BunDatagramSocket();
  try {
    socket.attach(
      await bun().udpSocket({
        hostname,
        port: options.port,
        // A plain Uint8Array rather than a Buffer, so it compares equal to one.
        binaryType: "uint8array",
        socket: socket.handlers(),
      }),
    );
  } catch (err) {
    throw socketError(err, { action: "bind", address: formatAddress(options) });
  }
  return socket;
}

// Bun's own resolver, `Bun.dns` (the hosts file included), rather than its
// `node:dns` emulation over it.
const lookup: Runtime["lookup"] = nameLookup(async (hostname, family) => {
  return (await bun().dns.lookup(hostname, { family }))[0]?.address;
});

/**
 * Sockets on Bun through `Bun.listen`, `Bun.connect` and `Bun.udpSocket`.
 *
 * @example Listening through the Bun adapter
 * ```ts ignore
 * import { bunRuntime } from "./bun.ts";
 *
 * const listener = await bunRuntime.listen({ hostname: "127.0.0.1", port: 0 });
 * listener.close();
 * ```
 */
export const bunRuntime: Runtime = { name: "bun", listen, connect, bindDatagram, lookup };
