/**
 * TLS on Deno (rustls): `Deno.startTls` over a `Deno.connect` socket for
 * clients, `Deno.connectTls` where a client certificate is needed (only it
 * takes one), and `Deno.listenTls` for servers. Deno's TLS connections
 * handshake lazily: each is reported once `handshake()` has settled. Deno
 * tells neither the protocol version nor the peer's certificate, cannot
 * turn verification off for one connection, ask clients for certificates,
 * start TLS as a server, nor run TLS over a Unix socket.
 *
 * @module
 */

import type { ListenerEvents, RawConn, RawListener, TlsClientOptions, TlsInfo, TlsServerOptions } from "../contract.ts";
import { formatAddress, SocketError } from "../../socket_error.ts";
import { DenoListener } from "./listener.ts";
import { DenoConn, plainAddr } from "./conn.ts";
import { connectTcp } from "./tcp.ts";
import { abandonable } from "./unix.ts";

/**
 * An `EUNSUPPORTED` error for what Deno cannot do.
 *
 * @example Refusing a server-side upgrade
 * ```ts ignore
 * import { unsupported } from "./tls.ts";
 *
 * const err = unsupported("start TLS with", "127.0.0.1:5000", "Deno cannot start TLS as a server");
 * ```
 */
export function unsupported(action: string, address: string, what: string): SocketError {
  return new SocketError("EUNSUPPORTED", `Cannot ${action} ${address}: not supported on this runtime (${what})`);
}

function info(handshake: Deno.TlsHandshakeInfo): TlsInfo {
  return { protocol: undefined, alpnProtocol: handshake.alpnProtocol ?? undefined, peerCertificate: undefined };
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed: by the signal, or by Deno after a failed handshake.
  }
}

// Closing the connection is the only way to stop Deno's handshake: it
// then rejects (BadResource), and the signal's reason is thrown instead.
async function handshake(conn: Deno.TlsConn, signal: AbortSignal | undefined): Promise<TlsInfo> {
  const onAbort = () => closeQuietly(conn);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    signal?.throwIfAborted();
    const settled = await conn.handshake();
    signal?.throwIfAborted();
    return info(settled);
  } catch (err) {
    closeQuietly(conn);
    throw signal?.aborted ? signal.reason : err;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

// What Deno's TLS client cannot do, checked before any socket is opened.
function checkClient(tls: TlsClientOptions, action: string, address: string): void {
  if (!tls.verify) {
    throw unsupported(action, address, "Deno cannot turn certificate verification off for one connection");
  }
}

/**
 * Connects over TLS and completes the handshake; rejects with Deno's error.
 * Without a client certificate, TCP connects first (abandonable, with
 * TCP_NODELAY) and `Deno.startTls` then verifies `serverName`; with one,
 * `Deno.connectTls` must verify the host it connects to, so `serverName`
 * must be that host.
 *
 * @example Connecting with a private CA
 * ```ts ignore
 * import { connectTls } from "./tls.ts";
 *
 * const caCerts = [await Deno.readTextFile("ca.pem")];
 * const conn = await connectTls({
 *   hostname: "127.0.0.1",
 *   port: 8443,
 *   tls: { serverName: "localhost", caCerts, verify: true },
 * });
 * conn.close();
 * ```
 */
export async function connectTls(
  options: { hostname: string; port: number; tls: TlsClientOptions; signal?: AbortSignal },
): Promise<RawConn> {
  const { hostname, port, tls, signal } = options;
  const address = formatAddress(options);
  checkClient(tls, "connect to", address);
  const caCerts = tls.caCerts ?? [];
  let conn: Deno.TlsConn;
  if (tls.cert !== undefined || tls.key !== undefined) {
    if (tls.serverName !== hostname) {
      throw unsupported(
        "connect to",
        address,
        "Deno verifies a client-certificate connection against the host connected to, not another server name",
      );
    }
    signal?.throwIfAborted();
    // Deno.connectTls takes no signal: an abandoned attempt is closed once it settles.
    const connecting = Deno.connectTls({
      hostname,
      port,
      caCerts,
      alpnProtocols: tls.alpnProtocols,
      cert: tls.cert!,
      key: tls.key!,
    });
    conn = signal === undefined ? await connecting : await abandonable(connecting, signal);
  } else {
    const tcp = await connectTcp({ hostname, port, signal });
    tcp.setNoDelay(true);
    conn = await upgrade(tcp, tls);
  }
  return new DenoConn(conn, { tls: await handshake(conn, signal) });
}

function upgrade(tcp: Deno.TcpConn, tls: TlsClientOptions): Promise<Deno.TlsConn> {
  return Deno.startTls(tcp, { hostname: tls.serverName, caCerts: tls.caCerts ?? [], alpnProtocols: tls.alpnProtocols })
    .catch((err) => {
      // Deno refused before taking the socket (a server name it cannot parse, say).
      closeQuietly(tcp);
      throw err;
    });
}

/**
 * Upgrades a paused connection of this adapter to TLS as the client. Rejects
 * with `EUNSUPPORTED` as the server, on a Unix socket, or with a client
 * certificate (which `Deno.startTls` does not take), and with `EPROTO` while
 * a plaintext read is in flight: `conn` is then as it was.
 *
 * @example Upgrading after a STARTTLS exchange
 * ```ts ignore
 * import { startTls } from "./tls.ts";
 * import type { RawConn } from "../contract.ts";
 *
 * declare const conn: RawConn;
 * const secure = await startTls(conn, { client: { serverName: "localhost", verify: true } });
 * secure.close();
 * ```
 */
export async function startTls(
  conn: RawConn,
  options: ({ client: TlsClientOptions } | { server: TlsServerOptions }) & { signal?: AbortSignal },
): Promise<RawConn> {
  const { remoteAddr } = conn;
  const address = formatAddress(remoteAddr);
  if (!(conn instanceof DenoConn)) throw new TypeError("Cannot start TLS: not a connection of this adapter");
  if (!("client" in options)) throw unsupported("start TLS with", address, "Deno cannot start TLS as a server");
  const tls = options.client;
  if (remoteAddr.transport === "unix") throw unsupported("start TLS with", address, "Deno runs TLS over TCP only");
  checkClient(tls, "start TLS with", address);
  if (tls.cert !== undefined || tls.key !== undefined) {
    throw unsupported("start TLS with", address, "Deno.startTls takes no client certificate");
  }
  options.signal?.throwIfAborted();
  const secure = await upgrade(conn.detach(address), tls);
  return new DenoConn(secure, { tls: await handshake(secure, options.signal) });
}

function timeoutError(ms: number): DOMException {
  return new DOMException(`TLS handshake timed out after ${ms} ms`, "TimeoutError");
}

// Each handshake runs on its own, so that a stalled client delays no other;
// those still running when the listener closes are closed unreported.
async function serverHandshake(
  conn: Deno.TlsConn,
  events: ListenerEvents,
  timeout: number,
  pending: Set<Deno.TlsConn>,
): Promise<void> {
  pending.add(conn);
  let timedOut = false;
  const timer = Number.isFinite(timeout) && timeout > 0
    ? setTimeout(() => {
      timedOut = true;
      closeQuietly(conn);
    }, timeout)
    : undefined;
  let settled: Deno.TlsHandshakeInfo | undefined;
  let failure: unknown;
  try {
    settled = await conn.handshake();
  } catch (err) {
    failure = err;
  }
  clearTimeout(timer);
  if (!pending.delete(conn)) return;
  if (settled === undefined || timedOut) {
    closeQuietly(conn);
    events.handshakeError(timedOut ? timeoutError(timeout) : failure, plainAddr(conn.remoteAddr));
    return;
  }
  events.conn(new DenoConn(conn, { tls: info(settled) }));
}

/**
 * Listens for TLS on a TCP address; reports connections once their
 * handshake is done, and failed ones through `handshakeError`. Rejects with
 * `EUNSUPPORTED` for `clientCaCerts`: Deno's TLS server asks for no client
 * certificate.
 *
 * @example Serving TLS
 * ```ts ignore
 * import { listenTls } from "./tls.ts";
 *
 * const tls = {
 *   cert: await Deno.readTextFile("srv.pem"),
 *   key: await Deno.readTextFile("srv.key"),
 *   handshakeTimeout: 10_000,
 * };
 * const listener = listenTls({ hostname: "127.0.0.1", port: 0, tls });
 * await listener.close();
 * ```
 */
export function listenTls(options: { hostname: string; port: number; tls: TlsServerOptions }): RawListener {
  const { hostname, port, tls } = options;
  if (tls.clientCaCerts !== undefined) {
    throw unsupported("listen on", formatAddress(options), "Deno's TLS server cannot ask for client certificates");
  }
  const listener = Deno.listenTls({
    hostname,
    port,
    transport: "tcp",
    cert: tls.cert,
    key: tls.key,
    alpnProtocols: tls.alpnProtocols,
  });
  const pending = new Set<Deno.TlsConn>();
  const accepted = (conn: Deno.TlsConn, events: ListenerEvents) => {
    serverHandshake(conn, events, tls.handshakeTimeout, pending);
  };
  return new DenoListener(listener, accepted, () => {
    for (const conn of pending) closeQuietly(conn);
    pending.clear();
  });
}
