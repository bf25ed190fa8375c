/**
 * The bounded queue where a UDP socket keeps the datagrams nobody has
 * received yet, and a datagram server those that arrive while it answers.
 * Internal.
 *
 * @module
 */

import type { Datagram } from "./datagram_socket.ts";

// What waits while nobody receives: past either bound a datagram is
// dropped (and counted), as the kernel drops what overflows its buffer.
const MAX_QUEUED_DATAGRAMS = 1024;
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

const EMPTY_DATAGRAM: Datagram = {
  data: new Uint8Array(0),
  remote: { transport: "udp", hostname: "", port: 0 },
};

/** Datagrams waiting to be taken, with a bound. */
export class DatagramQueue {
  #queue: Datagram[] = [];
  #head = 0;
  #queuedBytes = 0;
  #dropped = 0;
  #closed = false;

  /** Datagrams dropped because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Queues a datagram if there is room, or counts it as dropped. */
  push(datagram: Datagram): void {
    if (this.#closed) return;
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

  /** Drops what is queued and queues nothing more. */
  close(): void {
    this.#closed = true;
    this.#queue.length = 0;
    this.#head = 0;
    this.#queuedBytes = 0;
  }
}
