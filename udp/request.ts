/**
 * A datagram request with a reply: send, wait, resend on timeout.
 *
 * @module
 */

import { checkSignal } from "../_options.ts";
import { formatAddress, SocketError } from "../socket_error.ts";
import type { Datagram, DatagramSocket, DatagramTarget } from "./datagram_socket.ts";

/** Options for {@linkcode request}. */
export interface DatagramRequestOptions {
  /** The socket to send from and receive the reply on. */
  socket: DatagramSocket;
  /** Where the request goes; only a datagram from this address can answer it. */
  to: DatagramTarget;
  /** How long each try waits for the reply, in milliseconds. Defaults to 1000. */
  timeout?: number;
  /** How many times to resend after the first try times out. Defaults to 2. */
  retries?: number;
  /** Gives up with `EABORTED` when it fires. */
  signal?: AbortSignal;
  /**
   * Whether a datagram from `to` answers this request, such as a reply that
   * carries the request's sequence number. Those that fail it (a late reply
   * to an earlier request) are dropped. Defaults to accepting any.
   */
  accept?: (reply: Datagram) => boolean;
}

const MAX_TIMEOUT = 2 ** 31 - 1;

// The same address written two ways (`::1`, `0:0::1`) must compare equal;
// the URL parser writes IPv6 addresses the one standard way.
function canonicalHost(hostname: string): string {
  if (!hostname.includes(":")) return hostname;
  try {
    return new URL(`http://[${hostname}]/`).hostname;
  } catch {
    return hostname.toLowerCase();
  }
}

/**
 * Sends `data` to `to` and resolves with the reply. Each try waits `timeout`
 * ms for a datagram from `to`; one that does not come means a resend, up to
 * `retries` times, then `ETIMEDOUT`. Datagrams from any other address are
 * dropped, never taken for the reply. The socket must not be receiving
 * elsewhere meanwhile.
 *
 * @example Asking an echo server, resending if the reply is lost
 * ```ts
 * import { bind } from "./datagram_socket.ts";
 * import { request } from "./request.ts";
 *
 * await using server = await bind({ hostname: "127.0.0.1" });
 * (async () => {
 *   for await (const { data, remote } of server) await server.send(data, remote);
 * })();
 * await using socket = await bind({ hostname: "127.0.0.1" });
 * const reply = await request("ping", { socket, to: server.addr, timeout: 1000, retries: 3 });
 * if (new TextDecoder().decode(reply.data) !== "ping") throw new Error("wrong reply");
 * ```
 */
export async function request(data: Uint8Array | string, options: DatagramRequestOptions): Promise<Datagram> {
  const { socket, to, signal, accept } = options;
  const timeout = options.timeout ?? 1000;
  const retries = options.retries ?? 2;
  const address = formatAddress({ hostname: String(to?.hostname), port: to?.port });
  if (!(timeout >= 1 && timeout <= MAX_TIMEOUT)) {
    throw new SocketError("EINVAL", `Cannot request from ${address}: timeout must be from 1 to ${MAX_TIMEOUT} ms`);
  }
  if (!Number.isInteger(retries) || retries < 0) {
    throw new SocketError("EINVAL", `Cannot request from ${address}: retries must be a non-negative integer`);
  }
  checkSignal(signal, "request from", address);
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const host = canonicalHost(String(to?.hostname));
  for (let attempt = 0; attempt <= retries; attempt++) {
    await socket.send(bytes, to);
    // Datagrams that are not the reply do not extend the try.
    const deadline = performance.now() + timeout;
    for (;;) {
      const left = Math.ceil(deadline - performance.now());
      if (left <= 0) break;
      let reply: Datagram;
      try {
        reply = await socket.receive({ signal, timeout: left });
      } catch (err) {
        if (!(err instanceof SocketError)) throw err;
        if (err.code === "ETIMEDOUT") break;
        if (err.code === "EABORTED") throw new SocketError("EABORTED", `Cannot request from ${address}: aborted`);
        throw err;
      }
      if (reply.remote.port !== to.port || canonicalHost(reply.remote.hostname) !== host) continue;
      if (accept === undefined || accept(reply)) return reply;
    }
  }
  const tries = retries === 0 ? "" : ` ${retries + 1} tries of`;
  throw new SocketError("ETIMEDOUT", `Cannot request from ${address}: timed out after${tries} ${timeout} ms`);
}
