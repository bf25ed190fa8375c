/**
 * TLS on Bun: `Bun.connect` and `Bun.listen` with `tls`, and
 * `socket.upgradeTLS()` for STARTTLS, behind the runtime contract.
 *
 * @module
 */

import type { Addr, ConnectSpec, RawConn, StartTlsSpec, TlsClientOptions, TlsServerOptions } from "../contract.ts";
import { formatAddress, SocketError } from "../../socket_error.ts";
import { ipFamily, unmapIpv4 } from "../../addr.ts";
import { BunConn, type HandshakeJudge } from "./conn.ts";
import { bun, type BunTlsOptions } from "./types.ts";

const encoder = new TextEncoder();

// Failures of the handshake itself, as Bun codes them, rather than a
// certificate that did not verify: with verification off, only these fail.
const HANDSHAKE_FAILURES = new Set(["EPROTO", "ECONNRESET", "ECONNABORTED", "EPIPE", "ETIMEDOUT"]);

function codeOf(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}

/** How an address reads in a message, an IPv4-mapped one as IPv4 (as the layer above says it). */
export function describe(addr: Addr): string {
  return formatAddress(unmapIpv4(addr));
}

// ALPN names in the wire format Bun takes: each prefixed with its length.
function alpnWire(protocols: string[] | undefined): Uint8Array | undefined {
  if (protocols === undefined || protocols.length === 0) return undefined;
  const names = protocols.map((name) => encoder.encode(name));
  const wire = new Uint8Array(names.reduce((n, name) => n + 1 + name.byteLength, 0));
  let at = 0;
  for (const name of names) {
    wire[at++] = name.byteLength;
    wire.set(name, at);
    at += name.byteLength;
  }
  return wire;
}

// Bun reports a peer that closed mid-handshake with no error at all: as a
// reset, which the layer above calls a failed handshake, as it does Bun's
// own ECONNRESET.
function failedHandshake(err: Error | null): unknown {
  return err ?? Object.assign(new Error("Connection closed during the TLS handshake"), { code: "ECONNRESET" });
}

/**
 * Bun's options for a TLS client. SNI is not sent for an IP literal when it
 * is the address connected to (`serverName: ""` then: Bun verifies the
 * connect hostname and sends no SNI); Bun would otherwise send the literal.
 */
export function clientOptions(tls: TlsClientOptions, hostname: string | undefined): BunTlsOptions {
  const name = tls.serverName;
  return {
    ca: tls.caCerts,
    cert: tls.cert,
    key: tls.key,
    serverName: ipFamily(name) !== undefined && name === hostname ? "" : name,
    rejectUnauthorized: tls.verify,
    ALPNProtocols: alpnWire(tls.alpnProtocols),
  };
}

/** A client's judge: the handshake's failure, or a certificate's unless `verify` is off. */
export function clientJudge(verify: boolean): HandshakeJudge {
  return (success, error) => {
    if (success && error === null) return undefined;
    // Verification off: a certificate's complaint is no failure, the handshake's is.
    if (!verify && error !== null && !HANDSHAKE_FAILURES.has(codeOf(error) as string)) return undefined;
    return failedHandshake(error);
  };
}

/** Bun's options for a TLS server; client certificates are asked for only with `clientCaCerts`. */
export function serverOptions(tls: TlsServerOptions): BunTlsOptions {
  const clientAuth = tls.clientCaCerts !== undefined;
  return {
    cert: tls.cert,
    key: tls.key,
    ca: tls.clientCaCerts,
    requestCert: clientAuth,
    rejectUnauthorized: clientAuth,
    ALPNProtocols: alpnWire(tls.alpnProtocols),
  };
}

/**
 * A server's judge. Bun passes an `authorizationError` even when it asked
 * for no client certificate (`UNABLE_TO_GET_ISSUER_CERT`), and `success`
 * true for a client certificate that did not verify: the error counts only
 * when one was required.
 */
export function serverJudge(clientAuth: boolean): HandshakeJudge {
  return (success, error) => {
    if (success && (error === null || !clientAuth)) return undefined;
    return failedHandshake(error);
  };
}

/** A handshake that took longer than `ms` milliseconds. */
export function handshakeTimeout(action: string, ms: number): SocketError {
  return new SocketError("ETIMEDOUT", `Cannot ${action}: timed out after ${ms} ms`);
}

// Waits for a handshake; `signal` gives it up, closing the socket.
async function settle(conn: BunConn, signal: AbortSignal | undefined): Promise<BunConn> {
  const onAbort = () => conn.abortHandshake(signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    if (signal?.aborted) onAbort();
    await conn.handshakeDone;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  return conn;
}

/**
 * Connects over TLS with `Bun.connect`, over TCP or a Unix socket; resolves
 * once the handshake is done. With a `signal` over TCP, through `node:tls`
 * (the Node adapter's), since `Bun.connect()` cannot be cancelled.
 *
 * @example Connecting to a TLS server
 * ```ts ignore
 * import { connectTls } from "./tls.ts";
 *
 * const conn = await connectTls({ hostname: "example.com", port: 443 }, { serverName: "example.com", verify: true });
 * console.log(conn.tls?.protocol); // TLSv1.3
 * conn.close();
 * ```
 */
export async function connectTls(spec: ConnectSpec, tls: TlsClientOptions): Promise<RawConn> {
  const { signal } = spec;
  const unix = "path" in spec;
  if (signal !== undefined && !unix) {
    // Loaded only when needed; a signal that fired meanwhile would not reach it.
    const node = await import("../node/tls.ts");
    signal.throwIfAborted();
    return node.connectTls({ ...spec, tls });
  }
  const remote: Addr = unix
    ? { transport: "unix", path: spec.path }
    : { transport: "tcp", hostname: spec.hostname, port: spec.port };
  const judge = clientJudge(tls.verify);
  const handlers = BunConn.handlers((socket) => {
    if (unix) new BunConn(socket, { local: { transport: "unix", path: "" }, remote, judge });
    else new BunConn(socket, { judge });
  }, true);
  const options = clientOptions(tls, unix ? undefined : spec.hostname);
  const socket = unix
    ? await bun().connect<BunConn>({ unix: spec.path, tls: options, allowHalfOpen: true, socket: handlers })
    : await bun().connect<BunConn>({
      hostname: spec.hostname,
      port: spec.port,
      tls: options,
      allowHalfOpen: true,
      socket: handlers,
    });
  return settle(socket.data!, signal);
}

/**
 * Upgrades a started, paused connection of this adapter to TLS with
 * `socket.upgradeTLS()`, as the client or the server; resolves with the
 * new connection once the handshake is done.
 *
 * @example Upgrading after a STARTTLS exchange
 * ```ts ignore
 * import { startTls } from "./tls.ts";
 * import { connect } from "./tcp.ts";
 *
 * const plain = await connect({ hostname: "127.0.0.1", port: 2525 });
 * plain.start({ data() {}, end() {}, error() {}, drain() {} });
 * plain.pause();
 * const conn = await startTls(plain, { client: { serverName: "localhost", verify: true } });
 * conn.close();
 * ```
 */
export async function startTls(conn: RawConn, spec: StartTlsSpec & { signal?: AbortSignal }): Promise<RawConn> {
  const action = `start TLS with ${describe(conn.remoteAddr)}`;
  if (!(conn instanceof BunConn)) throw new SocketError("EINVAL", `Cannot ${action}: not a connection of this runtime`);
  spec.signal?.throwIfAborted();
  const socket = conn.detach();
  if (socket === undefined) {
    throw new SocketError("EPROTO", `Cannot ${action}: bytes received before TLS are still unread`);
  }
  const server = "server" in spec;
  const judge = server ? serverJudge(spec.server.clientCaCerts !== undefined) : clientJudge(spec.client.verify);
  const remote = conn.remoteAddr;
  const hostname = remote.transport === "unix" ? undefined : remote.hostname;
  let upgraded: BunConn | undefined;
  // The plain socket's handlers go on seeing every event, the encrypted
  // bytes too (oven-sh/bun#26297): the detached connection ignores them.
  const [, tlsSocket] = socket.upgradeTLS<BunConn>({
    tls: server ? serverOptions(spec.server) : clientOptions(spec.client, hostname),
    isServer: server,
    socket: BunConn.handlers((socket) => {
      upgraded = new BunConn(socket, { local: conn.localAddr, remote, judge });
    }, true),
  });
  upgraded ??= new BunConn(tlsSocket, { local: conn.localAddr, remote, judge });
  const result = upgraded;
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (server) {
    const ms = spec.server.handshakeTimeout;
    timer = setTimeout(() => result.abortHandshake(handshakeTimeout(action, ms)), ms);
  }
  try {
    return await settle(result, spec.signal);
  } finally {
    clearTimeout(timer);
  }
}
