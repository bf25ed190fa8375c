/**
 * A datagram server: a loop that answers each datagram and stays up whatever
 * arrives.
 *
 * @module
 */

import type { NetAddr } from "../runtime/types.ts";
import { SocketError } from "../socket_error.ts";
import { bind, type BindOptions, type Datagram } from "./datagram_socket.ts";

/** What a {@linkcode DatagramHandler} answers: bytes or text to send back, or nothing. */
export type DatagramReply = Uint8Array | string | undefined | void;

/** Handles one datagram; what it returns, if anything, goes back to the sender. */
export type DatagramHandler = (data: Uint8Array, remote: NetAddr) => DatagramReply | Promise<DatagramReply>;

/** Options for {@linkcode serveDatagrams}. */
export interface ServeDatagramsOptions extends BindOptions {
  /**
   * Called when the handler throws or its reply cannot be sent, with the
   * datagram being handled. The server carries on either way. Defaults to
   * `console.error`.
   */
  onError?: (error: unknown, datagram: Datagram) => void;
}

/** A running {@linkcode serveDatagrams} loop. */
export interface DatagramServer extends AsyncDisposable {
  /** The bound address, with the real port when 0 was asked for. */
  readonly addr: NetAddr;
  /** Datagrams dropped because they came faster than the handler took them. */
  readonly dropped: number;
  /** Resolves once the server has stopped and its last handler has returned. */
  readonly finished: Promise<void>;
  /** Stops the server: closes its socket. Idempotent. */
  close(): void;
}

function logError(error: unknown): void {
  console.error(error);
}

/**
 * Binds a UDP socket and answers every datagram with `handler(data, remote)`
 * until `signal` fires or `close()` is called. Datagrams are handled one at
 * a time, in arrival order; those that arrive meanwhile wait in the socket's
 * bounded queue. Nothing a peer sends stops the server: a handler that
 * throws, or a reply to a sender that has gone (ICMP port unreachable), is
 * reported to `onError` and the loop goes on.
 *
 * @example An uppercase server, stopped by a signal
 * ```ts
 * import { bind } from "./datagram_socket.ts";
 * import { request } from "./request.ts";
 * import { serveDatagrams } from "./serve_datagrams.ts";
 *
 * const controller = new AbortController();
 * const server = await serveDatagrams(
 *   { hostname: "127.0.0.1", port: 0, signal: controller.signal },
 *   (data) => new TextDecoder().decode(data).toUpperCase(),
 * );
 * await using socket = await bind({ hostname: "127.0.0.1" });
 * const reply = await request("hello", { socket, to: server.addr });
 * if (new TextDecoder().decode(reply.data) !== "HELLO") throw new Error("not uppercased");
 * controller.abort();
 * await server.finished;
 * ```
 */
export async function serveDatagrams(
  options: ServeDatagramsOptions,
  handler: DatagramHandler,
): Promise<DatagramServer> {
  const onError = options.onError ?? logError;
  const socket = await bind(options);
  const finished = (async () => {
    try {
      for await (const datagram of socket) {
        let reply: DatagramReply;
        try {
          reply = await handler(datagram.data, datagram.remote);
        } catch (err) {
          onError(err, datagram);
          continue;
        }
        if (reply === undefined) continue;
        try {
          await socket.send(reply, datagram.remote);
        } catch (err) {
          // Closed while the handler ran: the loop ends at the next receive.
          if (!(err instanceof SocketError && err.code === "ECLOSED")) onError(err, datagram);
        }
      }
    } finally {
      socket.close();
    }
  })();
  // Reported through `finished`; without a listener it would be unhandled.
  finished.catch(() => {});
  return {
    addr: socket.addr,
    get dropped() {
      return socket.dropped;
    },
    finished,
    close: () => socket.close(),
    async [Symbol.asyncDispose]() {
      socket.close();
      await finished;
    },
  };
}
