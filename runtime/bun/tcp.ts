/**
 * TCP and Unix sockets on Bun: `Bun.listen` and `Bun.connect` behind the
 * runtime contract, over TLS when asked (see `tls.ts`), except for a TCP
 * connect that may be given up on (see {@linkcode connect}).
 *
 * @module
 */

import type { Addr, ConnectSpec, ListenerEvents, ListenSpec, RawConn, RawListener } from "../contract.ts";
import { formatAddress, SocketError } from "../../socket_error.ts";
import { isWildcard } from "../../addr.ts";
import { bun, type BunListener, type BunSocket } from "./types.ts";
import { lookup } from "./dns.ts";
import { BunConn, type HandshakeJudge } from "./conn.ts";
import { connectTls, describe, handshakeTimeout, serverJudge, serverOptions } from "./tls.ts";
// Bun has no file API for sockets: node:fs serves, as in the Node adapter.
import { removeOwnFile, type SocketFile, socketFileAt } from "../node/unix.ts";

const UNNAMED: Addr = { transport: "unix", path: "" };

interface ServerTls {
  judge: HandshakeJudge;
  timeout: number;
}

class BunStreamListener implements RawListener {
  readonly addr: Addr;
  #server: BunListener;
  #events: ListenerEvents | undefined = undefined;
  // What came before start(): connections, and failed handshakes.
  #early: ((events: ListenerEvents) => void)[] = [];
  // Every accepted connection's local address, unless bound to a wildcard.
  #local: Addr | undefined;
  #tls: ServerTls | undefined;
  // Connections whose handshake is under way, given up on close.
  #handshakes = new Set<BunConn>();
  #file: SocketFile | undefined = undefined;
  #closing: Promise<void> | undefined = undefined;

  constructor(spec: ListenSpec, hostname: string | undefined) {
    const tls = spec.tls;
    if (tls !== undefined) {
      this.#tls = { judge: serverJudge(tls.clientCaCerts !== undefined), timeout: tls.handshakeTimeout };
    }
    const common = {
      // Without it Bun closes the socket at the peer's FIN.
      allowHalfOpen: true,
      tls: tls === undefined ? undefined : serverOptions(tls),
      socket: BunConn.handlers((socket) => this.#onOpen(socket), tls !== undefined),
    };
    if ("path" in spec) {
      this.#server = bun().listen<BunConn>({ unix: spec.path, ...common });
      this.addr = { transport: "unix", path: spec.path };
      this.#local = this.addr;
    } else {
      this.#server = bun().listen<BunConn>({
        hostname: hostname!,
        port: spec.port,
        ipv6Only: spec.ipv6Only,
        // Bun sets SO_REUSEADDR either way; this asks it not to share the port where the OS would.
        exclusive: true,
        ...common,
      });
      this.addr = { transport: "tcp", hostname: hostname!, port: this.#server.port };
      this.#local = isWildcard(hostname!) ? undefined : this.addr;
    }
  }

  /** Notes which file is the socket bound, so that close() removes that one only. */
  async identify(path: string): Promise<void> {
    this.#file = await socketFileAt(path).catch(() => undefined);
  }

  #report(call: (events: ListenerEvents) => void): void {
    if (this.#events !== undefined) call(this.#events);
    else this.#early.push(call);
  }

  #onOpen(socket: BunSocket<BunConn>): void {
    let conn: BunConn;
    const unix = this.addr.transport === "unix";
    // Reset by its peer before it was accepted: Bun cannot name the peer,
    // and there is nothing to serve. (Bun names no peer of a Unix socket.)
    if (!unix && !socket.remoteAddress) {
      socket.terminate();
      return;
    }
    const tls = this.#tls;
    const remote: Addr | undefined = unix ? UNNAMED : undefined;
    if (tls === undefined) {
      // On a wildcard, each connection's local address is asked of the kernel.
      conn = new BunConn(socket, { local: this.#local, remote });
      this.#report((events) => events.conn(conn));
      return;
    }
    conn = new BunConn(socket, { local: this.#local, remote, judge: tls.judge });
    const action = `complete a TLS handshake with ${describe(conn.remoteAddr)}`;
    // One timer per handshake: a stalled client holds up no other.
    const timer = setTimeout(() => conn.abortHandshake(handshakeTimeout(action, tls.timeout)), tls.timeout);
    this.#handshakes.add(conn);
    conn.handshakeDone!.then(() => {
      clearTimeout(timer);
      this.#handshakes.delete(conn);
      if (this.#closing !== undefined) conn.close();
      else this.#report((events) => events.conn(conn));
    }, (err) => {
      clearTimeout(timer);
      this.#handshakes.delete(conn);
      if (this.#closing === undefined) this.#report((events) => events.handshakeError(err, conn.remoteAddr));
    });
  }

  start(events: ListenerEvents): void {
    this.#events = events;
    // Bun accepts on its own and reports no accept failure, so events.error never comes.
    for (const call of this.#early.splice(0)) call(events);
  }

  // Bun accepts whether or not connections are wanted: the layer above
  // queues them.
  resume(): void {}

  pause(): void {}

  close(): Promise<void> {
    if (this.#closing === undefined) {
      // false: connections already accepted stay open.
      this.#server.stop(false);
      const closed = new SocketError("ECLOSED", "Cannot complete a TLS handshake: socket is closed");
      for (const conn of this.#handshakes) conn.abortHandshake(closed);
      const early = this.#early.splice(0);
      // Connections not yet reported are closed by reporting them to a stand-in.
      for (const call of early) {
        call({ conn: (conn) => conn.close(), error: () => {}, handshakeError: () => {} });
      }
      this.#closing = this.addr.transport === "unix"
        ? (this.#file === undefined ? Promise.resolve() : removeOwnFile(this.#file))
        : Promise.resolve();
    }
    return this.#closing;
  }
}

/**
 * Binds and listens with `Bun.listen`, on a TCP address or a Unix socket's
 * path, over TLS with `spec.tls`. A host name is looked up first, so that
 * `addr` is the IP literal bound (Bun's `hostname` echoes the name).
 *
 * @example Listening on loopback
 * ```ts ignore
 * import { listen } from "./tcp.ts";
 *
 * const listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * listener.start({ conn: (conn) => conn.close(), error: () => {}, handshakeError: () => {} });
 * await listener.close();
 * ```
 */
export async function listen(spec: ListenSpec): Promise<RawListener> {
  if ("path" in spec) {
    const listener = new BunStreamListener(spec, undefined);
    await listener.identify(spec.path);
    return listener;
  }
  const hostname = await lookup(spec.hostname);
  if (hostname === undefined) {
    // Bun.listen() would say only "Failed to listen at <name>".
    throw new SocketError("ENOTFOUND", `Cannot listen on ${formatAddress(spec)}: host not found`);
  }
  return new BunStreamListener(spec, hostname);
}

/**
 * Connects with `Bun.connect`, over TLS when `options.tls` is given (see
 * `tls.ts`). A TCP connect with a `signal` goes through `node:net` instead
 * (the Node adapter's `connect`): `Bun.connect()` cannot be cancelled, so an
 * attempt given up on would keep its descriptor, and the process alive,
 * until the kernel ended it (minutes for a peer that drops SYNs). A Unix
 * socket's connect never waits on a peer, so the signal is checked around it.
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
export async function connect(options: ConnectSpec): Promise<RawConn> {
  const { signal } = options;
  signal?.throwIfAborted();
  if (options.tls !== undefined) return connectTls(options, options.tls);
  if ("path" in options) {
    const remote: Addr = { transport: "unix", path: options.path };
    const socket = await bun().connect<BunConn>({
      unix: options.path,
      allowHalfOpen: true,
      socket: BunConn.handlers((socket) =>
        void new BunConn(socket, { local: { transport: "unix", path: "" }, remote })
      ),
    });
    const conn = socket.data!;
    if (signal?.aborted) {
      conn.close();
      signal.throwIfAborted();
    }
    return conn;
  }
  if (signal !== undefined) {
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
