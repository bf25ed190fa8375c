/**
 * UDP on Bun: `Bun.udpSocket` behind the runtime contract.
 *
 * @module
 */

import type { AddrOptions, NetAddr, RawDatagramSocket } from "../contract.ts";
import { formatAddress, SocketError } from "../../socket_error.ts";
import { bun, type BunUdpSocket } from "./types.ts";

// Errors a send can report for an earlier datagram: the ICMP reply to it left
// a pending error (Bun sets IP_RECVERR) that the next send gets, failing
// before its own datagram goes out.
const STALE_ERRORS = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN"]);
// More stale errors than this in a row mean something else is wrong.
const MAX_STALE_RETRIES = 16;

interface PendingSend {
  data: Uint8Array;
  to: AddrOptions;
  resolve(): void;
  reject(reason: unknown): void;
}

function closedError(to: AddrOptions): SocketError {
  return new SocketError("ECLOSED", `Cannot send to ${formatAddress(to)}: socket is closed`);
}

class BunDatagramSocket implements RawDatagramSocket {
  #addr: NetAddr = { transport: "udp", hostname: "", port: 0 };
  #socket: BunUdpSocket | undefined = undefined;
  #onDatagram: ((data: Uint8Array, remote: NetAddr) => void) | undefined = undefined;
  // Datagrams that came before start(), handed over by it.
  #early: [Uint8Array, NetAddr][] = [];
  // Sends refused while the kernel's buffer was full, in call order, for `drain`.
  #sends: PendingSend[] = [];
  #closed = false;

  get addr(): NetAddr {
    return this.#addr;
  }

  /** Binds; the handlers must exist before Bun has a socket to call them for. */
  async bind(options: AddrOptions): Promise<void> {
    const socket = await bun().udpSocket({
      hostname: options.hostname,
      port: options.port,
      binaryType: "uint8array",
      socket: {
        data: (_socket, data, port, address, flags) => {
          // Part of a datagram is not the datagram: drop it as the kernel would.
          if (this.#closed || flags?.truncated) return;
          // Copied: Bun documents no fresh buffer per call, and the receiver owns it.
          const remote: NetAddr = { transport: "udp", hostname: address, port };
          if (this.#onDatagram !== undefined) this.#onDatagram(data.slice(), remote);
          else this.#early.push([data.slice(), remote]);
        },
        drain: () => this.#flush(),
        // An ICMP error for an earlier send: it closes nothing, and the next send skips it.
        error: () => {},
      },
    });
    this.#socket = socket;
    this.#addr = { transport: "udp", hostname: socket.address.address, port: socket.address.port };
  }

  start(onDatagram: (data: Uint8Array, remote: NetAddr) => void): void {
    this.#onDatagram = onDatagram;
    for (const [data, remote] of this.#early.splice(0)) onDatagram(data, remote);
  }

  send(data: Uint8Array, to: AddrOptions): Promise<void> {
    if (this.#closed) return Promise.reject(closedError(to));
    return new Promise((resolve, reject) => {
      this.#sends.push({ data, to, resolve, reject });
      if (this.#sends.length === 1) this.#flush();
    });
  }

  // Sends queued datagrams in call order until the kernel's buffer is full;
  // Bun keeps none that `send` refused, and calls `drain` once there is room.
  #flush(): void {
    const socket = this.#socket!;
    while (this.#sends.length > 0 && !this.#closed) {
      const item = this.#sends[0];
      try {
        if (!sendNow(socket, item)) return;
      } catch (err) {
        this.#sends.shift();
        item.reject(err);
        continue;
      }
      this.#sends.shift();
      item.resolve();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#early = [];
    try {
      this.#socket?.close();
    } catch {
      // Already closed by Bun: there is nothing left to close.
    }
    for (const item of this.#sends.splice(0)) item.reject(closedError(item.to));
  }
}

// Sends one datagram; false if the kernel's buffer is full. Retries past
// errors left over from earlier datagrams (see STALE_ERRORS).
function sendNow(socket: BunUdpSocket, item: PendingSend): boolean {
  for (let stale = 0;; stale++) {
    try {
      return socket.send(item.data, item.to.port, item.to.hostname);
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (typeof code !== "string" || !STALE_ERRORS.has(code) || stale >= MAX_STALE_RETRIES) throw err;
    }
  }
}

/**
 * Binds a UDP socket to an IP literal with `Bun.udpSocket`.
 *
 * @example Sending a datagram to itself
 * ```ts ignore
 * import { bindDatagram } from "./udp.ts";
 *
 * const socket = await bindDatagram({ hostname: "127.0.0.1", port: 0 });
 * socket.start((data) => {
 *   console.log(new TextDecoder().decode(data)); // ping
 *   socket.close();
 * });
 * await socket.send(new TextEncoder().encode("ping"), socket.addr);
 * ```
 */
export async function bindDatagram(options: AddrOptions): Promise<RawDatagramSocket> {
  const socket = new BunDatagramSocket();
  await socket.bind(options);
  return socket;
}
