/**
 * The accept side of the adapters whose runtime pushes connections (Node's
 * `connection` event, Bun's `open` handler): connections wait here for
 * `accept()`, or go straight to `acceptEach`'s callback.
 *
 * @module
 */

import type { RuntimeConn } from "./types.ts";

interface Waiter {
  resolve(conn: RuntimeConn | null): void;
  reject(reason: unknown): void;
}

/**
 * Connections pushed by the runtime, handed to `accept()` calls in order
 * (concurrent calls each wait their turn; none is overwritten) or to one
 * `acceptEach` callback; and failures to accept, handed to the next
 * `accept()` or to `acceptEach`'s `onError`.
 */
export class AcceptQueue {
  #queue: RuntimeConn[] = [];
  #waiters: Waiter[] = [];
  // A failure nobody was waiting to hear of, for the next accept(). Only the
  // latest is kept: a listener failing while nobody accepts has one story.
  #failure: unknown = undefined;
  #closed = false;
  // Where connections go instead of accept(), and how to end that.
  #onConn: ((conn: RuntimeConn) => void) | undefined = undefined;
  #onError: ((error: unknown) => void) | undefined = undefined;
  #endEach: (() => void) | undefined = undefined;

  /** The runtime accepted `conn`; once closed, it is closed at once. */
  offer(conn: RuntimeConn): void {
    if (this.#closed) {
      conn.close();
      return;
    }
    if (this.#onConn !== undefined) {
      this.#onConn(conn);
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter.resolve(conn);
    else this.#queue.push(conn);
  }

  /** The runtime failed to accept a connection (such as `EMFILE`); the listener goes on. */
  fail(error: unknown): void {
    if (this.#closed) return;
    if (this.#onError !== undefined) {
      this.#onError(error);
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter.reject(error);
    else this.#failure = error;
  }

  /** See `RuntimeListener.accept`. */
  accept(): Promise<RuntimeConn | null> {
    if (this.#queue.length > 0) return Promise.resolve(this.#queue.shift()!);
    if (this.#closed) return Promise.resolve(null);
    if (this.#failure !== undefined) {
      const failure = this.#failure;
      this.#failure = undefined;
      return Promise.reject(failure);
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** See `RuntimeListener.acceptEach`. */
  acceptEach(onConn: (conn: RuntimeConn) => void, onError: (error: unknown) => void): Promise<void> | undefined {
    if (this.#onConn !== undefined) return undefined;
    if (this.#closed) return Promise.resolve();
    this.#onConn = onConn;
    this.#onError = onError;
    for (const conn of this.#queue.splice(0)) onConn(conn);
    if (this.#failure !== undefined) {
      const failure = this.#failure;
      this.#failure = undefined;
      onError(failure);
    }
    return new Promise((resolve) => (this.#endEach = resolve));
  }

  /** The listener closed: queued connections are closed, waiting calls get `null`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const conn of this.#queue) conn.close();
    this.#queue.length = 0;
    this.#failure = undefined;
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(null);
    this.#endEach?.();
  }
}
