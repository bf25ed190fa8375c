/**
 * Listening for connections: TCP or a Unix socket, over TLS or not.
 *
 * @module
 */

import { checkAddress, checkConnOptions, checkPath, checkSignal } from "../_options.ts";
import { currentRuntime } from "../runtime/select.ts";
import type { Addr, ListenSpec, NetAddr, RawListener, Runtime } from "../runtime/contract.ts";
import { formatAddress, SocketError, socketError } from "../socket_error.ts";
import { TcpListener } from "./_tcp_listener.ts";
import { serverTlsSpec } from "./_tls_spec.ts";
import type { AddrOf, Conn, ConnOptions } from "./conn.ts";
import type { TlsListenOptions } from "./tls_options.ts";

/** Options for {@linkcode listen}. */
export interface ListenOptions extends ConnOptions {
  /** The address to bind. Defaults to `0.0.0.0`, every IPv4 interface. */
  hostname?: string;
  /** The port; 0 (the default) asks the OS for a free one, seen in `addr`. */
  port?: number;
  /**
   * Listens on a Unix domain socket at this path instead of a TCP port
   * (`hostname`, `port` and `ipv6Only` are then not allowed). A socket file
   * left there by a server that is gone is replaced; one a server still
   * listens on fails with `EADDRINUSE`, as does a file of any other kind,
   * which is left alone. The file is removed on close.
   */
  path?: string;
  /**
   * On `::`: `false` serves IPv4 clients too (reported as IPv4, such as
   * `127.0.0.1`), `true` IPv6 clients only. Defaults to the OS's setting,
   * which on Linux is `false`.
   */
  ipv6Only?: boolean;
  /**
   * Serves TLS with this certificate and key: connections are accepted once
   * their handshake is done; a failed handshake goes to `onError`.
   */
  tls?: TlsListenOptions;
  /** Closes the listener when it fires. */
  signal?: AbortSignal;
  /**
   * Hears of a failure to accept a connection (such as `EMFILE`, out of file
   * descriptors) while the listener is iterated, and of every failed TLS
   * handshake; the listener goes on (after a short pause, for the former).
   * Defaults to one line on stderr.
   */
  onError?: (error: unknown) => void;
}

/**
 * A listener, on a TCP port or a Unix socket. Iterate it to accept
 * connections until it is closed.
 */
export interface Listener<A extends Addr = NetAddr> extends AsyncIterable<Conn<A>>, AsyncDisposable {
  /** The bound address, with the real port when 0 was asked for. */
  readonly addr: A;
  /**
   * Waits for the next connection. Fails with `ECLOSED` once the listener is
   * closed, including a call pending when `close()` is called, and with the
   * runtime's reason when it cannot accept one (such as `EMFILE`); the
   * listener stays open then. Iterating the listener skips such failures
   * (see `onError`).
   */
  accept(): Promise<Conn<A>>;
  /** Stops listening. Idempotent. Accepted connections stay open. */
  close(): void;
}

/**
 * Listens for TCP connections, or on a Unix socket with `path`, over TLS
 * with `tls`. Fails with `EADDRINUSE` when the address is taken.
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
export async function listen<O extends ListenOptions>(options: O = {} as O): Promise<Listener<AddrOf<O>>> {
  let spec: ListenSpec;
  let address: string;
  if (options.path !== undefined) {
    address = checkPath("listen on", options.path);
    if (options.hostname !== undefined || options.port !== undefined || options.ipv6Only !== undefined) {
      throw new SocketError("EINVAL", `Cannot listen on ${address}: path excludes hostname, port and ipv6Only`);
    }
    spec = { path: options.path };
  } else {
    const hostname = options.hostname ?? "0.0.0.0";
    const port = options.port ?? 0;
    address = formatAddress({ hostname, port });
    checkAddress("listen on", { hostname, port });
    if (options.ipv6Only !== undefined && typeof options.ipv6Only !== "boolean") {
      throw new SocketError("EINVAL", `Cannot listen on ${address}: ipv6Only must be a boolean`);
    }
    spec = { hostname, port, ipv6Only: options.ipv6Only };
  }
  checkConnOptions("listen on", address, options);
  if (options.tls !== undefined) spec.tls = serverTlsSpec(options.tls, { action: "listen on", address });
  checkSignal(options.signal, "listen on", address);
  const runtime = await currentRuntime();
  let raw;
  try {
    raw = await bind(runtime, spec);
  } catch (err) {
    throw socketError(err, { action: "listen on", address });
  }
  if (options.signal?.aborted) {
    raw.close();
    checkSignal(options.signal, "listen on", address);
  }
  return new TcpListener(raw, options) as unknown as Listener<AddrOf<O>>;
}

// Listens; on a Unix socket path that is taken, replaces a socket file
// nobody listens on any more (a crashed server's), as Go and Python users
// expect, but never a live server's socket nor a file of another kind.
async function bind(runtime: Runtime, spec: ListenSpec): Promise<RawListener> {
  try {
    return await runtime.listen(spec);
  } catch (err) {
    if (!("path" in spec) || socketError(err, { action: "", address: "" }).code !== "EADDRINUSE") throw err;
    const live = await runtime.connect({ path: spec.path }).then((conn) => {
      conn.close();
      return true;
    }, () => false);
    if (live) throw err;
    // A file of another kind stays, and the listen fails as it did.
    await runtime.removeSocketFile(spec.path).catch(() => Promise.reject(err));
    return await runtime.listen(spec);
  }
}
