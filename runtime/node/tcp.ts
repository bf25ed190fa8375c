/**
 * TCP and Unix domain sockets through `node:net`, behind the runtime
 * contract. Bun's adapter uses `connect` from here for connects with a
 * signal (`Bun.connect()` cannot be cancelled, Bun's `node:net` can), so it
 * touches `node:*` modules only.
 *
 * @module
 */

import * as net from "node:net";
import { isWildcard } from "../../addr.ts";
import type { Addr, ConnectSpec, ListenerEvents, ListenSpec, RawConn, RawListener } from "../contract.ts";
import { type ConnAddrs, netAddr, NodeConn, unixAddr } from "./conn.ts";
import { removeOwnFile, type SocketFile, socketFileAt } from "./unix.ts";

/** Where a listener's accepted sockets go once they are connections, or failed to become one. */
export interface AcceptSink {
  /** A connection, ready to report. */
  conn(conn: NodeConn): void;
  /** A TLS handshake failed; its socket is closed. */
  handshakeError(cause: unknown, remoteAddr: Addr | undefined): void;
}

/** What takes a listener's accepted sockets and makes connections of them (see {@linkcode Acceptor}). */
export interface Taker {
  /** Takes an accepted socket, with the addresses it cannot tell (a Unix socket's). */
  take(socket: net.Socket, addrs: ConnAddrs): void;
  /** The listener is closing: closes the sockets that are not connections yet. */
  close(): void;
}

/**
 * Turns a listener's accepted sockets into connections, as TLS does after
 * its handshake: given the sink, returns what takes each socket.
 */
export type Acceptor = (sink: AcceptSink) => Taker;

type Early = { conn: NodeConn } | { error: unknown; remoteAddr?: Addr; handshake?: true };

class NodeListener implements RawListener {
  readonly addr: Addr;
  #server: net.Server;
  #events: ListenerEvents | undefined = undefined;
  // What came before start(): connections, and failures to accept.
  #early: Early[] | undefined = [];
  #closed = false;
  // The socket file this listener made, to remove on close (Unix).
  #file: SocketFile | undefined;
  #taker: Taker | undefined;

  constructor(server: net.Server, file: SocketFile | undefined, acceptor: Acceptor | undefined) {
    this.#server = server;
    this.#file = file;
    let addrs: ConnAddrs = {};
    if (file !== undefined) {
      // Node cannot tell a Unix socket's addresses; clients are unnamed.
      this.addr = unixAddr(file.path);
      addrs = { localAddr: this.addr, remoteAddr: unixAddr("") };
    } else {
      const bound = server.address() as net.AddressInfo;
      this.addr = netAddr(bound.address, bound.port);
      // On a wildcard, each connection's local address depends on the
      // interface it came in by, so it is read per connection.
      if (!isWildcard(this.addr.hostname)) addrs = { localAddr: this.addr };
    }
    const taker = this.#taker = acceptor?.({
      conn: (conn) => this.#report({ conn }),
      handshakeError: (error, remoteAddr) => this.#report({ error, remoteAddr, handshake: true }),
    });
    server.on("connection", (socket: net.Socket) => {
      // Reset by its peer before it was accepted (a port scan, a health
      // check): Node leaves the peer's address undefined, and there is
      // nothing to serve.
      if ((file === undefined && socket.remoteAddress === undefined) || socket.destroyed) {
        socket.destroy();
        return;
      }
      if (taker !== undefined) taker.take(socket, addrs);
      else this.#report({ conn: new NodeConn(socket, addrs) });
    });
    // After listening, Node reports only failures to accept here (EMFILE):
    // the server goes on listening.
    server.on("error", (error) => this.#report({ error }));
  }

  #report(item: Early): void {
    if (this.#closed) {
      if ("conn" in item) item.conn.close();
    } else if (this.#early !== undefined) {
      this.#early.push(item);
    } else if ("conn" in item) {
      this.#events!.conn(item.conn);
    } else if (item.handshake) {
      this.#events!.handshakeError(item.error, item.remoteAddr);
    } else {
      this.#events!.error(item.error);
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
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const item of this.#early ?? []) if ("conn" in item) item.conn.close();
    this.#early = undefined;
    this.#server.close();
    this.#taker?.close();
    return this.#file === undefined ? Promise.resolve() : removeOwnFile(this.#file);
  }
}

/**
 * Listens on a TCP address or a Unix socket's path through `node:net`;
 * `acceptor` (TLS) turns accepted sockets into connections. Rejects with
 * Node's error (`EADDRINUSE`, say); a path that exists is `EADDRINUSE`.
 *
 * @example Listening on a free port
 * ```ts ignore
 * import { listen } from "./tcp.ts";
 *
 * const listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * listener.start({ conn: (conn) => conn.close(), error: () => {}, handshakeError: () => {} });
 * await listener.close();
 * ```
 */
export function listen(spec: ListenSpec, acceptor?: Acceptor): Promise<RawListener> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true });
    server.once("error", reject);
    const onListening = async () => {
      server.off("error", reject);
      if (!("path" in spec)) {
        resolve(new NodeListener(server, undefined, acceptor));
        return;
      }
      try {
        resolve(new NodeListener(server, await socketFileAt(spec.path), acceptor));
      } catch (err) {
        server.close();
        reject(err);
      }
    };
    if ("path" in spec) {
      server.listen({ path: spec.path, exclusive: true }, onListening);
    } else {
      // libuv sets IPV6_V6ONLY either way on an IPv6 address: Node's
      // default is dual-stack, whatever the OS's is.
      const { hostname: host, port, ipv6Only } = spec;
      server.listen({ host, port, exclusive: true, ipv6Only: ipv6Only ?? false }, onListening);
    }
  });
}

/**
 * Connects to a TCP address or a Unix socket's path through `node:net`;
 * `spec.signal` destroys the socket of an attempt still under way. Rejects
 * with Node's error (`ECONNREFUSED`, `ENOENT` for a missing path), or the
 * signal's reason. Takes no `tls` (see `connectTls` in `./tls.ts`).
 *
 * @example Connecting to a listener
 * ```ts ignore
 * import { connect, listen } from "./tcp.ts";
 *
 * const listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * listener.start({ conn: (conn) => conn.close(), error: () => {}, handshakeError: () => {} });
 * const conn = await connect({ hostname: "127.0.0.1", port: (listener.addr as { port: number }).port });
 * conn.close();
 * await listener.close();
 * ```
 */
export function connect(spec: ConnectSpec): Promise<RawConn> {
  const { signal } = spec;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const socket = "path" in spec
      ? net.connect({ path: spec.path, allowHalfOpen: true })
      : net.connect({ host: spec.hostname, port: spec.port, allowHalfOpen: true, noDelay: true });
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
      resolve(
        "path" in spec
          ? new NodeConn(socket, { localAddr: unixAddr(""), remoteAddr: unixAddr(spec.path) })
          : new NodeConn(socket),
      );
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
