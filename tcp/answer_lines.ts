/**
 * The request/reply loop of a line protocol on one connection.
 *
 * @module
 */

import { answer } from "./_answer_lines.ts";
import type { Addr } from "../runtime/contract.ts";
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
 * If `respond` throws or rejects, the replies to the lines before that one
 * are sent and `answerLines` rejects with its error. Lines are taken in
 * batches, every complete line received by then: the rest of the failing
 * line's batch is dropped, not left to read.
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
export async function answerLines(conn: Conn<Addr>, options: LineResponder | AnswerLinesOptions): Promise<void> {
  if (typeof options === "function") return await answer(conn, options, undefined);
  return await answer(conn, options.respond, options.signal);
}
