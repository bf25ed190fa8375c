/**
 * A datagram server's loop: each datagram is answered as the runtime hands
 * it over (inside its receive callback on Node and Bun), and the bounded
 * queue holds only what arrives while an answer, or room for replies, waits.
 * Internal.
 *
 * @module
 */

import type { NetAddr } from "../runtime/contract.ts";
import type { DatagramQueue } from "./_datagram_queue.ts";

/** What an answer is: bytes or text to send back, or nothing. */
export type Reply = string | Uint8Array | undefined;

/** Who answers each datagram, and hears what failed. */
export interface DatagramAnswerer {
  /** Answers one datagram, whose bytes it owns; the reply must fit in one datagram. */
  answer(data: Uint8Array, remote: NetAddr): Reply | Promise<Reply>;
  /** Told what `answer` threw or rejected with, or why its reply could not be sent. */
  fail(error: unknown, data: Uint8Array, remote: NetAddr): void;
}

/**
 * How an adapter sends a reply. Returns false when it now holds too many
 * unsent replies: the loop then waits for its `resume()`. Throws what the
 * runtime threw, as a `SocketError`.
 */
export type SendReply = (reply: string | Uint8Array, data: Uint8Array, remote: NetAddr) => boolean;

/** One socket's answering: datagrams one at a time, in arrival order. */
export class AnswerLoop {
  /** Resolves once closed with no answer pending. */
  readonly finished: Promise<void>;
  #answerer: DatagramAnswerer;
  #queue: DatagramQueue;
  #send: SendReply;
  // A promised answer is pending: later datagrams wait their turn.
  #pending = false;
  // The adapter holds too many unsent replies: answering more would only
  // pile them up.
  #paused = false;
  #closed = false;
  #finish: () => void = () => {};

  constructor(answerer: DatagramAnswerer, queue: DatagramQueue, send: SendReply) {
    this.#answerer = answerer;
    this.#queue = queue;
    this.#send = send;
    this.finished = new Promise((resolve) => {
      this.#finish = resolve;
    });
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** A datagram from the runtime: answered now, or queued behind others. */
  offer(data: Uint8Array, remote: NetAddr): void {
    if (this.#closed) return;
    if (this.#pending || this.#paused || this.#queue.length > 0) {
      this.#queue.push({ data, remote });
      return;
    }
    this.#answer(data, remote);
  }

  /** The adapter has room for replies again: answers what waited. */
  resume(): void {
    this.#paused = false;
    while (!this.#pending && !this.#paused && !this.#closed) {
      const next = this.#queue.take();
      if (next === undefined) return;
      this.#answer(next.data, next.remote);
    }
  }

  /** Answers nothing more; `finished` waits for a pending answer. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#pending) this.#finish();
  }

  #answer(data: Uint8Array, remote: NetAddr): void {
    let reply: Reply | Promise<Reply>;
    try {
      reply = this.#answerer.answer(data, remote);
    } catch (err) {
      this.#answerer.fail(err, data, remote);
      return;
    }
    if (typeof reply === "object" && !(reply instanceof Uint8Array)) {
      this.#pending = true;
      reply.then(
        (settled) => this.#settle(settled, data, remote),
        (err) => {
          this.#answerer.fail(err, data, remote);
          this.#settle(undefined, data, remote);
        },
      );
      return;
    }
    if (reply !== undefined) this.#reply(reply, data, remote);
  }

  #settle(reply: Reply, data: Uint8Array, remote: NetAddr): void {
    this.#pending = false;
    if (reply !== undefined) this.#reply(reply, data, remote);
    if (this.#closed) this.#finish();
    else if (!this.#paused) this.resume();
  }

  #reply(reply: string | Uint8Array, data: Uint8Array, remote: NetAddr): void {
    // A reply made after close() has nowhere to go.
    if (this.#closed) return;
    try {
      if (!this.#send(reply, data, remote)) this.#paused = true;
    } catch (err) {
      this.#answerer.fail(err, data, remote);
    }
  }
}
