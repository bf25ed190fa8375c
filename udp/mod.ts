/**
 * UDP: datagram sockets that never truncate silently, requests that retry
 * through loss, and a datagram server that stays up whatever arrives.
 *
 * ```ts
 * import { bind, request, serveDatagrams } from "./mod.ts";
 *
 * await using server = await serveDatagrams({ hostname: "127.0.0.1", port: 0 }, (data) =>
 *   new TextDecoder().decode(data).toUpperCase());
 * await using socket = await bind({ hostname: "127.0.0.1", port: 0 });
 * const reply = await request("ping", { socket, to: server.addr, timeout: 1000, retries: 2 });
 * console.log(new TextDecoder().decode(reply.data)); // PING
 * ```
 *
 * @module
 */

export * from "./datagram_socket.ts";
export * from "./request.ts";
export * from "./serve_datagrams.ts";
/** A network address: transport, IP literal and port. */
export type { NetAddr } from "../runtime/contract.ts";
export * from "../socket_error.ts";
