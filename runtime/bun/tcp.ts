/**
 * TCP on Bun: `Bun.listen` and `Bun.connect` behind the runtime contract,
 * except for a connect that may be given up on (see {@linkcode connect}).
 *
 * @module
 */

import type { AddrOptions, ConnEvents, ListenerEvents, NetAddr, RawConn, RawListener } from "../contract.ts";
import { formatAddress, SocketError } from "../../socket_error.ts";
import { isWildcard } from "../../addr.ts";
import { bun, type BunListener, type BunSocket, type BunSocketHandler } from "./types.ts";
import { lookup } from "./dns.ts";
import { utf8Length } from "../../utf8_length.ts";

const encoder = new TextEncoder();

function tcpAddr(hostname: string, port: number): NetAddr {
  return { transport: "tcp", hostname, port };
}

// Bun gives no error for a write to a socket it has closed: this one says what happened.
function brokenPipe(remote: NetAddr): SocketError {
  return new SocketError("EPIPE", `Cannot write to ${formatAddress(remote)}: connection closed by peer`);
}

class BunConn implements RawConn {
  readonly localAddr: NetAddr;
  readonly remoteAddr: NetAddr;
  #socket: BunSocket<BunConn>;
  #events: ConnEvents | undefined = undefined;
  // What happened before start(), replayed by it.
  #early: ((events: ConnEvents) => void)[] | undefined = undefined;
  // The part of a write the kernel has not taken yet: Bun keeps none of it.
  #pending: Uint8Array | undefined = undefined;
  // Nothing more is reported: close() was called, or error() was reported.
  #done = false;
  #ended = false;
  // Bun has closed the socket (both FINs, a reset, a failure, or close()).
  #gone = false;
  // Inside socket.write(), which may close the socket and report it at once.
  #writing = false;

  constructor(socket: BunSocket<BunConn>, local?: NetAddr) {
    this.#socket = socket;
    socket.data = this;
    // Bun sets TCP_NODELAY by default; the contract requires it, so it is not left to a default.
    socket.setNoDelay(true);
    this.localAddr = local ?? tcpAddr(socket.localAddress, socket.localPort);
    this.remoteAddr = tcpAddr(socket.remoteAddress, socket.remotePort);
  }

  #report(call: (events: ConnEvents) => void): void {
    if (this.#events !== undefined) call(this.#events);
    else (this.#early ??= []).push(call);
  }

  #fail(cause: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#pending = undefined;
    // Not from inside write(): its caller learns of the failure after it returns.
    if (this.#writing) queueMicrotask(() => this.#report((events) => events.error(cause)));
    else this.#report((events) => events.error(cause));
  }

  /** Handlers for every socket of a listener or a connect; each finds its connection in `socket.data`. */
  static handlers(open: (socket: BunSocket<BunConn>) => void): BunSocketHandler<BunConn> {
    return {
      // A plain Uint8Array, lent to the receiver (see ConnEvents.data).
      binaryType: "uint8array",
      open,
      data: (socket, chunk) => {
        if (socket.data !== undefined) socket.data.#onData(chunk);
      },
      drain: (socket) => {
        if (socket.data !== undefined) socket.data.#onDrain();
      },
      end: (socket) => {
        if (socket.data !== undefined) socket.data.#onEnd();
      },
      // Bun reports a reset or a failed read here, as the argument.
      close: (socket, error) => {
        if (socket.data !== undefined) socket.data.#onClose(error);
      },
      error: (socket, error) => {
        if (socket.data !== undefined) socket.data.#fail(error);
        socket.end();
      },
    };
  }

  #onData(chunk: Uint8Array): void {
    if (this.#done) return;
    const events = this.#events;
    if (events !== undefined) events.data(chunk);
    else {
      // Kept until start(): a copy, as the chunk is only lent.
      const kept = chunk.slice();
      (this.#early ??= []).push((events) => events.data(kept));
    }
  }

  #onEnd(): void {
    if (this.#done || this.#ended) return;
    this.#ended = true;
    this.#report((events) => events.end());
  }

  #onClose(error: Error | undefined): void {
    this.#gone = true;
    if (error !== undefined) this.#fail(error);
    // A write still waiting will never be taken.
    else if (this.#pending !== undefined) this.#fail(brokenPipe(this.remoteAddr));
    else this.#onEnd();
  }

  #onDrain(): void {
    const pending = this.#pending;
    if (this.#done || pending === undefined) return;
    const taken = this.#write(pending);
    if (taken < 0) return;
    if (taken < pending.byteLength) {
      this.#pending = pending.subarray(taken);
      return;
    }
    this.#pending = undefined;
    this.#events?.drain();
  }

  // The bytes the kernel took, or -1 once the socket is gone (reported).
  #write(data: Uint8Array | string): number {
    this.#writing = true;
    const taken = this.#socket.write(data);
    if (taken < 0) {
      this.#gone = true;
      this.#fail(brokenPipe(this.remoteAddr));
    }
    this.#writing = false;
    return taken;
  }

  start(events: ConnEvents): void {
    this.#events = events;
    const early = this.#early;
    this.#early = undefined;
    if (early !== undefined) { for (const call of early) call(events); }
  }

  pause(): void {
    if (!this.#gone) this.#socket.pause();
  }

  resume(): void {
    if (!this.#gone) this.#socket.resume();
  }

  write(data: Uint8Array | string): boolean {
    if (this.#done) return true;
    const taken = this.#write(data);
    if (taken < 0) return false;
    const length = typeof data === "string" ? utf8Length(data) : data.byteLength;
    if (taken >= length) return true;
    // Only a partial write needs text as bytes, to keep the rest.
    this.#pending = (typeof data === "string" ? encoder.encode(data) : data).subarray(taken);
    return false;
  }

  closeWrite(): void {
    // shutdown() with no argument is shutdown(SHUT_WR): FIN, and reading goes on.
    if (!this.#done && !this.#gone) this.#socket.shutdown();
  }

  close(): void {
    if (this.#done && this.#gone) return;
    this.#done = true;
    this.#pending = undefined;
    this.#early = undefined;
    if (this.#gone) return;
    this.#gone = true;
    // Closes at once even with allowHalfOpen; terminate() would send a reset.
    this.#socket.end();
  }
}

class BunTcpListener implements RawListener {
  readonly addr: NetAddr;
  #server: BunListener;
  #events: ListenerEvents | undefined = undefined;
  #early: BunConn[] = [];
  // Every accepted connection's local address, unless bound to a wildcard.
  #local: NetAddr | undefined;
  #closed = false;

  constructor(hostname: string, port: number) {
    this.#server = bun().listen<BunConn>({
      hostname,
      port,
      // Without it Bun closes the socket at the peer's FIN.
      allowHalfOpen: true,
      // Bun sets SO_REUSEADDR either way; this asks it not to share the port where the OS would.
      exclusive: true,
      socket: BunConn.handlers((socket) => this.#onOpen(socket)),
    });
    this.addr = tcpAddr(hostname, this.#server.port);
    this.#local = isWildcard(hostname) ? undefined : this.addr;
  }

  #onOpen(socket: BunSocket<BunConn>): void {
    // Reset by its peer before it was accepted: Bun cannot name the peer,
    // and there is nothing to serve.
    if (!socket.remoteAddress) {
      socket.terminate();
      return;
    }
    // On a wildcard, each connection's local address is asked of the kernel.
    const conn = new BunConn(socket, this.#local);
    if (this.#events !== undefined) this.#events.conn(conn);
    else this.#early.push(conn);
  }

  start(events: ListenerEvents): void {
    this.#events = events;
    // Bun accepts on its own and reports no accept failure, so events.error never comes.
    for (const conn of this.#early.splice(0)) events.conn(conn);
  }

  // Bun accepts whether or not connections are wanted: the layer above
  // queues them.
  resume(): void {}

  pause(): void {}

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      // false: connections already accepted stay open.
      this.#server.stop(false);
      for (const conn of this.#early.splice(0)) conn.close();
    }
    return Promise.resolve();
  }
}

/**
 * Binds and listens with `Bun.listen`. A host name is looked up first, so
 * that `addr` is the IP literal bound (Bun's `hostname` echoes the name).
 *
 * @example Listening on loopback
 * ```ts ignore
 * import { listen } from "./tcp.ts";
 *
 * const listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * listener.start({ conn: (conn) => conn.close(), error: () => {} });
 * listener.close();
 * ```
 */
export async function listen(options: AddrOptions): Promise<RawListener> {
  const hostname = await lookup(options.hostname);
  if (hostname === undefined) {
    // Bun.listen() would say only "Failed to listen at <name>".
    throw new SocketError("ENOTFOUND", `Cannot listen on ${formatAddress(options)}: host not found`);
  }
  return new BunTcpListener(hostname, options.port);
}

/**
 * Connects with `Bun.connect`. With a `signal`, through `node:net` instead
 * (the Node adapter's `connect`): `Bun.connect()` cannot be cancelled, so an
 * attempt given up on would keep its descriptor, and the process alive,
 * until the kernel ended it (minutes for a peer that drops SYNs).
 *
 * @example Connecting to a listener
 * ```ts ignore
 * import { connect, listen } from "./tcp.ts";
 *
 * const listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * listener.start({ conn: (conn) => conn.close(), error: () => {} });
 * const conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * conn.close();
 * listener.close();
 * ```
 */
export async function connect(options: AddrOptions): Promise<RawConn> {
  const { signal } = options;
  if (signal !== undefined) {
    signal.throwIfAborted();
    // Loaded only when needed; a signal that fired meanwhile would not reach it.
    const node = await import("../node/tcp.ts");
    signal.throwIfAborted();
    return node.connect(options);
  }
  const socket = await bun().connect<BunConn>({
    hostname: options.hostname,
    port: options.port,
    allowHalfOpen: true,
    // The connection exists from `open` on, so bytes that arrive before the
    // promise settles are kept for start().
    socket: BunConn.handlers((socket) => void new BunConn(socket)),
  });
  return socket.data ?? new BunConn(socket);
}
