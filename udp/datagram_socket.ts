/**
 * UDP sockets: bind one, then send datagrams to any address and receive them
 * from any address.
 *
 * @module
 */

import { checkAddress } from "../_options.ts";
import { ipFamily } from "../addr.ts";
import type { NetAddr, RawDatagramSocket, Runtime } from "../runtime/contract.ts";
import { formatAddress, SocketError, socketError } from "../socket_error.ts";
import { DatagramQueue } from "./_datagram_queue.ts";
import { lookupHost } from "./_lookup.ts";
import { bindRaw, queuedDatagrams, type RawSocket } from "./_raw_socket.ts";
import { sameAddress } from "./_same_address.ts";

/** Where a datagram goes. A received datagram's `remote` will do. */
export interface DatagramTarget {
  /**
   * The IP address, such as `127.0.0.1` or `::1`, or a host name such as
   * `localhost`, looked up as TCP looks names up (the hosts file included),
   * for an address of the socket's family.
   */
  hostname: string;
  /** The port, from 1 to 65535. */
  port: number;
}

/** A datagram as received. */
export interface Datagram {
  /** The payload, whole: a datagram is never split or joined with another. */
  data: Uint8Array;
  /** Who sent it. */
  remote: NetAddr;
}

/** Options for {@linkcode DatagramSocket.receive}. */
export interface DatagramReceiveOptions {
  /** Gives up with `EABORTED` when it fires. */
  signal?: AbortSignal;
  /** Gives up with `ETIMEDOUT` after this many milliseconds. */
  timeout?: number;
}

/**
 * A bound UDP socket, the same on Deno, Bun and Node. Unconnected: it sends
 * to and receives from any address of its own family (IPv4 or IPv6); bound
 * to `::`, from IPv4 addresses too, reported as plain IPv4 (`127.0.0.1`).
 *
 * Nothing a peer does closes it: an ICMP port unreachable for an earlier
 * send, or any datagram at all, leaves it working. It receives from the
 * moment it is bound: datagrams that arrive while nobody calls `receive()`
 * wait in a bounded queue; past it they are dropped, as UDP allows.
 */
export interface DatagramSocket extends AsyncIterable<Datagram>, AsyncDisposable {
  /** The bound address, with the real port when 0 was asked for. */
  readonly addr: NetAddr;
  /**
   * Datagrams this socket dropped because its queue was full. The kernel
   * drops more when its own buffer is full; those are not counted here.
   */
  readonly dropped: number;
  /**
   * Sends one datagram: bytes, or a string as UTF-8. Resolves with its size
   * once the runtime has handed it to the kernel, which says nothing of its
   * arrival. A payload that does not fit in one datagram (65,507 bytes over
   * IPv4, 65,527 over IPv6) fails with `EMSGSIZE`; it is never cut short. A
   * host name is looked up on each call; one with no address of the
   * socket's family fails with `ENOTFOUND`.
   */
  send(data: Uint8Array | string, to: DatagramTarget): Promise<number>;
  /**
   * Waits for the next datagram. Fails with `ETIMEDOUT` after `timeout`,
   * `EABORTED` when `signal` fires, `ECLOSED` once the socket is closed
   * (a pending call too). A datagram that lands after a call gave up waits
   * for the next call. Only one call may be pending at a time.
   */
  receive(options?: DatagramReceiveOptions): Promise<Datagram>;
  /** Closes the socket. Idempotent. Iteration ends; other calls fail with `ECLOSED`. */
  close(): void;
}

/** Options for {@linkcode bind}. */
export interface BindOptions {
  /**
   * The IP address to bind, or a host name, which binds the first address
   * it has (`localhost`: `127.0.0.1` or `::1`), as TCP's listen does.
   * Defaults to `0.0.0.0`, every IPv4 interface; `::` is every IPv6 one and,
   * unless the OS is set to IPv6 only, every IPv4 one too. Otherwise the
   * socket sends only to its own family.
   */
  hostname?: string;
  /** The port; 0 (the default) asks the OS for a free one, seen in `addr`. */
  port?: number;
  /** Closes the socket when it fires. */
  signal?: AbortSignal;
}

const MAX_TIMEOUT = 2 ** 31 - 1;

const utf8 = new TextEncoder();

// A pending receive() call.
interface Waiter {
  resolve(datagram: Datagram): void;
  reject(reason: unknown): void;
}

class UdpSocket implements DatagramSocket {
  readonly addr: NetAddr;
  #raw: RawDatagramSocket;
  #runtime: Runtime;
  #address: string;
  #family: 4 | 6;
  #dualStack: boolean;
  #maxPayload: number;
  #closed = false;
  // Datagrams are taken from the runtime as they arrive, whether or not
  // anyone receives, so that `request()` can tell datagrams that came before
  // its request from those that came after.
  #queue = new DatagramQueue();
  #waiter: Waiter | null = null;
  #signal: AbortSignal | undefined;
  #onAbort = () => this.close();

  constructor(bound: RawSocket, signal: AbortSignal | undefined) {
    this.#raw = bound.raw;
    this.#runtime = bound.runtime;
    this.#family = bound.family;
    this.#dualStack = bound.dualStack;
    this.#maxPayload = bound.maxPayload;
    this.addr = bound.raw.addr;
    this.#address = formatAddress(this.addr);
    this.#signal = signal;
    signal?.addEventListener("abort", this.#onAbort, { once: true });
    const queue = this.#queue;
    queuedDatagrams.set(this, {
      get length() {
        return queue.length;
      },
      discard: (from) => queue.discard((datagram) => sameAddress(datagram.remote, from)),
    });
    bound.raw.start((data, remote) => {
      if (this.#closed) return;
      const waiter = this.#waiter;
      if (waiter === null) {
        this.#queue.push({ data, remote });
      } else {
        this.#waiter = null;
        waiter.resolve({ data, remote });
      }
    });
  }

  get dropped(): number {
    return this.#queue.dropped;
  }

  async send(data: Uint8Array | string, to: DatagramTarget): Promise<number> {
    const hostname = typeof to?.hostname === "string" ? to.hostname : "";
    const port = to?.port;
    const address = formatAddress({ hostname, port });
    checkAddress("send to", { hostname, port });
    if (port === 0) throw new SocketError("EINVAL", `Cannot send to ${address}: port must be from 1 to 65535`);
    if (this.#closed) throw this.#closedError("send to", address);
    const family = ipFamily(hostname);
    if (family !== undefined && family !== this.#family && !(this.#dualStack && family === 4)) {
      throw new SocketError(
        "EINVAL",
        `Cannot send to ${address}: an IPv${this.#family} socket cannot send to an IPv${family} address`,
      );
    }
    const bytes = typeof data === "string" ? utf8.encode(data) : data;
    if (bytes.byteLength > this.#maxPayload) {
      throw new SocketError(
        "EMSGSIZE",
        `Cannot send to ${address}: message too long (${bytes.byteLength} bytes; one datagram holds at most ${this.#maxPayload})`,
      );
    }
    let target = hostname;
    if (family === undefined) {
      target = await lookupHost(this.#runtime, hostname, { family: this.#family, action: "send to", port });
      if (this.#closed) throw this.#closedError("send to", address);
    }
    try {
      await this.#raw.send(bytes, { hostname: target, port });
    } catch (err) {
      if (this.#closed) throw this.#closedError("send to", address);
      throw socketError(err, { action: "send to", address });
    }
    return bytes.byteLength;
  }

  receive(options: DatagramReceiveOptions = {}): Promise<Datagram> {
    const { signal, timeout } = options;
    if (timeout !== undefined && !(timeout >= 0 && timeout <= MAX_TIMEOUT)) {
      return Promise.reject(
        new SocketError("EINVAL", `Cannot receive on ${this.#address}: timeout must be from 0 to ${MAX_TIMEOUT} ms`),
      );
    }
    if (this.#closed) return Promise.reject(this.#closedError("receive on", this.#address));
    if (signal?.aborted) {
      return Promise.reject(new SocketError("EABORTED", `Cannot receive on ${this.#address}: aborted`));
    }
    if (this.#waiter !== null) {
      return Promise.reject(
        new SocketError("EINVAL", `Cannot receive on ${this.#address}: a receive is already pending`),
      );
    }
    const queued = this.#queue.take();
    if (queued !== undefined) return Promise.resolve({ data: queued.data, remote: queued.remote });
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const settle = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      // A datagram that comes after the call gave up goes to the queue.
      const giveUp = (error: SocketError) => {
        if (this.#waiter !== waiter) return;
        this.#waiter = null;
        settle();
        reject(error);
      };
      const onAbort = () => giveUp(new SocketError("EABORTED", `Cannot receive on ${this.#address}: aborted`));
      const waiter: Waiter = {
        resolve: (datagram) => {
          settle();
          resolve(datagram);
        },
        reject: (reason) => {
          settle();
          reject(reason);
        },
      };
      this.#waiter = waiter;
      signal?.addEventListener("abort", onAbort, { once: true });
      if (timeout !== undefined) {
        timer = setTimeout(
          () =>
            giveUp(new SocketError("ETIMEDOUT", `Cannot receive on ${this.#address}: timed out after ${timeout} ms`)),
          timeout,
        );
      }
    });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Datagram> {
    while (!this.#closed) {
      let datagram: Datagram;
      try {
        datagram = await this.receive();
      } catch (err) {
        if (this.#closed) return;
        throw err;
      }
      yield datagram;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#raw.close();
    this.#queue.close();
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.reject(this.#closedError("receive on", this.#address));
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #closedError(action: string, address: string): SocketError {
    return new SocketError("ECLOSED", `Cannot ${action} ${address}: socket is closed`);
  }
}

/**
 * Binds a UDP socket. Fails with `EADDRINUSE` when the port is taken,
 * `ENOTFOUND` for a host name that does not resolve.
 *
 * @example Sending a datagram to yourself
 * ```ts
 * import { bind } from "./datagram_socket.ts";
 *
 * await using socket = await bind({ hostname: "127.0.0.1" });
 * await socket.send("hello", socket.addr);
 * const { data, remote } = await socket.receive({ timeout: 5000 });
 * if (new TextDecoder().decode(data) !== "hello" || remote.port !== socket.addr.port) throw new Error("lost it");
 * ```
 */
export async function bind(options: BindOptions = {}): Promise<DatagramSocket> {
  return new UdpSocket(await bindRaw(options), options.signal);
}
