/**
 * Opening TCP connections, with a timeout and cancellation.
 *
 * @module
 */

import { checkAddress, checkConnOptions, checkSignal } from "../_options.ts";
import { currentRuntime } from "../runtime/select.ts";
import { formatAddress, SocketError, socketError } from "../socket_error.ts";
import { TcpConn } from "./_tcp_conn.ts";
import type { Conn, ConnOptions } from "./conn.ts";

/** Options for {@linkcode connect}. */
export interface ConnectOptions extends ConnOptions {
  /** The host to connect to. Defaults to `127.0.0.1`. */
  hostname?: string;
  /** The port to connect to. */
  port: number;
  /** Abandons the attempt with `EABORTED` when it fires. */
  signal?: AbortSignal;
  /** Abandons the attempt with `ETIMEDOUT` after this many milliseconds. */
  timeout?: number;
}

/**
 * Connects to a TCP server. Fails with `ECONNREFUSED` when nothing listens,
 * `ETIMEDOUT` after `timeout`, `EABORTED` when `signal` fires; an attempt
 * given up on is torn down, never left half-open.
 *
 * @example Connecting with a timeout
 * ```ts
 * import { connect, listen } from "../mod.ts";
 *
 * await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * await using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port, timeout: 5000 });
 * if (conn.remoteAddr.port !== listener.addr.port) throw new Error("wrong peer");
 * (await listener.accept()).close();
 * ```
 */
export async function connect(options: ConnectOptions): Promise<Conn> {
  const hostname = options.hostname ?? "127.0.0.1";
  const { port, signal, timeout } = options;
  const address = formatAddress({ hostname, port });
  checkAddress("connect to", { hostname, port });
  // Port 0 means "any" only when binding; runtimes disagree on connecting to it.
  if (port === 0) throw new SocketError("EINVAL", `Cannot connect to ${address}: port must be from 1 to 65535`);
  checkConnOptions("connect to", address, options);
  if (timeout !== undefined && !(timeout >= 0 && timeout <= 2 ** 31 - 1)) {
    throw new SocketError("EINVAL", `Cannot connect to ${address}: timeout must be from 0 to 2147483647 ms`);
  }
  checkSignal(signal, "connect to", address);
  const runtime = await currentRuntime();
  // The signal may have fired while the adapter loaded.
  checkSignal(signal, "connect to", address);
  const failed = (err: unknown) => Promise.reject(socketError(err, { action: "connect to", address }));
  if (signal === undefined && timeout === undefined) {
    return new TcpConn(await runtime.connect({ hostname, port }).catch(failed), options);
  }

  const attempt = new AbortController();
  let giveUp!: (err: SocketError) => void;
  const givenUp = new Promise<never>((_, reject) => (giveUp = reject));
  const onAbort = () => {
    giveUp(new SocketError("EABORTED", `Cannot connect to ${address}: aborted`));
    attempt.abort();
  };
  const timer = timeout === undefined ? undefined : setTimeout(() => {
    giveUp(new SocketError("ETIMEDOUT", `Cannot connect to ${address}: timed out after ${timeout} ms`));
    attempt.abort();
  }, timeout);
  signal?.addEventListener("abort", onAbort, { once: true });
  const pending = runtime.connect({ hostname, port, signal: attempt.signal }).catch(failed);
  try {
    return new TcpConn(await Promise.race([pending, givenUp]), options);
  } catch (err) {
    // A connection that lands after we gave up must not be left open.
    pending.then((raw) => raw.close(), () => {});
    throw err;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}
