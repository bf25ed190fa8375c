/**
 * The request/reply loop of a line protocol on one connection.
 *
 * @module
 */

import { SocketError } from "../socket_error.ts";
import { type PumpAnswerer, TcpConn } from "./_tcp_conn.ts";
import type { Conn } from "./conn.ts";

/** Turns one request line into its reply line (without the newline). */
export type LineResponder = (line: string) => string | Promise<string>;

/** Options for {@linkcode answerLines}. */
export interface AnswerLinesOptions {
  /** Turns each request line into its reply. */
  respond: LineResponder;
  /**
   * Ends the loop gracefully when it fires: lines already received are
   * answered, then the connection is half-closed. A server's shutdown signal.
   */
  signal?: AbortSignal;
}

// How long, at most, to keep reading (and discarding) after refusing an
// over-long line, so that the refusal reaches the peer instead of a reset.
const LINGER_MS = 2000;
const LINGER_BYTES = 1024 * 1024;

/**
 * Answers every line `conn` receives with `respond(line)` and a `\n`, until
 * the peer ends the stream or `signal` fires; then half-closes. Replies to
 * lines that arrived together (pipelined) go out in one write, in order,
 * instead of one write (and one TCP segment) per line.
 *
 * A line over the connection's `maxLineBytes` gets the reply
 * `ERROR line too long (over N bytes)`, then the connection is half-closed
 * and what the peer still sends is read and dropped (at most 1 MiB, for at
 * most 2 s) so the refusal is not lost to a TCP reset. Memory stays bounded
 * by `maxLineBytes` whatever the peer sends.
 *
 * @example Answering lines with their uppercase
 * ```ts
 * import { answerLines, connect, listen, uppercase } from "../mod.ts";
 *
 * await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * await using client = await connect({ port: listener.addr.port });
 * const served = listener.accept().then((conn) => answerLines(conn, uppercase));
 * await client.write("one\ntwo\n");
 * await client.closeWrite();
 * if ((await client.readLine()) !== "ONE" || (await client.readLine()) !== "TWO") throw new Error("bad reply");
 * await served;
 * ```
 */
export async function answerLines(conn: Conn, options: LineResponder | AnswerLinesOptions): Promise<void> {
  if (typeof options === "function") return await answer(conn, options, undefined, false);
  return await answer(conn, options.respond, options.signal, false);
}

/**
 * {@linkcode answerLines} for a server that closes `conn` as soon as this
 * returns (`serveLines`). Internal.
 */
export function answerLinesThenClose(
  conn: Conn,
  respond: LineResponder,
  signal: AbortSignal | undefined,
): Promise<void> {
  return answer(conn, respond, signal, true);
}

async function answer(
  conn: Conn,
  respond: LineResponder,
  signal: AbortSignal | undefined,
  closing: boolean,
): Promise<void> {
  // Whether the peer's end of stream has been read, so nothing is left unread.
  let ended = false;
  try {
    // Answering as bytes arrive, with no promise per request, until the
    // stream ends or the signal fires; what is left (a last line without a
    // newline, or lines that arrived with the shutdown) is pulled below.
    if (conn instanceof TcpConn) {
      const answerer = new PushedLines(conn, respond);
      const pumped = await conn.pump(answerer, signal);
      if (answerer.failure !== NONE) throw answerer.failure;
      // At the end of the stream with every line answered, pulled reads
      // would only find that end again, for an async call and its promises.
      ended = pumped === true && conn.bufferedBytes === 0;
    }
    const read = ended || signal === undefined ? undefined : { signal };
    while (!ended) {
      const lines = await conn.readLines(read);
      if (lines === null) {
        ended = true;
        break;
      }
      let reply = "";
      try {
        for (const line of lines) {
          // A responder that answers at once is not awaited: an await costs
          // a trip through the microtask queue per line.
          const answer = respond(line);
          reply += (typeof answer === "string" ? answer : await answer) + "\n";
        }
      } catch (err) {
        // The lines before the failing one are owed their replies.
        if (reply !== "") await conn.write(reply).catch(() => {});
        throw err;
      }
      await conn.write(reply);
    }
  } catch (err) {
    if (!(err instanceof SocketError)) throw err;
    if (err.code === "EABORTED" && signal?.aborted) {
      // Shutting down between requests: nothing is owed.
    } else if (err.code === "ELINETOOLONG") {
      await refuseLongLine(conn, err);
      return;
    } else {
      throw err;
    }
  }
  // Every reply has been handed to the kernel (writes and the pump resolve
  // only then). Once the peer's end of stream has been read there is nothing
  // unread that would turn a close into a reset, so a server about to close
  // closes now: the kernel sends the replies, then the FIN, as a half-close
  // would, for one system call and no promise instead of two and one.
  if (closing && ended) conn.close();
  else await conn.closeWrite();
}

// Answers in push mode (see TcpConn.pump). One object per connection, with
// no closures: it is what an idle connection keeps.
class PushedLines implements PumpAnswerer {
  // What answering failed with, thrown once the pump has sent the replies to
  // the lines before the failing one; `NONE` while nothing failed.
  failure: unknown = NONE;
  #conn: TcpConn;
  #respond: LineResponder;

  constructor(conn: TcpConn, respond: LineResponder) {
    this.#conn = conn;
    this.#respond = respond;
  }

  answer(): string | Promise<string> {
    const conn = this.#conn;
    let reply = "";
    try {
      for (let line = conn.bufferedLine(); line !== undefined; line = conn.bufferedLine()) {
        const answer = this.#respond(line);
        if (typeof answer !== "string") return this.#finish(reply, answer);
        reply += answer + "\n";
      }
    } catch (err) {
      return this.#fail(err, reply);
    }
    return reply;
  }

  // The rest of a batch once a responder answered with a promise.
  async #finish(reply: string, pending: Promise<string>): Promise<string> {
    const conn = this.#conn;
    try {
      reply += (await pending) + "\n";
      for (let line = conn.bufferedLine(); line !== undefined; line = conn.bufferedLine()) {
        reply += (await this.#respond(line)) + "\n";
      }
    } catch (err) {
      return this.#fail(err, reply);
    }
    return reply;
  }

  #fail(err: unknown, reply: string): string {
    this.failure = err;
    this.#conn.stopPump();
    return reply;
  }
}

const NONE = Symbol("none");

async function refuseLongLine(conn: Conn, err: SocketError): Promise<void> {
  const limit = /longer than (\d+) bytes/.exec(err.message)?.[1] ?? "the limit";
  await conn.write(`ERROR line too long (over ${limit} bytes)\n`);
  await conn.closeWrite();
  const buffer = new Uint8Array(64 * 1024);
  const signal = AbortSignal.timeout(LINGER_MS);
  let dropped = 0;
  try {
    while (dropped < LINGER_BYTES) {
      const n = await conn.read(buffer, { signal });
      if (n === null) break;
      dropped += n;
    }
  } catch {
    // The peer reset or lingered too long: the refusal was sent either way.
  }
}
