/**
 * Push mode for the adapters whose runtime pushes datagrams (Node's `dgram`,
 * Bun's `udpSocket`): each datagram is answered inside the runtime's receive
 * callback, and the bounded queue holds only what arrives while an answer
 * waits.
 *
 * @module
 */

import type { DatagramQueue } from "./_datagram_queue.ts";
import type { DatagramAnswerer, NetAddr, PumpReply } from "./types.ts";

/**
 * How an adapter sends a reply. Returns false when it now holds too many
 * unsent replies: the loop then waits for its `resume()`. Throws what the
 * runtime threw, as a `SocketError`.
 */
export type SendReply = (reply: string | Uint8Array, data: Uint8Array, remote: NetAddr) => boolean;

/** One socket's push mode: see `RuntimeDatagramSocket.answerEach`. */
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
    let reply: PumpReply | Promise<PumpReply>;
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

  #settle(reply: PumpReply, data: Uint8Array, remote: NetAddr): void {
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
