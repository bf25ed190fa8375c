/**
 * The bounded receive queue of the adapters whose runtime pushes datagrams
 * (Node's `dgram`, Bun's `udpSocket`), turned into the contract's pulled
 * `receive()`; also what a public UDP socket keeps its unread datagrams in
 * (`udp/datagram_socket.ts`).
 *
 * @module
 */

import { SocketError } from "../socket_error.ts";
import type { Datagram } from "./datagram_socket.ts";

// What waits while nobody receives: past either bound a datagram is
// dropped (and counted), as the kernel drops what overflows its buffer.
const MAX_QUEUED_DATAGRAMS = 1024;
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

const EMPTY_DATAGRAM: Datagram = {
  data: new Uint8Array(0),
  remote: { transport: "udp", hostname: "", port: 0 },
};

/** Datagrams pushed by a runtime, pulled by `receive()`, with a bound. */
export class DatagramQueue {
  #queue: Datagram[] = [];
  #head = 0;
  #queuedBytes = 0;
  #dropped = 0;
  #closed = false;
  #waiter: { resolve(datagram: Datagram | null): void } | null = null;

  /** Datagrams dropped because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Counts a datagram the adapter itself had to drop. */
  drop(): void {
    this.#dropped++;
  }

  /** Hands a datagram to a waiting `receive()`, or queues it if there is room. */
  push(datagram: Datagram): void {
    if (this.#closed) return;
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter.resolve(datagram);
      return;
    }
    const bytes = datagram.data.byteLength;
    if (this.#queue.length - this.#head >= MAX_QUEUED_DATAGRAMS || this.#queuedBytes + bytes > MAX_QUEUED_BYTES) {
      this.#dropped++;
      return;
    }
    this.#queue.push(datagram);
    this.#queuedBytes += bytes;
  }

  /** How many datagrams wait. */
  get length(): number {
    return this.#queue.length - this.#head;
  }

  /** The next datagram if one waits, without a promise. */
  take(): Datagram | undefined {
    if (this.#head < this.#queue.length) {
      const datagram = this.#queue[this.#head];
      this.#queue[this.#head++] = EMPTY_DATAGRAM;
      if (this.#head === this.#queue.length) {
        this.#queue.length = 0;
        this.#head = 0;
      } else if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
        // Under a steady backlog the queue never empties: drop the spent
        // slots now and then, or the array grows by one per item forever.
        this.#queue.splice(0, this.#head);
        this.#head = 0;
      }
      this.#queuedBytes -= datagram.data.byteLength;
      return datagram;
    }
    return undefined;
  }

  /** Drops the waiting datagrams `unwanted` picks, keeping the others in order; returns how many. */
  discard(unwanted: (datagram: Datagram) => boolean): number {
    const kept: Datagram[] = [];
    let keptBytes = 0;
    for (let i = this.#head; i < this.#queue.length; i++) {
      const datagram = this.#queue[i];
      if (unwanted(datagram)) continue;
      kept.push(datagram);
      keptBytes += datagram.data.byteLength;
    }
    const discarded = this.#queue.length - this.#head - kept.length;
    if (discarded > 0) {
      this.#queue = kept;
      this.#head = 0;
      this.#queuedBytes = keptBytes;
    }
    return discarded;
  }

  /** The next datagram, or `null` once closed; `address` names the socket in errors. */
  receive(address: string): Promise<Datagram | null> {
    const datagram = this.take();
    if (datagram !== undefined) return Promise.resolve(datagram);
    if (this.#closed) return Promise.resolve(null);
    if (this.#waiter !== null) {
      return Promise.reject(new SocketError("EINVAL", `Cannot receive on ${address}: a receive is already pending`));
    }
    return new Promise((resolve) => {
      this.#waiter = { resolve };
    });
  }

  /** Drops what is queued; a pending and every later `receive()` get `null`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    this.#head = 0;
    this.#queuedBytes = 0;
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.resolve(null);
  }
}
