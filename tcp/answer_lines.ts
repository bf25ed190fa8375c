/**
 * The request/reply loop of a line protocol on one connection.
 *
 * @module
 */

import type { Conn } from "./conn.ts";

/** Turns one request line into its reply line (without the newline). */
export type LineResponder = (line: string) => string | Promise<string>;

/**
 * Answers every line `conn` receives with `respond(line)` and a `\n`, until
 * the peer ends the stream; then half-closes. Replies to lines that arrived
 * together (pipelined) go out in one write, in order, instead of one write
 * (and one TCP segment) per line.
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
export async function answerLines(conn: Conn, respond: LineResponder): Promise<void> {
  for (let lines = await conn.readLines(); lines !== null; lines = await conn.readLines()) {
    let reply = "";
    for (const line of lines) reply += (await respond(line)) + "\n";
    await conn.write(reply);
  }
  await conn.closeWrite();
}
