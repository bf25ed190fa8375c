/**
 * TCP through `node:net`, behind the runtime contract. Bun's adapter uses
 * `connect` from here for connects with a signal (`Bun.connect()` cannot be
 * cancelled, Bun's `node:net` can), so it touches `node:*` modules only.
 *
 * @module
 */

import * as net from "node:net";
import { isWildcard } from "../../addr.ts";
import type { AddrOptions, ConnEvents, ListenerEvents, NetAddr, RawConn, RawListener } from "../contract.ts";
import { formatAddress, SocketError } from "../../socket_error.ts";

const EMPTY = new Uint8Array(0);

function netAddr(hostname: string | undefined, port: number | undefined): NetAddr {
  return { transport: "tcp", hostname: hostname ?? "", port: port ?? 0 };
}

class NodeConn implements RawConn {
  readonly localAddr: NetAddr;
  readonly remoteAddr: NetAddr;
  #socket: net.Socket;
  #events: ConnEvents | undefined = undefined;
  // A failure before start(), reported by start().
  #early: Error | undefined = undefined;
  #ended = false;
  // After error() or close(), nothing more is reported.
  #done = false;

  constructor(socket: net.Socket, localAddr?: NetAddr) {
    this.#socket = socket;
    // A no-op when the server's or connect's noDelay option already set it.
    socket.setNoDelay(true);
    this.localAddr = localAddr ?? netAddr(socket.localAddress, socket.localPort);
    this.remoteAddr = netAddr(socket.remoteAddress, socket.remotePort);
    // At once, so that nothing fails unheard. Bytes wait in the stream's
    // bounded buffer until start() adds the data listener, which makes the
    // stream flow.
    socket.on("error", (err) => this.#fail(err));
    socket.on("close", () => this.#onClose());
  }

  start(events: ConnEvents): void {
    this.#events = events;
    if (this.#early !== undefined) {
      this.#fail(this.#early);
      return;
    }
    const socket = this.#socket;
    // A plain view of the Buffer, which Node allocates per read: callers
    // get the same type on every runtime.
    socket.on("data", (chunk: Uint8Array) => {
      if (!this.#done) this.#events!.data(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    });
    socket.on("end", () => this.#onEnd());
  }

  // End of stream. libuv reports a reset that comes right after a partial
  // read as end of stream (it takes POLLHUP for EOF without reading), and
  // the reset stays pending on the socket: an empty write brings it out,
  // where a real end of stream lets it through. Not documented: pinned in
  // runtime/UNDOCUMENTED.md. Once this side has half-closed, the write is
  // refused; while a write is queued, the empty one would wait behind it
  // (for ever, with a peer that stopped reading), and the queued write
  // fails on a reset anyway: the end is taken as it comes then.
  #onEnd(): void {
    const socket = this.#socket;
    if (socket.writableEnded || socket.destroyed || socket.writableLength > 0) {
      this.#end();
      return;
    }
    // A failure comes as an error event too.
    socket.write(EMPTY, (err) => {
      if (err == null) this.#end();
    });
  }

  #end(): void {
    if (this.#done || this.#ended) return;
    this.#ended = true;
    this.#events!.end();
  }

  #fail(err: Error): void {
    if (this.#done) return;
    if (this.#events === undefined) {
      this.#early ??= err;
      return;
    }
    this.#done = true;
    this.#events.error(err);
  }

  // Closed by both sides having ended, or after an error: a stream not yet
  // ended has nothing more to give.
  #onClose(): void {
    if (this.#events !== undefined) this.#end();
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  write(data: Uint8Array | string): boolean {
    const socket = this.#socket;
    // Node would destroy the whole socket for a write after end(), losing
    // the read side: a caller's bug, said at once.
    if (socket.writableEnded) {
      throw new SocketError("EPIPE", `Cannot write to ${formatAddress(this.remoteAddr)}: write side is closed`);
    }
    // Destroyed by a failure whose error event is on its way (Node would
    // drop the bytes unsaid): that event is the answer.
    if (socket.destroyed) return false;
    socket.write(data);
    // Node counts a write as pending until libuv has handed all of it to
    // the kernel, which its try-write usually does at once.
    if (socket.writableLength === 0) return true;
    // An empty write queued behind calls back once all before it is written,
    // so Node holds this one write of ours at most. Node also calls back
    // without an error for a socket destroyed under it: no drain then.
    socket.write(EMPTY, (err) => {
      if (err == null && !this.#done && !socket.destroyed) this.#events!.drain();
    });
    return false;
  }

  closeWrite(): void {
    this.#socket.end();
  }

  close(): void {
    this.#done = true;
    this.#socket.destroy();
  }
}

class NodeListener implements RawListener {
  readonly addr: NetAddr;
  #server: net.Server;
  #events: ListenerEvents | undefined = undefined;
  // What came before start(): connections, and failures to accept.
  #early: (NodeConn | Error)[] | undefined = [];
  #closed = false;

  constructor(server: net.Server) {
    this.#server = server;
    const bound = server.address() as net.AddressInfo;
    this.addr = netAddr(bound.address, bound.port);
    // On a wildcard, each connection's local address depends on the
    // interface it came in by, so it is read per connection.
    const local = isWildcard(this.addr.hostname) ? undefined : this.addr;
    server.on("connection", (socket: net.Socket) => {
      // Reset by its peer before it was accepted (a port scan, a health
      // check): Node leaves the peer's address undefined, and there is
      // nothing to serve.
      if (socket.remoteAddress === undefined || socket.destroyed) {
        socket.destroy();
        return;
      }
      this.#report(new NodeConn(socket, local));
    });
    // After listening, Node reports only failures to accept here (EMFILE):
    // the server goes on listening.
    server.on("error", (err) => this.#report(err));
  }

  #report(item: NodeConn | Error): void {
    if (this.#closed) {
      if (item instanceof NodeConn) item.close();
    } else if (this.#early !== undefined) {
      this.#early.push(item);
    } else if (item instanceof NodeConn) {
      this.#events!.conn(item);
    } else {
      this.#events!.error(item);
    }
  }

  start(events: ListenerEvents): void {
    this.#events = events;
    const early = this.#early ?? [];
    this.#early = undefined;
    for (const item of early) this.#report(item);
  }

  // Node accepts whether or not connections are wanted: the layer above
  // queues them.
  resume(): void {}

  pause(): void {}

  // Node's close() stops listening at once; its callback waits for the
  // accepted connections too, which stay open.
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const item of this.#early ?? []) if (item instanceof NodeConn) item.close();
      this.#early = undefined;
      this.#server.close();
    }
    return Promise.resolve();
  }
}

/**
 * Listens on `options.hostname` and `options.port` through `node:net`.
 * Rejects with Node's error (`EADDRINUSE`, say).
 *
 * @example Listening on a free port
 * ```ts ignore
 * import { listen } from "./tcp.ts";
 *
 * const listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * listener.start({ conn: (conn) => conn.close(), error: () => {} });
 * listener.close();
 * ```
 */
export function listen(options: AddrOptions): Promise<RawListener> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true });
    server.once("error", reject);
    server.listen({ host: options.hostname, port: options.port, exclusive: true }, () => {
      server.off("error", reject);
      resolve(new NodeListener(server));
    });
  });
}

/**
 * Connects through `node:net`; `options.signal` destroys the socket of an
 * attempt still under way. Rejects with Node's error (`ECONNREFUSED`, say),
 * or the signal's reason.
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
export function connect(options: AddrOptions): Promise<RawConn> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: options.hostname, port: options.port, allowHalfOpen: true, noDelay: true });
    const onAbort = () => {
      socket.destroy();
      reject(signal!.reason);
    };
    const onError = (err: Error) => {
      signal?.removeEventListener("abort", onAbort);
      reject(err);
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
