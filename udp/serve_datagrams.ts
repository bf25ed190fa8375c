/**
 * A datagram server: a loop that answers each datagram and stays up whatever
 * arrives.
 *
 * @module
 */

import type { NetAddr, RawDatagramSocket } from "../runtime/contract.ts";
import { formatAddress, SocketError } from "../socket_error.ts";
import { AnswerLoop, type DatagramAnswerer, type Reply } from "./_answer_loop.ts";
import { DatagramQueue } from "./_datagram_queue.ts";
import { bindRaw } from "./_raw_socket.ts";
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

// Replies handed to the runtime and not yet sent, past which answering
// waits: a handler faster than the network must not queue sends without bound.
const MAX_SENDING = 64;

// Answers through the runtime's socket, not a public DatagramSocket: every
// sender is an IP literal of the socket's family, so the public `send()`'s
// address checks would only cost time, as would `receive()`'s promise per
// datagram. Resolves once `loop` is closed and its last answer given.
function answerAll(raw: RawDatagramSocket, answers: Answers, queue: DatagramQueue): AnswerLoop {
  let sending = 0;
  const loop: AnswerLoop = new AnswerLoop(answers, queue, (reply, data, remote) => {
    sending++;
    raw.send(typeof reply === "string" ? utf8.encode(reply) : reply, remote).then(sent, (err) => {
      sent();
      // Closed while the reply was on its way: nothing is owed.
      if (!loop.closed) answers.fail(err, data, remote);
    });
    return sending < MAX_SENDING;
  });
  const sent = () => {
    if (--sending === MAX_SENDING / 2) loop.resume();
  };
  raw.start((data, remote) => loop.offer(data, remote));
  return loop;
}

const NONE = Symbol("none");

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

  answer(data: Uint8Array, remote: NetAddr): Reply | Promise<Reply> {
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
  #checked(reply: unknown, remote: NetAddr): Reply {
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
  const queue = new DatagramQueue();
  const answers = new Answers(handler, onError, maxPayload, () => close());
  const loop = answerAll(raw, answers, queue);
  const close = () => {
    signal?.removeEventListener("abort", close);
    loop.close();
    raw.close();
  };
  signal?.addEventListener("abort", close, { once: true });
  const finished = loop.finished.then(() => {
    if (answers.failure !== NONE) throw answers.failure;
  });
  // Reported through `finished`; without a listener it would be unhandled.
  finished.catch(() => {});
  return {
    addr: raw.addr,
    get dropped() {
      return queue.dropped;
    },
    finished,
    close,
    async [Symbol.asyncDispose]() {
      close();
      await finished;
    },
  };
}
