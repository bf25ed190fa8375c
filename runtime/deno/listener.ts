/**
 * Deno's listeners (TCP, TLS and Unix) behind the runtime contract: an
 * accept loop that runs only while connections are wanted.
 *
 * @module
 */

import type { Addr, ListenerEvents, RawListener } from "../contract.ts";
import { plainAddr } from "./conn.ts";

// Connections that failed between the kernel's accept and Deno's: the
// peer's doing, never the listener's.
function connectionGone(err: unknown): boolean {
  return err instanceof Deno.errors.NotConnected || err instanceof Deno.errors.ConnectionAborted ||
    err instanceof Deno.errors.ConnectionReset;
}

/**
 * What a {@linkcode DenoListener} does with each accepted connection: a
 * plain one is reported at once; a TLS one once its handshake is done.
 */
export type Accepted<C extends Deno.Conn> = (conn: C, events: ListenerEvents) => void;

/**
 * A Deno listener (TCP, TLS or Unix) as a {@linkcode RawListener}.
 *
 * @example Listening on a free port
 * ```ts ignore
 * import { DenoConn } from "./conn.ts";
 * import { DenoListener } from "./listener.ts";
 *
 * const listener = new DenoListener(Deno.listen({ hostname: "127.0.0.1", port: 0 }), (conn, events) => {
 *   events.conn(new DenoConn(conn, { noDelay: true }));
 * });
 * await listener.close();
 * ```
 */
export class DenoListener<C extends Deno.Conn = Deno.Conn> implements RawListener {
  /** The bound address. */
  readonly addr: Addr;
  #listener: Deno.Listener<C>;
  #accepted: Accepted<C>;
  #onClose: (() => void) | undefined;
  #events: ListenerEvents | undefined;
  #wanted = false;
  #closed = false;
  #looping = false;
  // The last accept loop: Deno releases the socket only once the accept in
  // flight has given up, which ends it.
  #accepting: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  /** Takes over `listener`; `onClose` runs once, when `close()` is first called. */
  constructor(listener: Deno.Listener<C>, accepted: Accepted<C>, onClose?: () => void) {
    this.#listener = listener;
    this.#accepted = accepted;
    this.#onClose = onClose;
    this.addr = plainAddr(listener.addr);
  }

  /** Starts reporting to `events`. */
  start(events: ListenerEvents): void {
    this.#events = events;
    if (this.#wanted) this.resume();
  }

  /** Accepts until `pause()`. */
  resume(): void {
    this.#wanted = true;
    if (this.#events !== undefined && !this.#looping) this.#accepting = this.#acceptLoop(this.#events);
  }

  /** Leaves connections in the kernel's backlog. */
  pause(): void {
    this.#wanted = false;
  }

  // Accepts only while connections are wanted, so that a listener nobody
  // accepts from leaves them to the kernel's backlog. After a failure the
  // next accept would likely fail at once (out of descriptors), so it waits,
  // doubling from 5 ms to a second while failures repeat, as Go's net/http does.
  async #acceptLoop(events: ListenerEvents): Promise<void> {
    // Cleared in the same turn the loop stops: a resume() from a microtask
    // that runs before the loop's promise settles must start a new one.
    this.#looping = true;
    try {
      let delay = 0;
      while (this.#wanted && !this.#closed) {
        let conn: C;
        try {
          conn = await this.#listener.accept();
        } catch (err) {
          // Closing rejects the pending accept (BadResource, or Interrupted).
          if (this.#closed) return;
          if (connectionGone(err)) continue;
          events.error(err);
          delay = Math.min(Math.max(delay * 2, 5), 1000);
          await this.#backoff(delay);
          continue;
        }
        delay = 0;
        if (this.#closed) {
          conn.close();
          return;
        }
        this.#accepted(conn, events);
      }
    } finally {
      this.#looping = false;
    }
  }

  #backoff(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  /** Stops listening; resolves once Deno has released the socket (and removed a Unix socket's file). */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#wake?.();
      this.#onClose?.();
      try {
        this.#listener.close();
      } catch {
        // Already released by Deno: there is nothing left to close.
      }
    }
    return this.#accepting ?? Promise.resolve();
  }
}
