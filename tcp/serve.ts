/**
 * A TCP server: accept, limits, idle timeouts and graceful shutdown around
 * a per-connection handler.
 *
 * @module
 */

import type { NetAddr } from "../runtime/types.ts";
import { SocketError } from "../socket_error.ts";
import { TcpConn } from "./_tcp_conn.ts";
import type { Conn } from "./conn.ts";
import { Link, LinkList } from "./_link_list.ts";
import { TcpListener } from "./_tcp_listener.ts";
import { listen, type Listener, type ListenOptions } from "./listen.ts";

/** Options for {@linkcode serve}. */
export interface ServeOptions extends ListenOptions {
  /** Serve connections from this listener instead of opening one. */
  listener?: Listener;
  /**
   * The most connections served at once; past it, new connections are
   * closed as soon as they are accepted and counted as rejected. Defaults to
   * 16384: thousands of clients need no setting (the OS file limit may).
   */
  maxConnections?: number;
  /**
   * Closes a connection after this many milliseconds with no bytes moving
   * either way. Defaults to 0: no idle timeout.
   */
  idleTimeout?: number;
  /**
   * After shutdown starts, how long handlers get to finish the request in
   * hand before their connections are closed by force. Defaults to 10000 ms.
   */
  gracefulTimeout?: number;
  /**
   * Hears about a connection that failed (its handler threw, or the peer
   * reset), with that connection, or about a failed accept (such as running
   * out of file descriptors), with no connection. The server carries on
   * either way. Defaults to one line on stderr.
   */
  onError?: (error: unknown, conn?: Conn) => void;
  /** Starts a graceful shutdown when it fires. */
  signal?: AbortSignal;
}

/** What a handler gets besides its connection. */
export interface ServeContext {
  /**
   * Fires when shutdown starts: finish the request in hand, then return.
   * Pass it to `readLine()` and friends so waiting for a next request ends.
   */
  signal: AbortSignal;
}

/** Serves one connection; the server closes it when this returns or throws. */
export type ConnHandler = (conn: Conn, context: ServeContext) => void | Promise<void>;

/** A snapshot of a server's counters. */
export interface ServerStats {
  /** Connections being served now. */
  open: number;
  /** Connections accepted since the start, rejected ones included. */
  accepted: number;
  /** Connections closed at once because `maxConnections` were open. */
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

/** A running TCP server. */
export interface Server extends AsyncDisposable {
  /** The address it listens on. */
  readonly addr: NetAddr;
  /** The live counters. */
  readonly stats: ServerStats;
  /** Resolves once shutdown is over and the last handler has returned. */
  readonly finished: Promise<void>;
  /**
   * Stops accepting and shuts down gracefully: handlers see their context's
   * signal fire, finish the request in hand, and return; connections still
   * open after `gracefulTimeout` are closed by force. `{ force: true }`
   * closes them all now (a second Ctrl-C). Resolves with `finished`.
   */
  close(options?: CloseOptions): Promise<void>;
}

// A connection being served: its place in the server's list of them.
class Served extends Link<Conn> {
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  // Set when the server itself closed the connection (idle, or forced):
  // the handler's resulting ECLOSED is no fault worth reporting.
  closedByServer = false;
}

function reportToStderr(error: unknown): void {
  console.error(error instanceof Error ? error.message : String(error));
}

interface ServeLimits {
  maxConnections: number;
  idleTimeout: number;
  gracefulTimeout: number;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new SocketError("EINVAL", `Cannot serve: ${name} must be a non-negative integer, got ${value}`);
  }
  return value;
}

class TcpServer implements Server {
  readonly addr: NetAddr;
  readonly finished: Promise<void>;
  #listener: Listener;
  #handler: ConnHandler;
  #maxConnections: number;
  #idleTimeout: number;
  #gracefulTimeout: number;
  #onError: (error: unknown, conn?: Conn) => void;
  #signal: AbortSignal | undefined;
  // The connections being served: a list (see _link_list.ts), not a Map.
  #served = new LinkList<Conn>();
  #shutdown = new AbortController();
  #context: ServeContext = { signal: this.#shutdown.signal };
  #accepting: Promise<void>;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #drained: () => void = () => {};
  #accepted = 0;
  #acceptDelay = 0;
  #rejected = 0;
  #bytesIn = 0;
  #bytesOut = 0;
  #onAbort = () => void this.close();

  constructor(listener: Listener, options: ServeOptions & ServeLimits, handler: ConnHandler) {
    this.#listener = listener;
    this.addr = listener.addr;
    this.#handler = handler;
    this.#maxConnections = options.maxConnections;
    this.#idleTimeout = options.idleTimeout;
    this.#gracefulTimeout = options.gracefulTimeout;
    this.#onError = options.onError ?? reportToStderr;
    this.#signal = options.signal;
    // Pushed connections when the runtime can, for no promise per connection.
    const pushed = listener instanceof TcpListener ? listener.acceptEach(this.#admit) : undefined;
    this.#accepting = pushed ?? this.#acceptLoop();
    const drained = new Promise<void>((resolve) => (this.#drained = resolve));
    this.finished = Promise.all([this.#accepting, drained]).then(() => {
      clearTimeout(this.#graceTimer);
      this.#signal?.removeEventListener("abort", this.#onAbort);
    });
    if (this.#signal?.aborted) void this.close();
    else this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  get stats(): ServerStats {
    let bytesIn = this.#bytesIn;
    let bytesOut = this.#bytesOut;
    for (let served = this.#served.first; served !== undefined; served = served.next) {
      bytesIn += served.value.bytesRead;
      bytesOut += served.value.bytesWritten;
    }
    return { open: this.#served.size, accepted: this.#accepted, rejected: this.#rejected, bytesIn, bytesOut };
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Conn;
      try {
        conn = await this.#listener.accept();
      } catch (err) {
        if (err instanceof SocketError && err.code === "ECLOSED") return;
        // A failed accept (EMFILE, ECONNABORTED) is no reason to stop
        // serving: report it and back off, as Go's net/http does.
        this.#report(err, undefined);
        this.#acceptDelay = Math.min(Math.max(this.#acceptDelay * 2, 5), 1000);
        await new Promise((resolve) => setTimeout(resolve, this.#acceptDelay));
        continue;
      }
      this.#acceptDelay = 0;
      this.#admit(conn);
    }
  }

  // Serves a connection just accepted, or turns it away. An arrow function,
  // so that a listener can call it: it is made once per server.
  #admit = (conn: Conn): void => {
    this.#accepted++;
    if (this.#served.size >= this.#maxConnections || this.#shutdown.signal.aborted) {
      this.#rejected++;
      conn.close();
      return;
    }
    this.#serve(conn);
  };

  #serve(conn: Conn): void {
    const served = new Served(conn);
    this.#served.add(served);
    if (this.#idleTimeout > 0 && conn instanceof TcpConn) this.#watchIdle(conn, served, this.#idleTimeout);
    let running: Promise<void>;
    try {
      running = Promise.resolve(this.#handler(conn, this.#context));
    } catch (err) {
      running = Promise.reject(err);
    }
    // One reaction, not a catch() and a finally() chain: this is held for as
    // long as the connection is open, and there may be many thousands.
    running.then(() => this.#finish(conn, served), (err) => {
      try {
        if (served.closedByServer) {
          // The server closed it (idle, or forced): its ECLOSED is no fault.
        } else if (err instanceof SocketError && err.code === "EABORTED" && this.#shutdown.signal.aborted) {
          // Shutting down between requests: nothing is owed.
        } else {
          this.#report(err, conn);
        }
      } finally {
        this.#finish(conn, served);
      }
    });
  }

  #finish(conn: Conn, served: Served): void {
    clearTimeout(served.timer);
    conn.close();
    this.#bytesIn += conn.bytesRead;
    this.#bytesOut += conn.bytesWritten;
    this.#served.remove(served);
    if (this.#served.size === 0 && this.#shutdown.signal.aborted) this.#drained();
  }

  // A user's onError that throws must not take the server down.
  #report(err: unknown, conn: Conn | undefined): void {
    try {
      this.#onError(err, conn);
    } catch (thrown) {
      reportToStderr(thrown);
    }
  }

  // One timer per connection, re-armed lazily: activity only stamps a time.
  #watchIdle(conn: TcpConn, served: Served, idle: number): void {
    conn.trackActivity();
    const check = () => {
      const quiet = performance.now() - conn.lastActivity;
      if (quiet >= idle) {
        served.closedByServer = true;
        conn.close();
      } else {
        served.timer = setTimeout(check, idle - quiet);
      }
    };
    served.timer = setTimeout(check, idle);
  }

  close(options?: CloseOptions): Promise<void> {
    if (!this.#shutdown.signal.aborted) {
      this.#listener.close();
      this.#shutdown.abort();
      if (this.#served.size === 0) this.#drained();
      else this.#graceTimer = setTimeout(() => this.#closeAll(), this.#gracefulTimeout);
    }
    if (options?.force) this.#closeAll();
    return this.finished;
  }

  #closeAll(): void {
    // The next record first: a close that ends its handler at once would
    // unlink this one.
    for (let served = this.#served.first, next; served !== undefined; served = next) {
      next = served.next;
      (served as Served).closedByServer = true;
      served.value.close();
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Serves TCP connections: calls `handler(conn, context)` for each one,
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
export async function serve(options: ServeOptions, handler: ConnHandler): Promise<Server> {
  // Checked before listening, so that bad limits leave no socket bound.
  const limits: ServeLimits = {
    maxConnections: positiveInteger("maxConnections", options.maxConnections, 16384),
    idleTimeout: positiveInteger("idleTimeout", options.idleTimeout, 0),
    gracefulTimeout: positiveInteger("gracefulTimeout", options.gracefulTimeout, 10_000),
  };
  const listener = options.listener ?? await listen({ ...options, signal: undefined });
  return new TcpServer(listener, { ...options, ...limits }, handler);
}
