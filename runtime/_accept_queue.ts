/**
 * The accept side of the adapters whose runtime pushes connections (Node's
 * `connection` event, Bun's `open` handler): connections wait here for
 * `accept()`, or go straight to `acceptEach`'s callback.
 *
 * @module
 */

import type { RuntimeConn } from "./types.ts";

/**
 * Connections pushed by the runtime, handed to `accept()` calls in order
 * (concurrent calls each wait their turn; none is overwritten) or to one
 * `acceptEach` callback.
 */
export class AcceptQueue {
  #queue: RuntimeConn[] = [];
  #waiters: ((conn: RuntimeConn | null) => void)[] = [];
  #closed = false;
  // Where connections go instead of accept(), and how to end that.
  #onConn: ((conn: RuntimeConn) => void) | undefined = undefined;
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
    if (waiter !== undefined) waiter(conn);
    else this.#queue.push(conn);
  }

  /** See `RuntimeListener.accept`. */
  accept(): Promise<RuntimeConn | null> {
    if (this.#queue.length > 0) return Promise.resolve(this.#queue.shift()!);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** See `RuntimeListener.acceptEach`. */
  acceptEach(onConn: (conn: RuntimeConn) => void): Promise<void> | undefined {
    if (this.#onConn !== undefined) return undefined;
    if (this.#closed) return Promise.resolve();
    this.#onConn = onConn;
    for (const conn of this.#queue.splice(0)) onConn(conn);
    return new Promise((resolve) => (this.#endEach = resolve));
  }

  /** The listener closed: queued connections are closed, waiting calls get `null`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const conn of this.#queue) conn.close();
    this.#queue.length = 0;
    for (const waiter of this.#waiters.splice(0)) waiter(null);
    this.#endEach?.();
  }
}
