/**
 * TLS through `node:tls`, behind the runtime contract: connecting,
 * listening, and upgrading a connection (STARTTLS), over TCP or Unix
 * sockets. Bun's adapter may use `connectTls` from here for connects with a
 * signal, so it touches `node:*` modules only.
 *
 * @module
 */

import type * as net from "node:net";
import * as tls from "node:tls";
import { ipFamily } from "../../addr.ts";
import type {
  Addr,
  ConnectSpec,
  ListenSpec,
  RawConn,
  RawListener,
  StartTlsSpec,
  TlsClientOptions,
  TlsInfo,
  TlsServerOptions,
} from "../contract.ts";
import { formatAddress, SocketError } from "../../socket_error.ts";
import { type ConnAddrs, netAddr, NodeConn, unixAddr } from "./conn.ts";
import { listen } from "./tcp.ts";

function tlsInfo(socket: tls.TLSSocket): TlsInfo {
  // An empty object when the peer sent no certificate.
  const der = (socket.getPeerCertificate() as Partial<tls.PeerCertificate>).raw;
  return {
    protocol: socket.getProtocol() ?? undefined,
    alpnProtocol: typeof socket.alpnProtocol === "string" ? socket.alpnProtocol : undefined,
    peerCertificate: der === undefined ? undefined : new Uint8Array(der),
  };
}

function clientOptions(options: TlsClientOptions): tls.ConnectionOptions {
  const { serverName, verify } = options;
  // Passed on to the socket, as with `net.connect()`, though not typed.
  const halfOpen = { allowHalfOpen: true };
  return {
    ...halfOpen,
    // Node would send the host connected to as SNI when not given one; an
    // IP literal is never sent (RFC 6066).
    servername: ipFamily(serverName) === undefined ? serverName : "",
    rejectUnauthorized: verify,
    // Node checks the SNI name, or else the host connected to: the name
    // asked for is checked instead, an IP literal included.
    checkServerIdentity: verify ? (_host, cert) => tls.checkServerIdentity(serverName, cert) : () => undefined,
    ca: options.caCerts,
    ALPNProtocols: options.alpnProtocols,
    cert: options.cert,
    key: options.key,
  };
}

// Settles once the client handshake is done; a failure or the signal
// closes the socket.
function handshake(socket: tls.TLSSocket, signal: AbortSignal | undefined, addrs: ConnAddrs): Promise<NodeConn> {
  return new Promise((resolve, reject) => {
    const settle = () => {
      socket.off("error", onError);
      socket.off("secureConnect", onSecure);
      signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      settle();
      socket.destroy();
      reject(signal!.reason);
    };
    const onError = (err: Error) => {
      settle();
      socket.destroy();
      reject(err);
    };
    const onSecure = () => {
      settle();
      resolve(new NodeConn(socket, addrs, tlsInfo(socket)));
    };
    socket.on("error", onError);
    socket.on("secureConnect", onSecure);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Connects over TLS to a TCP address or a Unix socket's path; resolves once
 * the handshake is done. `spec.signal` gives up the connect and the
 * handshake, and destroys the socket. Rejects with Node's error
 * (`DEPTH_ZERO_SELF_SIGNED_CERT`, say), or the signal's reason.
 *
 * @example Connecting to a TLS server
 * ```ts ignore
 * import { connectTls } from "./tls.ts";
 *
 * const conn = await connectTls({
 *   hostname: "example.com",
 *   port: 443,
 *   tls: { serverName: "example.com", verify: true },
 * });
 * console.log(conn.tls?.protocol); // TLSv1.3
 * conn.close();
 * ```
 */
export function connectTls(spec: ConnectSpec & { tls: TlsClientOptions }): Promise<RawConn> {
  const { signal } = spec;
  if (signal?.aborted) return Promise.reject(signal.reason);
  let socket: tls.TLSSocket;
  try {
    const target = "path" in spec ? { path: spec.path } : { host: spec.hostname, port: spec.port, noDelay: true };
    socket = tls.connect({ ...target, ...clientOptions(spec.tls) });
  } catch (err) {
    // Options Node refuses at once: a malformed certificate or key.
    return Promise.reject(err);
  }
  const addrs = "path" in spec ? { localAddr: unixAddr(""), remoteAddr: unixAddr(spec.path) } : {};
  return handshake(socket, signal, addrs);
}

function serverEngine(options: TlsServerOptions): tls.Server {
  const mutual = options.clientCaCerts !== undefined;
  return tls.createServer({
    cert: options.cert,
    key: options.key,
    ALPNProtocols: options.alpnProtocols,
    ca: options.clientCaCerts,
    requestCert: mutual,
    rejectUnauthorized: mutual,
    handshakeTimeout: options.handshakeTimeout,
  });
}

// Why Node ended a handshake. A client certificate that fails verification
// is dropped after the handshake with a "socket hang up" ECONNRESET: the
// verification's own code (`authorizationError`) says more.
function handshakeCause(err: Error, socket: tls.TLSSocket): unknown {
  const reason = socket.authorizationError as unknown;
  const code = typeof reason === "string" ? reason : (reason as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return err;
  return Object.assign(new Error(`Client certificate rejected: ${code}`, { cause: err }), { code });
}

function remoteOf(socket: tls.TLSSocket, addrs: ConnAddrs): Addr | undefined {
  if (addrs.remoteAddr !== undefined) return addrs.remoteAddr;
  // Node no longer knows it once the socket is destroyed (a peer that
  // closed mid-handshake).
  return socket.remoteAddress === undefined ? undefined : netAddr(socket.remoteAddress, socket.remotePort);
}

/**
 * Listens for TLS on a TCP address or a Unix socket's path. Connections are
 * reported once their handshake is done; a failed one is closed and
 * reported as a handshake error. Rejects with Node's error.
 *
 * @example Serving TLS
 * ```ts ignore
 * import { listenTls } from "./tls.ts";
 *
 * const cert = "-----BEGIN CERTIFICATE-----...", key = "-----BEGIN PRIVATE KEY-----...";
 * const listener = await listenTls({ hostname: "127.0.0.1", port: 0, tls: { cert, key, handshakeTimeout: 10_000 } });
 * await listener.close();
 * ```
 */
export function listenTls(spec: ListenSpec & { tls: TlsServerOptions }): Promise<RawListener> {
  let engine: tls.Server;
  try {
    engine = serverEngine(spec.tls);
  } catch (err) {
    return Promise.reject(err);
  }
  // The same for every connection of a listener.
  let addrs: ConnAddrs = {};
  // The TCP sockets whose handshake is under way, by their peer's address,
  // for close() to close: the TLS server names the TLS socket it made of
  // one only once its handshake has ended. The peers of a Unix socket have
  // no address to tell them apart: theirs are left to handshakeTimeout.
  const handshaking = new Map<string, net.Socket>();
  return listen(spec, (sink) => {
    engine.on("secureConnection", (socket: tls.TLSSocket) => {
      handshaking.delete(peerKey(socket));
      socket.allowHalfOpen = true;
      sink.conn(new NodeConn(socket, addrs, tlsInfo(socket)));
    });
    engine.on("tlsClientError", (err: Error, socket: tls.TLSSocket) => {
      const remote = remoteOf(socket, addrs);
      socket.destroy();
      sink.handshakeError(handshakeCause(err, socket), remote);
    });
    return {
      // One handshake context for all the listener's connections, which the
      // TLS server wraps as the connections it accepts itself (documented
      // for its 'connection' event).
      take(socket, socketAddrs) {
        addrs = socketAddrs;
        if (socketAddrs.remoteAddr === undefined) {
          const key = peerKey(socket);
          handshaking.set(key, socket);
          // A failed handshake is forgotten here, as its socket closes: the
          // TLS socket may fail after Node forgot the peer's address (see
          // runtime/UNDOCUMENTED.md).
          socket.once("close", () => {
            if (handshaking.get(key) === socket) handshaking.delete(key);
          });
        }
        halfOpenAfterHandshake(socket);
        engine.emit("connection", socket);
      },
      close() {
        for (const socket of handshaking.values()) socket.destroy();
        handshaking.clear();
      },
    };
  });
}

// A TCP connection's peer, which no other connection of the listener has.
function peerKey(socket: net.Socket): string {
  return `${socket.remoteAddress} ${socket.remotePort}`;
}

// A peer that ends its stream before the handshake is done fails it: the
// TLS socket, which inherits this setting, then closes, which the TLS server
// reports. Half-open connections are allowed again once it is done, which
// Node reports before it reads any further (the end of stream included).
function halfOpenAfterHandshake(socket: net.Socket): void {
  socket.allowHalfOpen = false;
}

// The server side of STARTTLS: a TLS server of its own for this one
// socket, so that its events are this handshake's.
function acceptTls(
  socket: net.Socket,
  options: TlsServerOptions,
  signal: AbortSignal | undefined,
  addrs: ConnAddrs,
): Promise<NodeConn> {
  const engine = serverEngine(options);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      socket.destroy();
      reject(signal!.reason);
    };
    engine.on("secureConnection", (tlsSocket: tls.TLSSocket) => {
      tlsSocket.allowHalfOpen = true;
      signal?.removeEventListener("abort", onAbort);
      resolve(new NodeConn(tlsSocket, addrs, tlsInfo(tlsSocket)));
    });
    engine.on("tlsClientError", (err: Error, tlsSocket: tls.TLSSocket) => {
      signal?.removeEventListener("abort", onAbort);
      tlsSocket.destroy();
      socket.destroy();
      reject(handshakeCause(err, tlsSocket));
    });
    signal?.addEventListener("abort", onAbort, { once: true });
    halfOpenAfterHandshake(socket);
    engine.emit("connection", socket);
  });
}

/**
 * Upgrades a connection from this adapter, started and paused, to TLS, as
 * the client or the server; resolves once the handshake is done with the
 * connection that carries the data now. Rejects with `EPROTO` while bytes
 * the peer sent before wait unread (the connection is then as it was), and
 * otherwise with Node's error (the socket is then closed).
 *
 * @example Upgrading a connection as the client
 * ```ts ignore
 * import { connect } from "./tcp.ts";
 * import { startTls } from "./tls.ts";
 *
 * const plain = await connect({ hostname: "127.0.0.1", port: 2525 });
 * plain.start({ data() {}, end() {}, error() {}, drain() {} });
 * plain.pause();
 * const conn = await startTls(plain, { client: { serverName: "localhost", verify: true } });
 * conn.close();
 * ```
 */
export async function startTls(conn: RawConn, options: StartTlsSpec & { signal?: AbortSignal }): Promise<RawConn> {
  if (!(conn instanceof NodeConn)) {
    throw new SocketError(
      "EUNSUPPORTED",
      `Cannot start TLS with ${formatAddress(conn.remoteAddr)}: not a connection of the node:net adapter`,
    );
  }
  const { signal } = options;
  signal?.throwIfAborted();
  const addrs = { localAddr: conn.localAddr, remoteAddr: conn.remoteAddr };
  const socket = conn.detach();
  if ("server" in options) return await acceptTls(socket, options.server, signal, addrs);
  let tlsSocket: tls.TLSSocket;
  try {
    tlsSocket = tls.connect({ socket, ...clientOptions(options.client) });
  } catch (err) {
    socket.destroy();
    throw err;
  }
  try {
    return await handshake(tlsSocket, signal, addrs);
  } catch (err) {
    socket.destroy();
    throw err;
  }
}
