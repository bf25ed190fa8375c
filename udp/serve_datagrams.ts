/**
 * A datagram server: a loop that answers each datagram and stays up whatever
 * arrives.
 *
 * @module
 */

import type { NetAddr, RuntimeDatagram } from "../runtime/types.ts";
import { formatAddress, SocketError } from "../socket_error.ts";
import { rawSockets } from "./_raw_socket.ts";
import { bind, type BindOptions, type Datagram, type DatagramSocket } from "./datagram_socket.ts";

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

const utf8 = new TextEncoder();

// Receives and replies through the runtime's socket: every datagram's
// sender is an IP literal of the socket's family, so the public `send()`'s
// address checks (a regular expression and a formatted address each) would
// only cost time, as would `receive()`'s option checks and an async
// iterator's extra promises per datagram.
async function serve(
  socket: DatagramSocket,
  handler: DatagramHandler,
  onError: (error: unknown, datagram: Datagram) => void,
): Promise<void> {
  const { raw, maxPayload } = rawSockets.get(socket)!;
  let scratch: Uint8Array | undefined;
  try {
    for (;;) {
      const datagram = await raw.receive();
      if (datagram === null) return;
      let reply: DatagramReply | Promise<DatagramReply>;
      try {
        reply = handler(datagram.data, datagram.remote);
        // Awaiting a plain value would cost a turn of the microtask queue.
        if (typeof reply === "object" && !(reply instanceof Uint8Array)) reply = await reply;
      } catch (err) {
        onError(err, datagram);
        continue;
      }
      if (reply === undefined) continue;
      try {
        // Awaited before the next receive: the runtime may still be reading
        // `scratch`, and a server that never waits could queue sends without
        // bound.
        await raw.send(
          replyBytes(reply, datagram, maxPayload, scratch ??= new Uint8Array(SCRATCH_BYTES)),
          datagram.remote,
        );
      } catch (err) {
        // Closed while the handler ran: the loop ends at the next receive.
        if (!(err instanceof SocketError && err.code === "ECLOSED")) onError(err, datagram);
      }
    }
  } finally {
    socket.close();
  }
}

// Large enough for any payload: a string that does not fit is too long.
const SCRATCH_BYTES = 65_536;

// A reply as one datagram's payload; throws what `send()` would. Strings
// are encoded into `scratch`, reused once the previous send has resolved:
// a fresh buffer per reply (`encode()`) cost Node and Deno ~250 ns more.
function replyBytes(reply: unknown, datagram: RuntimeDatagram, maxPayload: number, scratch: Uint8Array): Uint8Array {
  let bytes: Uint8Array;
  if (typeof reply === "string") {
    const { read, written } = utf8.encodeInto(reply, scratch);
    bytes = read === reply.length ? scratch.subarray(0, written) : utf8.encode(reply);
  } else if (reply instanceof Uint8Array) {
    bytes = reply;
  } else {
    throw new TypeError(`A datagram handler must return a Uint8Array, a string or undefined, not ${typeof reply}`);
  }
  if (bytes.byteLength > maxPayload) {
    throw new SocketError(
      "EMSGSIZE",
      `Cannot send to ${
        formatAddress(datagram.remote)
      }: message too long (${bytes.byteLength} bytes; one datagram holds at most ${maxPayload})`,
    );
  }
  return bytes;
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
  const finished = serve(socket, handler, onError);
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
