/**
 * A TCP server: accept, limits, idle timeouts and graceful shutdown around
 * a per-connection handler.
 *
 * @module
 */

import type { Addr, NetAddr, UnixAddr } from "../runtime/contract.ts";
import { startServer } from "./_tcp_server.ts";
import type { Conn } from "./conn.ts";
import type { Listener, ListenOptions } from "./listen.ts";

/** Options for {@linkcode serve}. */
export interface ServeOptions<A extends Addr = NetAddr> extends ListenOptions {
  /** Serve connections from this listener instead of opening one. */
  listener?: Listener<A>;
  /**
   * The most connections served at once; past it, new connections are
   * turned away as soon as they are accepted, with an end of stream that no
   * reset cuts short (see `close()`), and counted as rejected. At most 64
   * wait for their end of stream at a time; past that, a flood is closed at
   * once, which the kernel turns into a reset for a client that had sent
   * bytes. Defaults to
   * 16384: thousands of clients need no setting (the OS file limit may).
   */
  maxConnections?: number;
  /**
   * Closes a connection after this many milliseconds with no bytes moving
   * either way. Defaults to 0: no idle timeout.
   */
  idleTimeout?: number;
  /**
   * After shutdown starts, how long connections get to finish before they
   * are closed by force: `serveLines()` answers every line a client sends
   * until the client ends its stream, and `serve()` handlers see their
   * context's signal fire. Defaults to 10000 ms.
   */
  gracefulTimeout?: number;
  /**
   * Hears about a connection that failed (its handler threw, or the peer
   * reset), with that connection, or about a failed accept (such as running
   * out of file descriptors), with no connection. The server carries on
   * either way. Defaults to one line on stderr.
   */
  onError?: (error: unknown, conn?: Conn<A>) => void;
  /** Starts a graceful shutdown when it fires. */
  signal?: AbortSignal;
}

/** What a handler gets besides its connection. */
export interface ServeContext {
  /**
   * Fires when shutdown starts: finish the request in hand, then return.
   * Pass it to `readLine()` and friends so waiting for a next request ends
   * at once; bytes the client sent stay unread then. A handler that should
   * answer everything a client sends until it ends its stream reads without
   * it, and the server closes its connection when `gracefulTimeout` ends.
   */
  signal: AbortSignal;
}

/** Serves one connection; the server closes it when this returns or throws. */
export type ConnHandler<A extends Addr = NetAddr> = (conn: Conn<A>, context: ServeContext) => void | Promise<void>;

/** A snapshot of a server's counters. */
export interface ServerStats {
  /** Connections being served now. */
  open: number;
  /** Connections accepted since the start, rejected ones included. */
  accepted: number;
  /** Connections turned away at once because `maxConnections` were open. */
  rejected: number;
  /** Bytes received from all connections. */
  bytesIn: number;
  /** Bytes sent to all connections. */
  bytesOut: number;
}

/** Options for {@linkcode Server.close}. */
export interface CloseOptions {
  /** Close every connection now instead of letting handlers finish. */
  force?: boolean;
}

/** A running server, on a TCP port or a Unix socket. */
export interface Server<A extends Addr = NetAddr> extends AsyncDisposable {
  /** The address it listens on. */
  readonly addr: A;
  /** The live counters. */
  readonly stats: ServerStats;
  /** Resolves once shutdown is over and the last handler has returned. */
  readonly finished: Promise<void>;
  /**
   * Stops accepting and shuts down gracefully: handlers see their context's
   * signal fire, finish, and return; connections still open after
   * `gracefulTimeout` are closed by force. A connection whose handler is
   * done is half-closed, and what the client still sends is read away until
   * it ends its stream too (for at most two seconds), so that no reset
   * destroys replies on their way. `{ force: true }` closes them all now (a
   * second Ctrl-C). Resolves with `finished`.
   */
  close(options?: CloseOptions): Promise<void>;
}

/**
 * Serves connections (TCP, a Unix socket with `path`, TLS with `tls`): calls `handler(conn, context)` for each one,
 * concurrently, within `maxConnections`, with idle timeouts and graceful
 * shutdown. A handler that throws, or a peer that resets, ends that
 * connection only; the error goes to `onError`.
 *
 * @example An echo server that shuts down gracefully
 * ```ts
 * import { connect, serve } from "../mod.ts";
 *
 * const server = await serve({ hostname: "127.0.0.1", port: 0 }, async (conn, { signal }) => {
 *   for (let line = await conn.readLine({ signal }); line !== null; line = await conn.readLine({ signal })) {
 *     await conn.write(line + "\n");
 *   }
 * });
 * await using conn = await connect({ port: server.addr.port });
 * await conn.write("echo\n");
 * if ((await conn.readLine()) !== "echo") throw new Error("no echo");
 * await server.close();
 * ```
 */
export function serve(
  options: ServeOptions<UnixAddr> & { path: string },
  handler: ConnHandler<UnixAddr>,
): Promise<Server<UnixAddr>>;
/** Serves TCP connections: see the signature above. */
export function serve(options: ServeOptions, handler: ConnHandler): Promise<Server>;
/** Both signatures above, in one: the server is the same for either kind of address. */
export function serve(
  options: ServeOptions<UnixAddr> | ServeOptions,
  handler: ConnHandler<UnixAddr> | ConnHandler,
): Promise<Server<Addr>> {
  // One server for both: what it passes matches what `options` asked for.
  return startServer(options as ServeOptions<Addr>, handler as ConnHandler<Addr>, undefined);
}
