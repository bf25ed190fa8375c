/**
 * Opening connections: TCP or a Unix socket, over TLS or not, with a
 * timeout and cancellation.
 *
 * @module
 */

import { checkAddress, checkConnOptions, checkPath, checkSignal } from "../_options.ts";
import { currentRuntime } from "../runtime/select.ts";
import type { ConnectSpec } from "../runtime/contract.ts";
import { formatAddress, SocketError, socketError } from "../socket_error.ts";
import { TcpConn } from "./_tcp_conn.ts";
import { clientTlsSpec, handshakeError } from "./_tls_spec.ts";
import type { AddrOf, Conn, ConnOptions } from "./conn.ts";
import type { TlsConnectOptions } from "./tls_options.ts";

/** Options for {@linkcode connect} over TCP. */
export interface ConnectOptions extends ConnOptions {
  /** The host to connect to. Defaults to `127.0.0.1`. */
  hostname?: string;
  /** The port to connect to. */
  port: number;
  /**
   * Connects over TLS: `true` verifies the server's certificate against the
   * runtime's default roots and `hostname`; options set what to trust.
   */
  tls?: true | TlsConnectOptions;
  /** Abandons the attempt with `EABORTED` when it fires. */
  signal?: AbortSignal;
  /** Abandons the attempt, TLS handshake included, with `ETIMEDOUT` after this many milliseconds. */
  timeout?: number;
}

/** Options for {@linkcode connect} to a Unix domain socket. */
export interface UnixConnectOptions extends ConnOptions {
  /** The socket file's path. */
  path: string;
  /** Connects over TLS (`serverName` required). Deno cannot: `EUNSUPPORTED`. */
  tls?: TlsConnectOptions;
  /** Abandons the attempt with `EABORTED` when it fires. */
  signal?: AbortSignal;
  /** Abandons the attempt with `ETIMEDOUT` after this many milliseconds. */
  timeout?: number;
}

/**
 * Connects to a TCP server, or to a Unix socket with `path`, over TLS with
 * `tls`. Fails with `ECONNREFUSED` when nothing listens (`ENOENT` for a
 * missing socket file), `ETIMEDOUT` after `timeout`, `EABORTED` when `signal`
 * fires; an attempt given up on is torn down, never left half-open. Over TLS
 * it resolves once the handshake is done, and fails with `ECERTUNTRUSTED`,
 * `ECERTNAME`, `ECERTEXPIRED`, `ENOTTLS` or `ETLSHANDSHAKE` when it fails.
 *
 * A name with both IPv4 and IPv6 addresses connects as the runtime's own
 * connect does: Node tries them in turn (happy eyeballs), Deno in the
 * resolver's order until one answers, Bun likewise.
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
export async function connect<O extends ConnectOptions | UnixConnectOptions>(options: O): Promise<Conn<AddrOf<O>>> {
  const { signal, timeout } = options;
  let spec: ConnectSpec;
  let address: string;
  let hostname: string | undefined;
  if ("path" in options && options.path !== undefined) {
    address = checkPath("connect to", options.path);
    spec = { path: options.path };
  } else {
    const port = (options as ConnectOptions).port;
    hostname = (options as ConnectOptions).hostname ?? "127.0.0.1";
    address = formatAddress({ hostname, port });
    checkAddress("connect to", { hostname, port });
    // Port 0 means "any" only when binding; runtimes disagree on connecting to it.
    if (port === 0) throw new SocketError("EINVAL", `Cannot connect to ${address}: port must be from 1 to 65535`);
    spec = { hostname, port };
  }
  checkConnOptions("connect to", address, options);
  if (timeout !== undefined && !(timeout >= 0 && timeout <= 2 ** 31 - 1)) {
    throw new SocketError("EINVAL", `Cannot connect to ${address}: timeout must be from 0 to 2147483647 ms`);
  }
  if (options.tls !== undefined) spec.tls = clientTlsSpec(options.tls, { action: "connect to", address, hostname });
  checkSignal(signal, "connect to", address);
  const runtime = await currentRuntime();
  // The signal may have fired while the adapter loaded.
  checkSignal(signal, "connect to", address);
  const place = { action: "connect to", address };
  const failed = (err: unknown) =>
    Promise.reject(spec.tls === undefined ? socketError(err, place) : handshakeError(err, place));
  const connOptions = { ...options, serverName: spec.tls?.serverName ?? hostname };
  if (signal === undefined && timeout === undefined) {
    return new TcpConn(await runtime.connect(spec).catch(failed), connOptions) as unknown as Conn<AddrOf<O>>;
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
  const pending = runtime.connect({ ...spec, signal: attempt.signal }).catch(failed);
  try {
    return new TcpConn(await Promise.race([pending, givenUp]), connOptions) as unknown as Conn<AddrOf<O>>;
  } catch (err) {
    // A connection that lands after we gave up must not be left open.
    pending.then((raw) => raw.close(), () => {});
    throw err;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}
