/**
 * A datagram server: a loop that answers each datagram and stays up whatever
 * arrives.
 *
 * @module
 */

import type { DatagramAnswerer, NetAddr, PumpReply, RuntimeDatagramSocket } from "../runtime/types.ts";
import { formatAddress, SocketError } from "../socket_error.ts";
import { bindRaw, droppedBy } from "./_raw_socket.ts";
import type { BindOptions, Datagram } from "./datagram_socket.ts";

/** What a {@linkcode DatagramHandler} answers: bytes or text to send back, or nothing. */
export type DatagramReply = Uint8Array | string | undefined | void;

/**
 * Handles one datagram; what it returns, if anything, goes back to the
 * sender. Returned bytes are the server's from then on: it may still be
 * sending them when the handler next runs, so return a fresh array (or the
 * datagram's own `data`), not one the handler will change again.
 */
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

// The bound runtime socket the server runs on, and how it is stopped.
interface Served {
  raw: RuntimeDatagramSocket;
  maxPayload: number;
  close(): void;
}

// Receives and replies through the runtime's socket, not a public
// DatagramSocket: every datagram's sender is an IP literal of the socket's
// family, so the public `send()`'s address checks (a regular expression and
// a formatted address each) would only cost time, as would `receive()`'s
// option checks, its queue and an async iterator's extra promises per
// datagram.
async function serve(
  served: Served,
  handler: DatagramHandler,
  onError: (error: unknown, datagram: Datagram) => void,
): Promise<void> {
  const { raw, maxPayload } = served;
  const answers = new Answers(handler, onError, maxPayload, () => served.close());
  try {
    // Push mode where the runtime pushes datagrams (Node, Bun): no promise
    // per datagram, as in a raw server's receive callback.
    if (raw.answerEach !== undefined) await raw.answerEach(answers);
    else await pull(raw, answers);
    if (answers.failure !== NONE) throw answers.failure;
  } finally {
    served.close();
  }
}

// The receive loop for runtimes whose receive is pulled (Deno's
// `listenDatagram`).
async function pull(raw: RuntimeDatagramSocket, answers: Answers): Promise<void> {
  let scratch: Uint8Array | undefined;
  for (;;) {
    const datagram = await raw.receive();
    if (datagram === null) return;
    const { data, remote } = datagram;
    let reply: PumpReply;
    try {
      const answer = answers.answer(data, remote);
      // Awaiting a plain value would cost a turn of the microtask queue.
      reply = typeof answer === "object" && !(answer instanceof Uint8Array) ? await answer : answer;
    } catch (err) {
      answers.fail(err, data, remote);
      continue;
    }
    if (reply === undefined) continue;
    let bytes: Uint8Array;
    if (typeof reply === "string") {
      // Encoded into `scratch`, reused once the previous send has resolved:
      // a fresh buffer per reply cost Deno ~250 ns more.
      scratch ??= new Uint8Array(SCRATCH_BYTES);
      bytes = scratch.subarray(0, utf8.encodeInto(reply, scratch).written);
    } else {
      bytes = reply;
    }
    try {
      // Awaited before the next receive: the runtime may still be reading
      // `scratch`, and a server that never waits could queue sends without
      // bound.
      await raw.send(bytes, remote);
    } catch (err) {
      // Closed while the handler ran: the loop ends at the next receive.
      if (!(err instanceof SocketError && err.code === "ECLOSED")) answers.fail(err, data, remote);
    }
  }
}

const NONE = Symbol("none");

// Large enough for any text reply `Answers` lets through as a string.
const SCRATCH_BYTES = 65_536;

// The user's handler, with its replies checked: what comes out fits in one
// datagram, as a string (of at most a third as many UTF-16 units as the
// payload may have bytes) or as bytes.
class Answers implements DatagramAnswerer {
  // What `onError` itself threw: the server stops, and `finished` rejects
  // with it. `NONE` while nothing did.
  failure: unknown = NONE;
  #handler: DatagramHandler;
  #onError: (error: unknown, datagram: Datagram) => void;
  #maxPayload: number;
  #stop: () => void;

  constructor(
    handler: DatagramHandler,
    onError: (error: unknown, datagram: Datagram) => void,
    maxPayload: number,
    stop: () => void,
  ) {
    this.#handler = handler;
    this.#onError = onError;
    this.#maxPayload = maxPayload;
    this.#stop = stop;
  }

  answer(data: Uint8Array, remote: NetAddr): PumpReply | Promise<PumpReply> {
    const reply = this.#handler(data, remote);
    if (typeof reply === "object" && !(reply instanceof Uint8Array)) {
      return Promise.resolve(reply).then((settled) => this.#checked(settled, remote));
    }
    return this.#checked(reply, remote);
  }

  fail(error: unknown, data: Uint8Array, remote: NetAddr): void {
    try {
      this.#onError(error, { data, remote });
    } catch (err) {
      // Not thrown on: in push mode that would be into the runtime's receive
      // callback, an uncaught exception.
      if (this.failure === NONE) this.failure = err;
      this.#stop();
    }
  }

  // Throws what `send()` would.
  #checked(reply: unknown, remote: NetAddr): PumpReply {
    // UTF-8 needs at most 3 bytes per UTF-16 code unit: a short string fits.
    if (typeof reply === "string" && reply.length * 3 <= this.#maxPayload) return reply;
    if (reply === undefined) return undefined;
    const bytes = typeof reply === "string" ? utf8.encode(reply) : reply;
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError(`A datagram handler must return a Uint8Array, a string or undefined, not ${typeof reply}`);
    }
    if (bytes.byteLength > this.#maxPayload) {
      throw new SocketError(
        "EMSGSIZE",
        `Cannot send to ${
          formatAddress(remote)
        }: message too long (${bytes.byteLength} bytes; one datagram holds at most ${this.#maxPayload})`,
      );
    }
    return bytes;
  }
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
  const { raw, maxPayload } = await bindRaw(options);
  const { signal } = options;
  const close = () => {
    signal?.removeEventListener("abort", close);
    raw.close();
  };
  signal?.addEventListener("abort", close, { once: true });
  const finished = serve({ raw, maxPayload, close }, handler, onError);
  // Reported through `finished`; without a listener it would be unhandled.
  finished.catch(() => {});
  return {
    addr: raw.addr,
    get dropped() {
      return droppedBy(raw);
    },
    finished,
    close,
    async [Symbol.asyncDispose]() {
      close();
      await finished;
    },
  };
}
