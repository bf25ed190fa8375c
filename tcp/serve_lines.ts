/**
 * A line-protocol server in one call.
 *
 * @module
 */

import { answerEnding, LineAnswerer } from "./_answer_lines.ts";
import { startServer } from "./_tcp_server.ts";
import type { LineResponder } from "./answer_lines.ts";
import type { ServeOptions, Server } from "./serve.ts";
import type { Addr, UnixAddr } from "../runtime/contract.ts";

/**
 * Serves a line protocol: each line a client sends is answered with
 * `respond(line)`. Pipelined lines are answered in one write; a line over
 * `maxLineBytes` gets `ERROR line too long (over N bytes)` and the connection
 * is closed (see `answerLines`). On shutdown, every line a client sends is
 * still answered until it ends its stream, for up to `gracefulTimeout`.
 *
 * @example The textbook's uppercase server in one line
 * ```ts
 * import { connect, serveLines, uppercase } from "../mod.ts";
 *
 * await using server = await serveLines({ hostname: "127.0.0.1", port: 0 }, uppercase);
 * await using conn = await connect({ port: server.addr.port });
 * await conn.write("hello\n");
 * if ((await conn.readLine()) !== "HELLO") throw new Error("not uppercased");
 * ```
 */
export function serveLines(
  options: ServeOptions<UnixAddr> & { path: string },
  respond: LineResponder,
): Promise<Server<UnixAddr>>;
/** Serves a line protocol over TCP: see the signature above. */
export function serveLines(options: ServeOptions, respond: LineResponder): Promise<Server>;
/** Both signatures above, in one: the server is the same for either kind of address. */
export function serveLines(
  options: ServeOptions<UnixAddr> | ServeOptions,
  respond: LineResponder,
): Promise<Server<Addr>> {
  const answerer = new LineAnswerer(respond);
  // Not the shutdown signal: a shutdown answers every line the peer sends
  // until it ends its stream, or the grace period does.
  return startServer(
    options as ServeOptions<Addr>,
    undefined,
    (conn, _context, end) => answerEnding(conn, answerer, undefined, end),
  );
}
