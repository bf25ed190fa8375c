/**
 * UDP sockets: bind one, then send datagrams to any address and receive them
 * from any address.
 *
 * @module
 */

import { checkAddress, checkSignal } from "../_options.ts";
import { currentRuntime } from "../runtime/runtime.ts";
import type { NetAddr, RuntimeDatagram, RuntimeDatagramSocket } from "../runtime/types.ts";
import { formatAddress, SocketError } from "../socket_error.ts";
import { rawSockets } from "./_raw_socket.ts";

/** Where a datagram goes. A received datagram's `remote` will do. */
export interface DatagramTarget {
  /** The IP address, such as `127.0.0.1` or `::1`: names are not resolved. */
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
 * to and receives from any address of its own family (IPv4 or IPv6).
 *
 * Nothing a peer does closes it: an ICMP port unreachable for an earlier
 * send, or any datagram at all, leaves it working. Datagrams that arrive
 * while nobody receives wait in a bounded queue; past it they are dropped,
 * as UDP allows.
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
   * IPv4, 65,527 over IPv6) fails with `EMSGSIZE`; it is never cut short.
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
   * The IP address to bind. Defaults to `0.0.0.0`, every IPv4 interface;
   * `::` is every IPv6 one. The socket sends only to its own family.
   */
  hostname?: string;
  /** The port; 0 (the default) asks the OS for a free one, seen in `addr`. */
  port?: number;
  /** Closes the socket when it fires. */
  signal?: AbortSignal;
}

// The largest UDP payloads: 65,535 less the IPv4 (20) and UDP (8) headers;
// an IPv6 payload length excludes its own header, so only UDP's counts.
const MAX_PAYLOAD = { 4: 65_507, 6: 65_527 } as const;

const MAX_TIMEOUT = 2 ** 31 - 1;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-f:.]*:[0-9a-f:.]*(%[\w.-]+)?$/i;

// The runtimes disagree on names (Bun resolves none, Node resolves them
// after `send` returns), so only IP literals are taken, everywhere.
function ipFamily(hostname: string): 4 | 6 | undefined {
  if (IPV4.test(hostname)) return 4;
  if (IPV6.test(hostname)) return 6;
  return undefined;
}

const utf8 = new TextEncoder();

class UdpSocket implements DatagramSocket {
  readonly addr: NetAddr;
  #raw: RuntimeDatagramSocket;
  #address: string;
  #family: 4 | 6;
  #closed = false;
  #receiving = false;
  // The runtime's receive outlives a call that gave up on it, so that the
  // datagram it brings goes to the next call instead of being lost.
  #next: Promise<RuntimeDatagram | null> | null = null;
  #signal: AbortSignal | undefined;
  #onAbort = () => this.close();

  constructor(raw: RuntimeDatagramSocket, signal: AbortSignal | undefined) {
    this.#raw = raw;
    this.addr = raw.addr;
    this.#address = formatAddress(raw.addr);
    this.#family = raw.addr.hostname.includes(":") ? 6 : 4;
    this.#signal = signal;
    signal?.addEventListener("abort", this.#onAbort, { once: true });
    rawSockets.set(this, { raw, maxPayload: MAX_PAYLOAD[this.#family] });
  }

  get dropped(): number {
    // Only the adapters that queue (Node's and Bun's) count; Deno's leaves
    // datagrams in the kernel until asked.
    const { dropped } = this.#raw as { dropped?: unknown };
    return typeof dropped === "number" ? dropped : 0;
  }

  async send(data: Uint8Array | string, to: DatagramTarget): Promise<number> {
    const hostname = typeof to?.hostname === "string" ? to.hostname : "";
    const port = to?.port;
    const address = formatAddress({ hostname, port });
    checkAddress("send to", { hostname, port });
    if (port === 0) throw new SocketError("EINVAL", `Cannot send to ${address}: port must be from 1 to 65535`);
    const family = ipFamily(hostname);
    if (family === undefined) {
      throw new SocketError("EINVAL", `Cannot send to ${address}: hostname must be an IP address`);
    }
    if (this.#closed) throw this.#closedError("send to", address);
    if (family !== this.#family) {
      throw new SocketError(
        "EINVAL",
        `Cannot send to ${address}: an IPv${this.#family} socket cannot send to an IPv${family} address`,
      );
    }
    const bytes = typeof data === "string" ? utf8.encode(data) : data;
    const max = MAX_PAYLOAD[family];
    if (bytes.byteLength > max) {
      throw new SocketError(
        "EMSGSIZE",
        `Cannot send to ${address}: message too long (${bytes.byteLength} bytes; one datagram holds at most ${max})`,
      );
    }
    await this.#raw.send(bytes, { hostname, port });
    return bytes.byteLength;
  }

  async receive(options: DatagramReceiveOptions = {}): Promise<Datagram> {
    const { signal, timeout } = options;
    if (timeout !== undefined && !(timeout >= 0 && timeout <= MAX_TIMEOUT)) {
      throw new SocketError(
        "EINVAL",
        `Cannot receive on ${this.#address}: timeout must be from 0 to ${MAX_TIMEOUT} ms`,
      );
    }
    if (this.#closed) throw this.#closedError("receive on", this.#address);
    checkSignal(signal, "receive on", this.#address);
    if (this.#receiving) {
      throw new SocketError("EINVAL", `Cannot receive on ${this.#address}: a receive is already pending`);
    }
    this.#receiving = true;
    if (this.#next === null) {
      const next = this.#raw.receive();
      // Nobody may be waiting when it fails; the next call sees the failure.
      next.catch(() => {});
      this.#next = next;
    }
    const next = this.#next;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    let gaveUp = false;
    let raw: RuntimeDatagram | null;
    try {
      if (signal === undefined && timeout === undefined) {
        raw = await next;
      } else {
        const givenUp = new Promise<never>((_, reject) => {
          onAbort = () => {
            gaveUp = true;
            reject(new SocketError("EABORTED", `Cannot receive on ${this.#address}: aborted`));
          };
          signal?.addEventListener("abort", onAbort, { once: true });
          if (timeout !== undefined) {
            timer = setTimeout(() => {
              gaveUp = true;
              reject(new SocketError("ETIMEDOUT", `Cannot receive on ${this.#address}: timed out after ${timeout} ms`));
            }, timeout);
          }
        });
        raw = await Promise.race([next, givenUp]);
      }
    } catch (err) {
      // A failed runtime receive is spent; one merely given up on is kept.
      if (!gaveUp) this.#next = null;
      if (this.#closed) throw this.#closedError("receive on", this.#address);
      throw err;
    } finally {
      this.#receiving = false;
      clearTimeout(timer);
      if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
    }
    this.#next = null;
    if (raw === null) throw this.#closedError("receive on", this.#address);
    return { data: raw.data, remote: raw.remote };
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
 * `EINVAL` for a hostname that is not an IP address.
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
  const hostname = options.hostname ?? "0.0.0.0";
  const port = options.port ?? 0;
  const address = formatAddress({ hostname, port });
  checkAddress("bind", { hostname, port });
  if (ipFamily(hostname) === undefined) {
    throw new SocketError("EINVAL", `Cannot bind ${address}: hostname must be an IP address`);
  }
  checkSignal(options.signal, "bind", address);
  const runtime = await currentRuntime();
  const raw = await runtime.bindDatagram({ hostname, port });
  if (options.signal?.aborted) {
    raw.close();
    checkSignal(options.signal, "bind", address);
  }
  return new UdpSocket(raw, options.signal);
}
