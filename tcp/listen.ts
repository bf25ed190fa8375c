/**
 * Listening for TCP connections.
 *
 * @module
 */

import { checkAddress, checkConnOptions, checkSignal } from "../_options.ts";
import { currentRuntime } from "../runtime/select.ts";
import type { NetAddr } from "../runtime/contract.ts";
import { formatAddress, socketError } from "../socket_error.ts";
import { TcpListener } from "./_tcp_listener.ts";
import type { Conn, ConnOptions } from "./conn.ts";

/** Options for {@linkcode listen}. */
export interface ListenOptions extends ConnOptions {
  /** The address to bind. Defaults to `0.0.0.0`, every IPv4 interface. */
  hostname?: string;
  /** The port; 0 (the default) asks the OS for a free one, seen in `addr`. */
  port?: number;
  /** Closes the listener when it fires. */
  signal?: AbortSignal;
  /**
   * Hears of a failure to accept a connection (such as `EMFILE`, out of file
   * descriptors) while the listener is iterated; the iteration goes on after
   * a short pause. Defaults to one line on stderr.
   */
  onError?: (error: unknown) => void;
}

/**
 * A TCP listener. Iterate it to accept connections until it is closed.
 */
export interface Listener extends AsyncIterable<Conn>, AsyncDisposable {
  /** The bound address, with the real port when 0 was asked for. */
  readonly addr: NetAddr;
  /**
   * Waits for the next connection. Fails with `ECLOSED` once the listener is
   * closed, including a call pending when `close()` is called, and with the
   * runtime's reason when it cannot accept one (such as `EMFILE`); the
   * listener stays open then. Iterating the listener skips such failures
   * (see `onError`).
   */
  accept(): Promise<Conn>;
  /** Stops listening. Idempotent. Accepted connections stay open. */
  close(): void;
}

/**
 * Listens for TCP connections. Fails with `EADDRINUSE` when the address is
 * taken.
 *
 * @example Accepting connections until the listener closes
 * ```ts
 * import { connect, listen } from "../mod.ts";
 *
 * await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const conn = await listener.accept();
 * await client.write("hi\n");
 * if ((await conn.readLine()) !== "hi") throw new Error("lost the line");
 * client.close();
 * conn.close();
 * ```
 */
export async function listen(options: ListenOptions = {}): Promise<Listener> {
  const hostname = options.hostname ?? "0.0.0.0";
  const port = options.port ?? 0;
  checkAddress("listen on", { hostname, port });
  checkConnOptions("listen on", formatAddress({ hostname, port }), options);
  checkSignal(options.signal, "listen on", formatAddress({ hostname, port }));
  const runtime = await currentRuntime();
  let raw;
  try {
    raw = await runtime.listen({ hostname, port });
  } catch (err) {
    throw socketError(err, { action: "listen on", address: formatAddress({ hostname, port }) });
  }
  if (options.signal?.aborted) {
    raw.close();
    checkSignal(options.signal, "listen on", formatAddress({ hostname, port }));
  }
  return new TcpListener(raw, options);
}
