/**
 * Connecting over TCP on Deno, for plain TCP and as TLS's first step. The
 * socket becomes a `DenoConn` (conn.ts); listening is in mod.ts, with the
 * accept loop of listener.ts.
 *
 * @module
 */

/**
 * Connects to a TCP address; rejects with Deno's error. `signal` gives the
 * attempt up, and Deno then drops the half-open socket itself.
 *
 * @example Connecting to a listener
 * ```ts ignore
 * import { connectTcp } from "./tcp.ts";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const conn = await connectTcp({ hostname: "127.0.0.1", port: listener.addr.port });
 * conn.close();
 * listener.close();
 * ```
 */
export async function connectTcp(
  options: { hostname: string; port: number; signal?: AbortSignal },
): Promise<Deno.TcpConn> {
  const { signal } = options;
  signal?.throwIfAborted();
  const conn = await Deno.connect({ hostname: options.hostname, port: options.port, transport: "tcp", signal });
  if (signal?.aborted) {
    // Connected in the same turn as the abort: nobody will take it.
    conn.close();
    throw signal.reason;
  }
  return conn;
}
