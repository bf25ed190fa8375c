/**
 * The one `Listener` implementation, which `listen()` makes, with push mode
 * for `serve()` (see _push.ts).
 *
 * @module
 */

import { unmapIpv4 } from "../addr.ts";
import type { Addr, ListenerEvents, RawConn, RawListener } from "../runtime/contract.ts";
import { formatAddress, SocketError, socketError } from "../socket_error.ts";
import { PUSH, type PushListener } from "./_push.ts";
import { TcpConn } from "./_tcp_conn.ts";
import { handshakeError } from "./_tls_spec.ts";
import type { Conn, ConnOptions } from "./conn.ts";
import type { ListenOptions } from "./listen.ts";

/** One line on stderr: what a server or listener does with errors nobody asked to hear. */
export function reportToStderr(error: unknown): void {
  console.error(error instanceof Error ? error.message : String(error));
}

/** Calls `onError`; one that throws is reported to stderr rather than taking the caller down. */
export function report(onError: (error: unknown) => void, error: unknown): void {
  try {
    onError(error);
  } catch (thrown) {
    reportToStderr(thrown);
  }
}

// A caller of accept() waiting for a connection.
interface Waiter {
  resolve(conn: Conn<Addr>): void;
  reject(reason: unknown): void;
}

/** The one {@linkcode Listener} implementation. Internal: `listen()` makes it. */
export class TcpListener implements PushListener, ListenerEvents {
  readonly addr: Addr;
  #raw: RawListener;
  #options: ConnOptions;
  #closed = false;
  #signal: AbortSignal | undefined;
  #onError: (error: unknown) => void;
  #onAbort = () => this.close();
  // Connections accepted before anyone asked, and callers waiting for one.
  #queue: Conn<Addr>[] = [];
  #waiters: Waiter[] = [];
  // A failure nobody was waiting to hear of, for the next accept(): only the
  // latest, as a listener failing while nobody accepts has one story.
  #failure: unknown = undefined;
  // Where connections go instead, in push mode (see _push.ts).
  #onConn: ((conn: Conn<Addr>) => void) | undefined;
  #onConnError: ((error: unknown) => void) | undefined;
  // Resolves once the runtime has released the socket.
  #released: Promise<void> | undefined;

  constructor(raw: RawListener, options: ListenOptions) {
    this.#raw = raw;
    this.addr = raw.addr;
    this.#options = { maxLineBytes: options.maxLineBytes, frames: options.frames };
    this.#onError = options.onError ?? reportToStderr;
    this.#signal = options.signal;
    this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
    raw.start(this);
  }

  /** For the runtime: a connection was accepted. */
  conn(raw: RawConn): void {
    // Started at once, whoever takes it, so that no byte waits unread.
    const conn = new TcpConn(raw, this.#options);
    if (this.#closed) conn.close();
    else if (this.#onConn !== undefined) this.#onConn(conn);
    else if (this.#waiters.length > 0) this.#waiters.shift()!.resolve(conn);
    else this.#queue.push(conn);
    this.#flow();
  }

  // Accepting only while someone wants a connection: the rest wait in the
  // kernel's backlog, where their number is bounded.
  #flow(): void {
    if (this.#closed) return;
    if (this.#onConn !== undefined || this.#waiters.length > 0) this.#raw.resume();
    else this.#raw.pause();
  }

  /** For the runtime: accepting failed; the listener goes on. */
  error(cause: unknown): void {
    if (this.#closed) return;
    const error = socketError(cause, { action: "accept on", address: formatAddress(this.addr) });
    if (this.#onConnError !== undefined) this.#onConnError(error);
    else if (this.#waiters.length > 0) this.#waiters.shift()!.reject(error);
    else this.#failure = error;
    this.#flow();
  }

  /** For the runtime: a TLS handshake failed; only `onError` hears of it. */
  handshakeError(cause: unknown, remoteAddr: Addr | undefined): void {
    if (this.#closed) return;
    const address = remoteAddr === undefined ? "a client" : formatAddress(unmapIpv4(remoteAddr));
    const error = handshakeError(cause, { action: "complete a TLS handshake with", address });
    report(this.#onConnError ?? this.#onError, error);
  }

  accept(): Promise<Conn<Addr>> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#closed) return Promise.reject(this.#closedError());
    if (this.#failure !== undefined) {
      const failure = this.#failure;
      this.#failure = undefined;
      return Promise.reject(failure);
    }
    const accepted = new Promise<Conn<Addr>>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.#flow();
    return accepted;
  }

  [PUSH](): PushListener {
    return this;
  }

  acceptEach(onConn: (conn: Conn<Addr>) => void, onError: (error: unknown) => void): Promise<void> {
    if (this.#closed) return this.#released!;
    this.#onConn = onConn;
    this.#onConnError = onError;
    for (const conn of this.#queue.splice(0)) onConn(conn);
    if (this.#failure !== undefined) {
      const failure = this.#failure;
      this.#failure = undefined;
      onError(failure);
    }
    this.#flow();
    return new Promise((resolve) => (this.#endEach = resolve));
  }

  #endEach: (() => void) | undefined;

  /**
   * Accepts until the listener is closed. A failure to accept (out of file
   * descriptors, say) goes to `onError`, and the iteration goes on.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<Conn<Addr>> {
    for (;;) {
      try {
        yield await this.accept();
      } catch (err) {
        if (this.#closed) return;
        report(this.#onError, err);
      }
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#released = this.#raw.close();
    for (const conn of this.#queue.splice(0)) conn.close();
    for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#closedError());
    const endEach = this.#endEach;
    if (endEach !== undefined) this.#released.then(endEach);
  }

  /** Closes, and resolves once the port refuses connections. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return this.#released!;
  }

  #closedError(): SocketError {
    return new SocketError("ECLOSED", `Cannot accept on ${formatAddress(this.addr)}: socket is closed`);
  }
}
