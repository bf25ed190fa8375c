/**
 * The server behind `serve()` and `serveLines()`. Internal.
 *
 * @module
 */

import type { Addr } from "../runtime/contract.ts";
import { SocketError } from "../socket_error.ts";
import type { Conn } from "./conn.ts";
import { pushListenerOf } from "./_push.ts";
import { Link, LinkList } from "./_link_list.ts";
import { linger } from "./_linger.ts";
import { report, reportToStderr } from "./_tcp_listener.ts";
import { listen, type Listener } from "./listen.ts";
import type { CloseOptions, ConnHandler, ServeContext, ServeOptions, Server, ServerStats } from "./serve.ts";

/** How a handler that reports its own end (an {@linkcode EndingHandler}) tells the server. */
export interface ConnEnd {
  /** The handler is done: the server closes the connection. */
  done(): void;
  /** The handler failed with `error`: as if a `ConnHandler` had thrown it. */
  failed(error: unknown): void;
}

/**
 * A handler that reports its end to `end` instead of returning a promise:
 * the server then holds no promise, reaction or closures per connection.
 */
export type EndingHandler = (conn: Conn<Addr>, context: ServeContext, end: ConnEnd) => void;

// Connections turned away that may linger at once; more are closed at once.
const MAX_TURNED_AWAY = 64;

// The server's side of ConnEnd, for Served.
const settle = Symbol("settle");

// A connection being served: its place in the server's list of them, and
// what its handler reports its end to.
class Served extends Link<Conn<Addr>> implements ConnEnd {
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  // Set when the server itself closed the connection (idle, or forced):
  // the handler's resulting ECLOSED is no fault worth reporting.
  closedByServer = false;
  // Set once its handler has ended: the connection may still linger.
  settled = false;
  #server: TcpServer;

  constructor(conn: Conn<Addr>, server: TcpServer) {
    super(conn);
    this.#server = server;
  }

  done(): void {
    this.#server[settle](this, false, undefined);
  }

  failed(error: unknown): void {
    this.#server[settle](this, true, error);
  }
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

class TcpServer implements Server<Addr> {
  readonly addr: Addr;
  readonly finished: Promise<void>;
  #listener: Listener<Addr>;
  // One of the two.
  #handler: ConnHandler<Addr> | undefined;
  #ending: EndingHandler | undefined;
  #maxConnections: number;
  #idleTimeout: number;
  #gracefulTimeout: number;
  #onError: (error: unknown, conn?: Conn<Addr>) => void;
  #signal: AbortSignal | undefined;
  // The connections being served: a list (see _link_list.ts), not a Map.
  #served = new LinkList<Conn<Addr>>();
  #shutdown = new AbortController();
  #context: ServeContext = { signal: this.#shutdown.signal };
  #accepting: Promise<void>;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #drained: () => void = () => {};
  #accepted = 0;
  // Connections turned away, lingering until their peers hear the end.
  #turnedAway = new Set<Conn<Addr>>();
  #rejected = 0;
  #bytesIn = 0;
  #bytesOut = 0;
  #onAbort = () => void this.close();

  constructor(
    listener: Listener<Addr>,
    options: ServeOptions<Addr> & ServeLimits,
    handler: ConnHandler<Addr> | undefined,
    ending: EndingHandler | undefined,
  ) {
    this.#listener = listener;
    this.addr = listener.addr;
    this.#handler = handler;
    this.#ending = ending;
    this.#maxConnections = options.maxConnections;
    this.#idleTimeout = options.idleTimeout;
    this.#gracefulTimeout = options.gracefulTimeout;
    this.#onError = options.onError ?? reportToStderr;
    this.#signal = options.signal;
    // Pushed connections when the runtime can, for no promise per connection.
    const pushed = pushListenerOf(listener);
    this.#accepting = pushed !== undefined
      ? pushed.acceptEach(this.#admit, (err) => this.#report(err, undefined))
      : this.#acceptLoop();
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

  // A failed accept (EMFILE) is no reason to stop serving: it is reported
  // and the loop goes on. Only the listener's close ends it.
  async #acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Conn<Addr>;
      try {
        conn = await this.#listener.accept();
      } catch (err) {
        if (err instanceof SocketError && err.code === "ECLOSED") return;
        this.#report(err, undefined);
        continue;
      }
      this.#admit(conn);
    }
  }

  // Serves a connection just accepted, or turns it away. An arrow function,
  // so that a listener can call it: it is made once per server.
  #admit = (conn: Conn<Addr>): void => {
    this.#accepted++;
    if (this.#served.size >= this.#maxConnections || this.#shutdown.signal.aborted) {
      this.#rejected++;
      // A clean end of stream, not a reset, whatever the peer had sent; but
      // a lingering connection holds a descriptor, and a flood of them must
      // not take more than a few beyond maxConnections.
      if (this.#turnedAway.size >= MAX_TURNED_AWAY) {
        conn.close();
        return;
      }
      this.#turnedAway.add(conn);
      void linger(conn).then(() => {
        conn.close();
        this.#turnedAway.delete(conn);
      });
      return;
    }
    this.#serve(conn);
  };

  #serve(conn: Conn<Addr>): void {
    const served = new Served(conn, this);
    this.#served.add(served);
    if (this.#idleTimeout > 0) this.#watchIdle(conn, served, this.#idleTimeout);
    let running: Promise<void>;
    try {
      if (this.#ending !== undefined) {
        this.#ending(conn, this.#context, served);
        return;
      }
      running = Promise.resolve(this.#handler!(conn, this.#context));
    } catch (err) {
      running = Promise.reject(err);
    }
    // One reaction, not a catch() and a finally() chain: this is held for as
    // long as the connection is open, and there may be many thousands.
    running.then(() => served.done(), (err) => served.failed(err));
  }

  /** For Served: its handler is done, or failed with `err`. Once per connection. */
  [settle](served: Served, failed: boolean, err: unknown): void {
    if (served.settled) return;
    served.settled = true;
    try {
      if (failed) this.#handlerFailed(served, err);
    } finally {
      this.#finish(served);
    }
  }

  #handlerFailed(served: Served, err: unknown): void {
    if (served.closedByServer) {
      // The server closed it (idle, or forced): its ECLOSED is no fault.
    } else if (err instanceof SocketError && err.code === "EABORTED" && this.#shutdown.signal.aborted) {
      // Shutting down between requests: nothing is owed.
    } else {
      this.#report(err, served.value);
    }
  }

  // The handler is done: the connection closes once the peer has had its
  // replies (see linger()), unless the server closed it already.
  #finish(served: Served): void {
    clearTimeout(served.timer);
    if (served.closedByServer) this.#closed(served);
    else void linger(served.value).then(() => this.#closed(served));
  }

  #closed(served: Served): void {
    const conn = served.value;
    conn.close();
    this.#bytesIn += conn.bytesRead;
    this.#bytesOut += conn.bytesWritten;
    this.#served.remove(served);
    if (this.#served.size === 0 && this.#shutdown.signal.aborted) this.#drained();
  }

  // A user's onError that throws must not take the server down.
  #report(err: unknown, conn: Conn<Addr> | undefined): void {
    report((error) => this.#onError(error, conn), err);
  }

  // One timer per connection, checking a quarter of the timeout at a time
  // whether bytes moved: a connection is closed after `idle` to 1.25 ×
  // `idle` of silence, at the cost of nothing per read or write.
  #watchIdle(conn: Conn<Addr>, served: Served, idle: number): void {
    const step = Math.max(1, Math.ceil(idle / 4));
    let moved = conn.bytesRead + conn.bytesWritten;
    let quiet = 0;
    const check = () => {
      const now = conn.bytesRead + conn.bytesWritten;
      quiet = now === moved ? quiet + step : 0;
      moved = now;
      if (quiet >= idle) {
        served.closedByServer = true;
        conn.close();
      } else {
        served.timer = setTimeout(check, step);
      }
    };
    served.timer = setTimeout(check, step);
  }

  close(options?: CloseOptions): Promise<void> {
    if (!this.#shutdown.signal.aborted) {
      this.#listener.close();
      this.#shutdown.abort();
      for (const conn of this.#turnedAway) conn.close();
      if (this.#served.size === 0) this.#drained();
      else this.#graceTimer = setTimeout(() => this.#closeAll(), this.#gracefulTimeout);
    }
    if (options?.force) this.#closeAll();
    return this.finished;
  }

  #closeAll(): void {
    for (const conn of this.#turnedAway) conn.close();
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
 * Listens unless given a listener, and serves with `handler`, or with
 * `ending` when given one.
 */
export async function startServer(
  options: ServeOptions<Addr>,
  handler: ConnHandler<Addr> | undefined,
  ending: EndingHandler | undefined,
): Promise<Server<Addr>> {
  // Checked before listening, so that bad limits leave no socket bound.
  const limits: ServeLimits = {
    maxConnections: positiveInteger("maxConnections", options.maxConnections, 16384),
    idleTimeout: positiveInteger("idleTimeout", options.idleTimeout, 0),
    gracefulTimeout: positiveInteger("gracefulTimeout", options.gracefulTimeout, 10_000),
  };
  const listener = options.listener ?? await listen({ ...options, signal: undefined });
  return new TcpServer(listener, { ...options, ...limits }, handler, ending);
}
