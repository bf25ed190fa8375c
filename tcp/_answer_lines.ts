/**
 * The request/reply loop behind `answerLines` and `serveLines`. Internal.
 *
 * @module
 */

import { SocketError } from "../socket_error.ts";
import type { Addr } from "../runtime/contract.ts";
import type { ConnEnd } from "./_tcp_server.ts";
import { type PushAnswerer, type PushConn, pushConnOf, type PushEnd } from "./_push.ts";
import type { LineResponder } from "./answer_lines.ts";
import type { Conn } from "./conn.ts";
import { linger } from "./_linger.ts";

/** Answers `conn`'s lines until the peer ends the stream or `signal` fires: see `answerLines`. */
export async function answer(conn: Conn<Addr>, respond: LineResponder, signal: AbortSignal | undefined): Promise<void> {
  // Whether the peer's end of stream has been read, so nothing is left unread.
  let ended = false;
  // Answering as bytes arrive, with no promise per request, until the
  // stream ends or the signal fires; what is left (a last line without a
  // newline, or lines that arrived with the shutdown) is pulled after.
  const push = pushConnOf(conn);
  if (push !== undefined) {
    try {
      const pushed = await new Promise<boolean | undefined>((resolve, reject) => {
        const end = { pushEnded: resolve, pushFailed: reject };
        if (!push.pushTo(new LineAnswerer(respond), end, signal)) resolve(undefined);
      });
      const failure = push.pushFailure;
      if (failure !== undefined) throw failure.reason;
      // At the end of the stream with every line answered, pulled reads
      // would only find that end again, for an async call and its promises.
      ended = pushed === true && push.bufferedBytes === 0;
    } catch (err) {
      return await answerFailed(conn, signal, err);
    }
  }
  return await answerPulled(conn, respond, signal, false, ended);
}

/**
 * `answer()` for a server's handler that reports its end to `end` (see
 * `EndingHandler`) and whose server closes `conn` then: while it waits for
 * bytes, a connection holds no promise, generator or closure for it. One
 * `answerer` serves all of a server's connections.
 */
export function answerEnding(
  conn: Conn<Addr>,
  answerer: LineAnswerer,
  signal: AbortSignal | undefined,
  end: ConnEnd,
): void {
  const push = pushConnOf(conn);
  if (push !== undefined && push.pushTo(answerer, new ServedLines(push, answerer.respond, signal, end), signal)) {
    return;
  }
  reportTo(end, answerPulled(conn, answerer.respond, signal, true, false));
}

// The pulled loop, after push mode or instead of it; `closing` when the
// caller closes `conn` once this resolves, `ended` when the peer's end of
// stream has been read already.
async function answerPulled(
  conn: Conn<Addr>,
  respond: LineResponder,
  signal: AbortSignal | undefined,
  closing: boolean,
  ended: boolean,
): Promise<void> {
  try {
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
    return await answerFailed(conn, signal, err);
  }
  // Every reply has been handed to the kernel (writes and the pump resolve
  // only then). Once the peer's end of stream has been read there is nothing
  // unread that would turn a close into a reset, so a server about to close
  // closes now: the kernel sends the replies, then the FIN, as a half-close
  // would, for one system call and no promise instead of two and one.
  if (closing && ended) conn.close();
  else await conn.closeWrite();
}

// What is still owed to the peer once answering failed with `err`; rejects
// with `err` for a failure the caller must hear of.
async function answerFailed(conn: Conn<Addr>, signal: AbortSignal | undefined, err: unknown): Promise<void> {
  if (!(err instanceof SocketError)) throw err;
  if (err.code === "EABORTED" && signal?.aborted) {
    // Shutting down between requests: nothing is owed but the end of stream.
    await conn.closeWrite();
  } else if (err.code === "ELINETOOLONG") {
    await refuseLongLine(conn, err);
  } else {
    throw err;
  }
}

function reportTo(end: ConnEnd, done: Promise<void>): void {
  done.then(() => end.done(), (err) => end.failed(err));
}

/**
 * Answers lines in push mode (see _push.ts), for any number of
 * connections: what a connection's answering keeps of its own (a failure)
 * is kept by the connection, and a request reads nothing of the answerer
 * that another request has not just read.
 */
export class LineAnswerer implements PushAnswerer {
  readonly respond: LineResponder;

  constructor(respond: LineResponder) {
    this.respond = respond;
  }

  answer(conn: PushConn): string | Promise<string> {
    let reply = "";
    try {
      // The usual request, one line in a chunk of its own, is taken alone:
      // an array for it cost Bun about 2% of a request's CPU time at one in
      // flight. Lines behind it (pipelined requests) come in one batch.
      const first = conn.bufferedLine();
      if (first === undefined) return reply;
      const answer = this.respond(first);
      if (typeof answer !== "string") return this.#finish(conn, reply, answer, undefined);
      reply = answer + "\n";
      if (conn.bufferedBytes === 0) return reply;
      const lines = conn.bufferedLines();
      for (let i = 0; i < lines.length; i++) {
        const answer = this.respond(lines[i]);
        if (typeof answer !== "string") return this.#finish(conn, reply, answer, lines.slice(i + 1));
        reply += answer + "\n";
      }
    } catch (err) {
      return failed(conn, err, reply);
    }
    return reply;
  }

  // The rest of a batch once a responder answered with a promise: `rest`,
  // or, when that is `undefined`, the lines buffered once `pending` has
  // settled, those that arrived meanwhile included.
  async #finish(conn: PushConn, reply: string, pending: Promise<string>, rest: string[] | undefined): Promise<string> {
    try {
      reply += (await pending) + "\n";
      for (const line of rest ?? conn.bufferedLines()) reply += (await this.respond(line)) + "\n";
    } catch (err) {
      return failed(conn, err, reply);
    }
    return reply;
  }
}

// Answering `conn` failed with `err`: the pump stops once `reply`, the
// replies to the lines before the failing one, is sent, and its caller
// then reports `err` (see PushConn.failPush).
function failed(conn: PushConn, err: unknown, reply: string): string {
  conn.failPush(err);
  return reply;
}

// A pump's end for answerEnding(): goes on to the pulled loop, if anything
// is left for it, and then to the server.
class ServedLines implements PushEnd {
  readonly conn: PushConn;
  readonly respond: LineResponder;
  #signal: AbortSignal | undefined;
  #end: ConnEnd;

  constructor(conn: PushConn, respond: LineResponder, signal: AbortSignal | undefined, end: ConnEnd) {
    this.conn = conn;
    this.respond = respond;
    this.#signal = signal;
    this.#end = end;
  }

  // Both come at once, maybe from inside answer() before its reply is sent:
  // what follows waits for a microtask, as it would for the pump's promise.
  pushEnded(ended: boolean): void {
    queueMicrotask(() => this.#pushed(ended));
  }

  pushFailed(reason: unknown): void {
    queueMicrotask(() => reportTo(this.#end, answerFailed(this.conn, this.#signal, reason)));
  }

  #pushed(ended: boolean): void {
    const conn = this.conn;
    const failure = conn.pushFailure;
    if (failure !== undefined) {
      reportTo(this.#end, answerFailed(conn, this.#signal, failure.reason));
    } else if (ended && conn.bufferedBytes === 0) {
      // Nothing left unread: closed at once, as answerPulled() would.
      conn.close();
      this.#end.done();
    } else {
      reportTo(this.#end, answerPulled(conn, this.respond, this.#signal, true, false));
    }
  }
}

async function refuseLongLine(conn: Conn<Addr>, err: SocketError): Promise<void> {
  const limit = err.limit ?? "the limit";
  await conn.write(`ERROR line too long (over ${limit} bytes)\n`);
  await linger(conn);
}
