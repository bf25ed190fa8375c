/**
 * TCP: connections, listeners, servers with limits and graceful shutdown,
 * and a pipelining line client.
 *
 * ```ts
 * import { connect, serveLines } from "./mod.ts";
 * import { uppercase } from "../protocol/mod.ts";
 *
 * await using server = await serveLines({ hostname: "127.0.0.1", port: 0 }, uppercase);
 * await using conn = await connect({ port: server.addr.port });
 * await conn.write("hello\n");
 * console.log(await conn.readLine()); // HELLO
 * ```
 *
 * @module
 */

export * from "./conn.ts";
export * from "./listen.ts";
export * from "./connect.ts";
export * from "./start_tls.ts";
export * from "./tls_options.ts";
export * from "./answer_lines.ts";
export * from "./serve.ts";
export * from "./serve_lines.ts";
export * from "./line_client.ts";
export * from "../socket_error.ts";
