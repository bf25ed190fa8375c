/**
 * The Node adapter: `node:net` and `node:dgram` behind the runtime contract.
 * Also what Deno and Bun would run if a user forced Node compatibility, and
 * what Deno runs for UDP when `Deno.listenDatagram` is missing (it is
 * unstable, so absent without `--unstable-net`).
 *
 * @module
 */

import * as dgram from "node:dgram";
import * as dns from "node:dns";
import * as net from "node:net";
import { formatAddress, SocketError, socketError } from "../socket_error.ts";
import { AnswerLoop } from "./_answer_loop.ts";
import { DatagramQueue } from "./_datagram_queue.ts";
import { nameLookup } from "./_lookup.ts";
import { Pump, type PumpSocket } from "./_pump.ts";
import { AcceptQueue } from "./_accept_queue.ts";
import { ReadAhead } from "./_read_ahead.ts";
import type {
  DatagramAnswerer,
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

function closedError(action: string, address: string): SocketError {
  return new SocketError("ECLOSED", `Cannot ${action} ${address}: socket is closed`);
}

function netAddr(hostname: string | undefined, port: number | undefined): NetAddr {
  return { transport: "tcp", hostname: hostname ?? "", port: port ?? 0 };
}

// A promise's resolving functions, taken without a closure per promise.
let capturedResolve: ((chunk: Uint8Array | null) => void) | undefined;
let capturedReject: ((reason: unknown) => void) | undefined;
function captureRead(resolve: (chunk: Uint8Array | null) => void, reject: (reason: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

const EMPTY = new Uint8Array(0);

// Where a socket keeps its connection, for the shared listeners.
const CONN = Symbol("doorway.conn");
type OwnedSocket = net.Socket & { [CONN]?: NodeConn };

class NodeConn implements RuntimeConn, PumpSocket {
  readonly localAddr: NetAddr;
  readonly remoteAddr: NetAddr;
  #socket: net.Socket;
  // Made when a chunk has to wait, dropped once none does: a pumped request
  // then reads one field here rather than two more objects (the queue and
  // its array), and an idle connection holds neither.
  #readAhead: ReadAhead | undefined = undefined;
  #eof = false;
  #closed = false;
  #error: SocketError | null = null;
  // A pending read's resolving functions; fields rather than an object, so
  // that a read allocates its promise and nothing else.
  #readResolve: ((chunk: Uint8Array | null) => void) | undefined = undefined;
  #readReject: ((reason: unknown) => void) | undefined = undefined;
  #pump: Pump | undefined = undefined;
  #pumpWritten: ((err?: Error | null) => void) | undefined = undefined;
  // Bytes handed to write(): Node's own count includes them with the replies'.
  #writeBytes = 0;

  /** Wraps `socket`, connected or accepted, before anything was read from it. */
  constructor(socket: net.Socket) {
    this.#socket = socket;
    // A no-op when the server's noDelay option already set it.
    socket.setNoDelay(true);
    this.localAddr = netAddr(socket.localAddress, socket.localPort);
    this.remoteAddr = netAddr(socket.remoteAddress, socket.remotePort);
    // The same listeners for every socket (Node calls them with the socket
    // as `this`), rather than closures per connection.
    (socket as OwnedSocket)[CONN] = this;
    socket.on("data", NodeConn.#onDataEvent);
    socket.on("end", NodeConn.#onEndEvent);
    socket.on("error", NodeConn.#onErrorEvent);
    socket.on("close", NodeConn.#onCloseEvent);
  }

  static #onDataEvent(this: OwnedSocket, chunk: Uint8Array): void {
    this[CONN]!.#onData(chunk);
  }

  // End of stream. libuv reports a reset that comes right after a partial
  // read as end of stream (it takes POLLHUP for EOF without reading), and
  // the reset stays pending on the socket: an empty write brings it out,
  // where a real end of stream lets it through. Not documented: pinned in
  // runtime/UNDOCUMENTED.md. Once this side has half-closed, the write is
  // refused; while writes are queued, it would wait for them (for ever,
  // with a peer that stopped reading), and the first of them fails on a
  // reset anyway: the end is taken as it comes then.
  static #onEndEvent(this: OwnedSocket): void {
    const conn = this[CONN]!;
    if (this.writableEnded || this.destroyed || this.writableLength > 0) {
      conn.#ended();
      return;
    }
    this.write(EMPTY, (err) => {
      if (err == null) conn.#ended();
      else conn.#failed(err);
    });
  }

  // The socket closed, by either side: whatever was pending ends now.
  static #onCloseEvent(this: OwnedSocket): void {
    this[CONN]!.#ended();
  }

  static #onErrorEvent(this: OwnedSocket, err: Error): void {
    this[CONN]!.#failed(err);
  }

  #ended(): void {
    this.#eof = true;
    this.#settle(null);
    this.#pump?.ended();
  }

  #failed(err: Error): void {
    this.#error ??= socketError(err, { action: "read from", address: this.#remote });
    this.#settle(null);
    this.#pump?.fail(this.#error);
  }

  get repliedBytes(): number {
    // Node counts every byte it is handed, pending ones included, and has
    // the UTF-8 length of a text reply from its encoding: counting a reply's
    // bytes here would scan it again, in JavaScript.
    return this.#socket.bytesWritten - this.#writeBytes;
  }

  // Error messages name the peer; formatted only when one is made.
  get #remote(): string {
    return formatAddress(this.remoteAddr);
  }

  // A chunk Node read, in a Buffer of its own.
  #onData(buffer: Uint8Array): void {
    // The pump takes the chunk itself (see PumpHandler.onData).
    if (this.#pump?.offer(buffer)) return;
    // A plain view: callers get the same type on every runtime.
    const chunk = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    const resolve = this.#readResolve;
    if (resolve !== undefined) {
      this.#readResolve = this.#readReject = undefined;
      resolve(chunk);
      return;
    }
    if ((this.#readAhead ??= new ReadAhead()).push(chunk)) {
      this.#socket.pause();
    }
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
    if (chunk !== undefined && ahead.resume()) this.#socket.resume();
    // Empty, it is also unpaused: the last shift() resumed it.
    if (ahead.empty) this.#readAhead = undefined;
    return chunk;
  }

  /** For the pump. */
  get ended(): boolean {
    return this.#eof;
  }

  /** For the pump: Node pushes bytes, so there is nothing to start. */
  idle(): void {}

  /**
   * For the pump: one write, synchronous when libuv's try-write takes it all.
   * Text goes as it is: Node encodes it in C++, for a short reply into stack
   * memory, where bytes would cost a Buffer to wrap them.
   */
  sendReply(reply: string | Uint8Array): boolean {
    const socket = this.#socket;
    if (socket.writableEnded) {
      this.#pump?.fail(new SocketError("EPIPE", `Cannot write to ${this.#remote}: write side is closed`));
      return false;
    }
    // Node would take the reply and drop it later, with writableLength 0 as
    // if it had been written.
    if (socket.destroyed) {
      this.#pump?.fail(this.#failure("write to", null));
      return false;
    }
    socket.write(reply);
    // Node counts a write as pending until libuv has handed it all to the
    // kernel, which its try-write usually does at once.
    if (socket.writableLength === 0) return true;
    // An empty write queued behind the rest calls back once all of it is
    // written (or failed): only then is a callback needed, and made.
    this.#pumpWritten ??= (err) => {
      if (err != null || this.#socket.destroyed) this.#pump?.fail(this.#failure("write to", err));
      else this.#pump?.written();
    };
    socket.write(EMPTY, this.#pumpWritten);
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
    this.#pump = pump;
  }

  stopPump(): void {
    this.#pump?.stop();
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(closedError("write to", this.#remote));
    // Node would destroy the whole socket for a write after end(), losing
    // the half-open read side: refuse it here, as Deno and Bun do.
    if (this.#socket.writableEnded) {
      return Promise.reject(new SocketError("EPIPE", `Cannot write to ${this.#remote}: write side is closed`));
    }
    if (data.byteLength === 0) return Promise.resolve();
    this.#writeBytes += data.byteLength;
    return new Promise((resolve, reject) => {
      // The callback runs once libuv has handed every byte to the kernel, so
      // Node holds at most this one buffer of ours: memory stays bounded.
      // Node also calls it without an error when the socket is destroyed
      // under the write: the bytes were not sent then.
      this.#socket.write(data, (err) => {
        if (err == null && !this.#socket.destroyed) resolve();
        else reject(this.#failure("write to", err));
      });
    });
  }

  // Why an operation failed, named for that operation.
  #failure(action: string, err: Error | null | undefined): SocketError {
    if (this.#closed) return closedError(action, this.#remote);
    const cause = this.#error?.cause ?? err;
    if (cause == null) return new SocketError("EPIPE", `Cannot ${action} ${this.#remote}: connection closed by peer`);
    return socketError(cause, { action, address: this.#remote });
  }

  closeWrite(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError("close", this.#remote));
    if (this.#socket.writableEnded) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#socket.end((err?: Error | null) => {
        if (err == null && !this.#socket.destroyed) resolve();
        else reject(this.#failure("close", err));
      });
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#readAhead = undefined;
    this.#socket.destroy();
    this.#settle(null);
    // A finished pump (the usual case) needs no error, which costs a stack trace.
    if (Pump.running(this.#pump)) this.#pump!.fail(closedError("read from", this.#remote));
  }
}

class NodeListener implements RuntimeListener {
  readonly addr: NetAddr;
  #server: net.Server;
  #accepted = new AcceptQueue();
  #closed = false;

  constructor(server: net.Server) {
    this.#server = server;
    const bound = server.address() as net.AddressInfo;
    this.addr = netAddr(bound.address, bound.port);
    server.on("connection", (socket: net.Socket) => {
      // Reset by its peer before it was accepted (a port scan, a health
      // check): Node leaves the peer's address undefined, and there is
      // nothing to serve.
      if (socket.remoteAddress === undefined) {
        socket.destroy();
        return;
      }
      // Wrapping at once attaches the error listener before anything can fail.
      this.#accepted.offer(new NodeConn(socket));
    });
    // After listening, Node reports only failures to accept here (EMFILE):
    // the server goes on listening.
    const address = formatAddress(this.addr);
    server.on("error", (err) => this.#accepted.fail(socketError(err, { action: "accept on", address })));
  }

  acceptEach(onConn: (conn: RuntimeConn) => void, onError: (error: unknown) => void): Promise<void> | undefined {
    return this.#accepted.acceptEach(onConn, onError);
  }

  accept(): Promise<RuntimeConn | null> {
    return this.#accepted.accept();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.close();
    this.#accepted.close();
  }
}

function listen(options: RuntimeAddrOptions): Promise<RuntimeListener> {
  const address = formatAddress(options);
  return new Promise((resolve, reject) => {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true });
    server.once("error", (err) => reject(socketError(err, { action: "listen on", address })));
    server.listen({ host: options.hostname, port: options.port, exclusive: true }, () => {
      server.removeAllListeners("error");
      resolve(new NodeListener(server));
    });
  });
}

function connect(options: RuntimeConnectOptions): Promise<RuntimeConn> {
  const address = formatAddress(options);
  const { signal } = options;
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      host: options.hostname,
      port: options.port,
      allowHalfOpen: true,
      noDelay: true,
    });
    const onAbort = () => {
      socket.destroy();
      reject(new SocketError("EABORTED", `Cannot connect to ${address}: aborted`));
    };
    const onError = (err: Error) => {
      signal?.removeEventListener("abort", onAbort);
      reject(socketError(err, { action: "connect to", address }));
    };
    socket.once("error", onError);
    socket.once("connect", () => {
      socket.off("error", onError);
      signal?.removeEventListener("abort", onAbort);
      resolve(new NodeConn(socket));
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

// A plain Uint8Array, so that it compares equal to one, that pins no more
// memory than it holds: Deno's `node:dgram` hands out each datagram in a
// 64 KiB buffer of its own.
function ownedBytes(msg: Uint8Array): Uint8Array {
  if (msg.buffer.byteLength > 2 * msg.byteLength && msg.buffer.byteLength > 4096) return new Uint8Array(msg);
  return new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
}

// Replies push mode leaves with Node before it stops answering: each waits
// for its callback (a tick after the send at best), and holds its bytes.
const MAX_UNSENT_REPLIES = 64;

class NodeDatagramSocket implements RuntimeDatagramSocket {
  readonly addr: NetAddr;
  #socket: dgram.Socket;
  #address: string;
  #received = new DatagramQueue();
  #closed = false;
  #loop: AnswerLoop | null = null;
  #answerer: DatagramAnswerer | null = null;
  // What each unsent reply answered, two entries a reply (data, remote), in
  // send order: Node calls back in that order, with no closure per send.
  #unsent: (Uint8Array | NetAddr)[] = [];

  constructor(socket: dgram.Socket) {
    this.#socket = socket;
    const bound = socket.address();
    this.addr = { transport: "udp", hostname: bound.address, port: bound.port };
    this.#address = formatAddress(this.addr);
    socket.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => this.#onMessage(msg, rinfo));
    // Sends report their errors to their callbacks; whatever else Node emits
    // (nothing a peer does should) must not become an uncaught exception.
    socket.on("error", () => {});
  }

  /** Datagrams dropped because the queue was full. */
  get dropped(): number {
    return this.#received.dropped;
  }

  #onMessage(msg: Uint8Array, rinfo: dgram.RemoteInfo): void {
    if (this.#closed) return;
    const data = ownedBytes(msg);
    const remote: NetAddr = { transport: "udp", hostname: rinfo.address, port: rinfo.port };
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
    this.#answerer = answerer;
    const loop = new AnswerLoop(
      answerer,
      this.#received,
      (reply, data, remote) => this.#sendReply(reply, data, remote),
    );
    this.#loop = loop;
    if (this.#closed) loop.close();
    else loop.resume();
    return loop.finished;
  }

  #sendReply(reply: string | Uint8Array, data: Uint8Array, remote: NetAddr): boolean {
    this.#unsent.push(data, remote);
    try {
      // A string goes as it is: Node encodes it in C++.
      this.#socket.send(reply, remote.port, remote.hostname, this.#onSent);
    } catch (err) {
      this.#unsent.length -= 2;
      throw this.#sendError(err instanceof Error ? err : new Error(String(err)), remote);
    }
    return this.#unsent.length < 2 * MAX_UNSENT_REPLIES;
  }

  // Not named: see send().
  #onSent = (err: Error | null) => {
    const data = this.#unsent.shift() as Uint8Array;
    const remote = this.#unsent.shift() as NetAddr;
    if (err != null && !this.#closed) this.#answerer!.fail(this.#sendError(err, remote), data, remote);
    if (this.#unsent.length === 2 * (MAX_UNSENT_REPLIES - 1)) this.#loop!.resume();
  };

  send(data: Uint8Array, to: RuntimeAddrOptions): Promise<void> {
    if (this.#closed) return Promise.reject(closedError("send to", formatAddress(to)));
    return new Promise((resolve, reject) => {
      try {
        // The callback runs once libuv has handed the datagram to the kernel,
        // which takes it whole or fails (EMSGSIZE) without truncating. It is
        // not named: under tsx (esbuild's keepNames) a named closure costs a
        // defineProperty per datagram.
        this.#socket.send(data, to.port, to.hostname, (err: Error | null) => {
          if (err == null) resolve();
          else reject(this.#sendError(err, to));
        });
      } catch (err) {
        reject(this.#sendError(err instanceof Error ? err : new Error(String(err)), to));
      }
    });
  }

  // The address is formatted only for an error message.
  #sendError(err: Error, to: RuntimeAddrOptions): SocketError {
    if (this.#closed) return closedError("send to", formatAddress(to));
    return socketError(err, { action: "send to", address: formatAddress(to) });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#socket.close();
    } catch {
      // Already closed by Node: there is nothing left to close.
    }
    this.#received.close();
    this.#loop?.close();
  }
}

/**
 * Binds a UDP socket through `node:dgram`. Exported for the Deno adapter,
 * which falls back to it (through Deno's `node:dgram`) when
 * `Deno.listenDatagram` is missing.
 *
 * @example Binding through `node:dgram`
 * ```ts ignore
 * import { bindDatagram } from "./node.ts";
 *
 * const socket = await bindDatagram({ hostname: "127.0.0.1", port: 0 });
 * socket.close();
 * ```
 */
export async function bindDatagram(options: RuntimeAddrOptions): Promise<RuntimeDatagramSocket> {
  const address = formatAddress(options);
  // Looked up first, as `net`'s listen() does: the family of the address
  // found decides the socket's (dgram would look the name up in the
  // family it was created with).
  const hostname = await lookup(options.hostname, { action: "bind", port: options.port });
  return await new Promise((resolve, reject) => {
    let socket: dgram.Socket;
    try {
      socket = dgram.createSocket({ type: hostname.includes(":") ? "udp6" : "udp4" });
    } catch (err) {
      reject(socketError(err, { action: "bind", address }));
      return;
    }
    const onError = (err: Error) => {
      try {
        socket.close();
      } catch {
        // A socket that failed to bind may already count as closed.
      }
      reject(socketError(err, { action: "bind", address }));
    };
    socket.once("error", onError);
    socket.bind({ address: hostname, port: options.port, exclusive: true }, () => {
      socket.off("error", onError);
      resolve(new NodeDatagramSocket(socket));
    });
  });
}

/**
 * Resolves a host name through `dns.lookup()`, what `net` uses for TCP:
 * getaddrinfo, the hosts file included. Exported for the Deno adapter's
 * `node:dgram` fallback.
 *
 * @example Looking up localhost
 * ```ts ignore
 * import { lookup } from "./node.ts";
 *
 * console.log(await lookup("localhost", { action: "bind", port: 0 })); // 127.0.0.1 (or ::1)
 * ```
 */
export const lookup: Runtime["lookup"] = nameLookup(async (hostname, family) => {
  return (await dns.promises.lookup(hostname, { family })).address;
});

/**
 * Sockets on Node through `node:net` and `node:dgram`.
 *
 * @example Listening through the Node adapter
 * ```ts ignore
 * import { nodeRuntime } from "./node.ts";
 *
 * const listener = await nodeRuntime.listen({ hostname: "127.0.0.1", port: 0 });
 * listener.close();
 * ```
 */
export const nodeRuntime: Runtime = { name: "node", listen, connect, bindDatagram, lookup };
