/**
 * STARTTLS: upgrading a connection to TLS after a plaintext exchange.
 *
 * @module
 */

import { currentRuntime } from "../runtime/select.ts";
import type { Addr, StartTlsSpec } from "../runtime/contract.ts";
import { formatAddress, SocketError } from "../socket_error.ts";
import { upgradableOf } from "./_upgrade.ts";
import { clientTlsSpec, handshakeError, serverTlsSpec } from "./_tls_spec.ts";
import type { Conn } from "./conn.ts";
import type { TlsConnectOptions, TlsListenOptions } from "./tls_options.ts";

/** Options for {@linkcode startTls}: a client's TLS options, or `server` for the server's side. */
export interface StartTlsOptions extends TlsConnectOptions {
  /** Takes the server's side of the handshake, with this certificate and key. Deno cannot: `EUNSUPPORTED`. */
  server?: TlsListenOptions;
  /** Gives the handshake up with `ETIMEDOUT` after this many milliseconds (the connection is closed then). */
  timeout?: number;
  /** Gives the handshake up with `EABORTED` when it fires (the connection is closed then). */
  signal?: AbortSignal;
}

/**
 * Upgrades a connection to TLS after a plaintext exchange (STARTTLS, as in
 * SMTP, IMAP or PostgreSQL), as the client, or as the server with `server`.
 * Everything written before goes out in plaintext first; resolves once the
 * handshake is done with the TLS connection, which carries the data from
 * then on: the plaintext `conn` is closed for use, though not the socket.
 *
 * Fails with `EPROTO`, leaving `conn` as it was, if bytes the peer sent in
 * plaintext are still unread: they are never read as TLS, nor lost (a
 * server that sends more than its reply to STARTTLS, say). Fails with `EINVAL`
 * while a read is pending, `EUNSUPPORTED` where the runtime cannot (Deno,
 * server side), and like `connect()` when the handshake fails; `conn` is
 * closed then. The server name defaults to the hostname `conn` was
 * connected to.
 *
 * @example A client that switches to TLS when the server agrees
 * ```ts ignore
 * import { connect, startTls } from "../mod.ts";
 *
 * const plain = await connect({ hostname: "mail.example", port: 587 });
 * await plain.readLine(); // the greeting
 * await plain.write("STARTTLS\r\n");
 * if (!(await plain.readLine())?.startsWith("220")) throw new Error("no STARTTLS");
 * await using conn = await startTls(plain);
 * await conn.write("EHLO client.example\r\n");
 * ```
 */
export async function startTls<A extends Addr>(conn: Conn<A>, options: StartTlsOptions = {}): Promise<Conn<A>> {
  const address = formatAddress(conn.remoteAddr);
  const place = { action: "start TLS with", address };
  const upgradable = upgradableOf(conn);
  if (upgradable === undefined) {
    throw new SocketError("EINVAL", `Cannot start TLS with ${address}: not a connection doorway made`);
  }
  const { server, timeout, signal } = options;
  if (timeout !== undefined && !(timeout >= 0 && timeout <= 2 ** 31 - 1)) {
    throw new SocketError("EINVAL", `Cannot start TLS with ${address}: timeout must be from 0 to 2147483647 ms`);
  }
  const spec: StartTlsSpec = server !== undefined
    ? { server: serverTlsSpec(server, place) }
    : { client: clientTlsSpec(options, { ...place, hostname: upgradable.serverName }) };
  if (signal?.aborted) throw new SocketError("EABORTED", `Cannot start TLS with ${address}: aborted`);
  const runtime = await currentRuntime();

  // The handshake's own signal: the caller's, or the timeout's.
  const handshake = new AbortController();
  let giveUp: SocketError | undefined;
  const stop = (error: SocketError) => {
    giveUp ??= error;
    handshake.abort();
  };
  const onAbort = () => stop(new SocketError("EABORTED", `Cannot start TLS with ${address}: aborted`));
  const timer = timeout === undefined ? undefined : setTimeout(() => {
    stop(new SocketError("ETIMEDOUT", `Cannot start TLS with ${address}: timed out after ${timeout} ms`));
  }, timeout);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return await upgradable.upgrade((raw) =>
      runtime.startTls(raw, { ...spec, signal: handshake.signal }).catch((err) =>
        Promise.reject(giveUp ?? handshakeError(err, place))
      )
    ) as Conn<A>;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}
