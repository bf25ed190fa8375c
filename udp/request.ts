/**
 * A datagram request with a reply: send, wait, resend on timeout.
 *
 * @module
 */

import { checkAddress, checkSignal } from "../_options.ts";
import { currentRuntime } from "../runtime/select.ts";
import { lookupHost } from "./_lookup.ts";
import { formatAddress, SocketError } from "../socket_error.ts";
import { queuedDatagrams } from "./_raw_socket.ts";
import { sameAddress } from "./_same_address.ts";
import { bind, type Datagram, type DatagramSocket, type DatagramTarget } from "./datagram_socket.ts";

/** Options for {@linkcode request}. */
export interface DatagramRequestOptions {
  /**
   * The socket to send from and receive the reply on; it must not be
   * receiving elsewhere meanwhile. Left out, `request()` binds one of its
   * own for this request alone, on the wildcard address of the family `to`
   * resolves to, and closes it after: then no reply to another request,
   * however late, can be taken for this one's.
   */
  socket?: DatagramSocket;
  /**
   * Where the request goes: an IP address or a host name, looked up once.
   * Only a datagram from there can answer it.
   */
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

// One request, its checks done and its target an IP literal.
interface Exchange {
  bytes: Uint8Array;
  target: DatagramTarget;
  timeout: number;
  retries: number;
  signal: AbortSignal | undefined;
  accept: ((reply: Datagram) => boolean) | undefined;
  // `to` as given, for messages.
  address: string;
}

/**
 * Sends `data` to `to` and resolves with the reply. Each try waits `timeout`
 * ms for it; one that does not come means a resend, up to `retries` times,
 * then `ETIMEDOUT`.
 *
 * The reply is the first datagram from `to` received after the request was
 * first sent, to any of its tries, that `accept` (if given) takes. Datagrams
 * from any other address are dropped, and so are those from `to` that a
 * socket `bind()` made had received before the request was sent: late
 * replies to earlier requests. What cannot be told apart without something in the reply that
 * names its request is a reply to an earlier request on the same socket
 * that arrives after this one was sent: give `accept` a way to check it
 * (a sequence number, an id), or leave out `socket`, so that each request
 * has a socket, and a port, of its own.
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
 * const reply = await request("ping", { to: server.addr, timeout: 1000, retries: 3 });
 * if (new TextDecoder().decode(reply.data) !== "ping") throw new Error("wrong reply");
 * ```
 */
export async function request(data: Uint8Array | string, options: DatagramRequestOptions): Promise<Datagram> {
  const { socket, to, signal, accept } = options;
  const timeout = options.timeout ?? 1000;
  const retries = options.retries ?? 2;
  const hostname = typeof to?.hostname === "string" ? to.hostname : "";
  const port = to?.port;
  const address = formatAddress({ hostname, port });
  if (!(timeout >= 1 && timeout <= MAX_TIMEOUT)) {
    throw new SocketError("EINVAL", `Cannot request from ${address}: timeout must be from 1 to ${MAX_TIMEOUT} ms`);
  }
  if (!Number.isInteger(retries) || retries < 0) {
    throw new SocketError("EINVAL", `Cannot request from ${address}: retries must be a non-negative integer`);
  }
  checkAddress("request from", { hostname, port });
  if (port === 0) throw new SocketError("EINVAL", `Cannot request from ${address}: port must be from 1 to 65535`);
  checkSignal(signal, "request from", address);
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const exchange = (host: string): Exchange => ({
    bytes,
    target: { hostname: host, port },
    timeout,
    retries,
    signal,
    accept,
    address,
  });
  // Looked up once, so that every try goes to, and the reply is matched
  // against, the same address.
  const lookup = async (family?: 4 | 6) => {
    const found = await lookupHost(await currentRuntime(), hostname, { family, action: "request from", port });
    checkSignal(signal, "request from", address);
    return found;
  };
  if (socket !== undefined) {
    return await ask(socket, exchange(await lookup(socket.addr.hostname.includes(":") ? 6 : 4)));
  }
  const target = await lookup();
  const own = await bind({ hostname: target.includes(":") ? "::" : "0.0.0.0" });
  try {
    return await ask(own, exchange(target));
  } finally {
    own.close();
  }
}

async function ask(socket: DatagramSocket, exchange: Exchange): Promise<Datagram> {
  const { bytes, target, timeout, retries, signal, accept, address } = exchange;
  // Replies to earlier requests that came while nobody was asking.
  queuedDatagrams.get(socket)?.discard(target);
  for (let attempt = 0; attempt <= retries; attempt++) {
    await socket.send(bytes, target);
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
      if (!sameAddress(reply.remote, target)) continue;
      if (accept === undefined || accept(reply)) return reply;
    }
  }
  const tries = retries === 0 ? "" : ` ${retries + 1} tries of`;
  throw new SocketError("ETIMEDOUT", `Cannot request from ${address}: timed out after${tries} ${timeout} ms`);
}
