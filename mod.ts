/**
 * doorway: TCP and UDP sockets for TypeScript, the same on Deno, Bun and Node.
 *
 * ```ts
 * import { answerLines, connect, listen, uppercase } from "./mod.ts";
 *
 * await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * (async () => {
 *   for await (const conn of listener) {
 *     answerLines(conn, uppercase).catch((err) => console.error(err.message)).finally(() => conn.close());
 *   }
 * })();
 *
 * await using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * await conn.write("hello, world\n");
 * console.log(await conn.readLine()); // HELLO, WORLD
 * ```
 *
 * @module
 */

export * from "./socket_error.ts";
export * from "./tcp/conn.ts";
export * from "./tcp/listen.ts";
export * from "./tcp/connect.ts";
export * from "./tcp/start_tls.ts";
export * from "./tcp/tls_options.ts";
export * from "./tcp/answer_lines.ts";
export * from "./protocol/line_decoder.ts";
export * from "./protocol/uppercase.ts";
export * from "./tcp/serve.ts";
export * from "./tcp/serve_lines.ts";
export * from "./tcp/line_client.ts";
export * from "./protocol/frame_decoder.ts";
export * from "./protocol/frame_encoder.ts";
export * from "./udp/datagram_socket.ts";
export * from "./udp/request.ts";
export * from "./udp/serve_datagrams.ts";
