/**
 * The slice of Bun's socket API the Bun adapter uses. Deno type-checks these
 * files and has no Bun types, so they are declared here rather than imported.
 *
 * @module
 */

/** A Bun TCP socket, as passed to the handlers; `data` holds its connection. */
export interface BunSocket<T> {
  /** Per-socket state: Bun's handlers are shared by every socket of a listener. */
  data: T | undefined;
  /** This side's address, asked of the kernel on each read. */
  readonly localAddress: string;
  /** This side's port, asked of the kernel on each read. */
  readonly localPort: number;
  /** The peer's address; empty for a socket reset before it was accepted. */
  readonly remoteAddress: string;
  /** The peer's port. */
  readonly remotePort: number;
  /** Writes to the kernel (text as UTF-8): the bytes taken, the rest not kept; -1 once closed. */
  write(data: string | Uint8Array): number;
  /** With no argument, `shutdown(SHUT_WR)`: sends FIN and keeps reading. */
  shutdown(): void;
  /** Closes the socket now, even with `allowHalfOpen`. */
  end(): void;
  /** Closes the socket now, with a reset. */
  terminate(): void;
  /** Closes the socket now, after what is written (on TLS with no close_notify), even with `allowHalfOpen`. */
  close(): void;
  /** Stops reading from the kernel. */
  pause(): void;
  /** Reads from the kernel again. */
  resume(): void;
  /** Sets TCP_NODELAY. */
  setNoDelay(noDelay: boolean): boolean;
  /** The TLS version agreed on, such as `TLSv1.3`, once the handshake is done. */
  getTLSVersion(): string | null;
  /** The ALPN protocol agreed on; `false` or `null` for none. */
  readonly alpnProtocol: string | false | null;
  /** The peer's certificate, its DER in `raw`; empty or undefined when it sent none. */
  getPeerCertificate(): { raw?: Uint8Array } | null | undefined;
  /**
   * Starts TLS over this socket (STARTTLS): returns the plain socket, whose
   * handlers still see every event (the encrypted bytes too), and the TLS one.
   */
  upgradeTLS<U>(options: BunUpgradeOptions<U>): [BunSocket<U>, BunSocket<U>];
}

/** Bun's TLS options: PEM text; `ALPNProtocols` in the wire format (length-prefixed names). */
export interface BunTlsOptions {
  /** Trusted CAs, or the CAs client certificates must chain to. */
  ca?: string[];
  /** This side's certificate chain. */
  cert?: string;
  /** Its private key. */
  key?: string;
  /** Client: the name for SNI and verification (`""`: no SNI, the connect hostname verified). */
  serverName?: string;
  /** Client: close the socket when verification fails; server: when a client certificate does. */
  rejectUnauthorized?: boolean;
  /** Server: ask for a client certificate. */
  requestCert?: boolean;
  /** ALPN protocols, wire format; Bun 1.4 takes no array here. */
  ALPNProtocols?: Uint8Array;
}

/** Options of `socket.upgradeTLS`. */
export interface BunUpgradeOptions<T> {
  /** The TLS options. */
  tls: BunTlsOptions;
  /** Be the TLS server (not documented; see runtime/UNDOCUMENTED.md). */
  isServer?: boolean;
  /** The TLS socket's handlers. */
  socket: BunSocketHandler<T>;
}

/** The handlers of every socket of a listener, or of one connect. */
export interface BunSocketHandler<T> {
  /** Which view `data` gets: a plain Uint8Array. */
  binaryType: "uint8array";
  /** A socket is connected or accepted. */
  open(socket: BunSocket<T>): void;
  /** Bytes arrived. */
  data(socket: BunSocket<T>, data: Uint8Array): void;
  /** There is room again after a partial `write`. */
  drain(socket: BunSocket<T>): void;
  /** The peer sent FIN. */
  end(socket: BunSocket<T>): void;
  /** The socket is gone; `error` says why when it failed (a reset). */
  close(socket: BunSocket<T>, error?: Error): void;
  /** The socket failed. */
  error(socket: BunSocket<T>, error: Error): void;
  /**
   * TLS only: the handshake is over; `success` is false when it failed or
   * the peer's certificate did not verify, and `authorizationError` says why.
   */
  handshake?(socket: BunSocket<T>, success: boolean, authorizationError: Error | null): void;
}

/** Options of `Bun.connect` and `Bun.listen`: a host and port, or a Unix socket's path. */
export type BunSocketOptions<T> = ({ hostname: string; port: number } | { unix: string }) & BunSocketCommon<T>;

/** What `Bun.connect` and `Bun.listen` take either way. */
export interface BunSocketCommon<T> {
  /** Listen on `::` only: serve IPv6 only (`true`) or IPv4 too (`false`). */
  ipv6Only?: boolean;
  /** TLS, for the whole connection. */
  tls?: BunTlsOptions;
  /** Without it, Bun closes the socket at the peer's FIN. */
  allowHalfOpen: boolean;
  /** Listen only: do not share the port where the OS would. */
  exclusive?: boolean;
  /** The handlers. */
  socket: BunSocketHandler<T>;
}

/** A listener from `Bun.listen`. */
export interface BunListener {
  /** The host name asked for, echoed (undefined on a Unix socket). */
  readonly hostname: string;
  /** The bound port (undefined on a Unix socket). */
  readonly port: number;
  /** Stops listening; `false` leaves accepted sockets open. */
  stop(closeActiveConnections?: boolean): void;
}

/** A Bun UDP socket, from `Bun.udpSocket`. */
export interface BunUdpSocket {
  /** The bound address. */
  readonly address: { address: string; port: number };
  /**
   * Sends one whole datagram: `false` when the kernel's buffer is full (nothing
   * sent; `drain` follows). Throws on failure, including an ICMP error left
   * from an earlier datagram, since Bun sets IP_RECVERR.
   */
  send(data: Uint8Array, port: number, address: string): boolean;
  /** Closes the socket. */
  close(): void;
}

/** The handlers of a Bun UDP socket. */
export interface BunUdpHandler {
  /** A datagram arrived; `flags.truncated` when it did not fit Bun's buffer. */
  data(socket: BunUdpSocket, data: Uint8Array, port: number, address: string, flags?: { truncated: boolean }): void;
  /** There is room again after a `send` that returned `false`. */
  drain(socket: BunUdpSocket): void;
  /** ICMP errors for earlier sends (Bun 1.4 passes the error alone, not the socket first as documented). */
  error(...args: unknown[]): void;
}

/** The globals of Bun the adapter uses. */
export interface BunApi {
  /** Binds and listens; throws on failure. */
  listen<T>(options: BunSocketOptions<T>): BunListener;
  /** Connects; cannot be cancelled. */
  connect<T>(options: BunSocketOptions<T>): Promise<BunSocket<T>>;
  /** Binds a UDP socket. */
  udpSocket(options: {
    hostname: string;
    port: number;
    binaryType: "uint8array";
    socket: BunUdpHandler;
  }): Promise<BunUdpSocket>;
  /** Bun's resolver. */
  dns: {
    /** Every address found, in the resolver's order; rejects when there is none. */
    lookup(hostname: string, options: { family: 0 | 4 | 6 }): Promise<{ address: string }[]>;
  };
}

/**
 * The `Bun` global, typed with the slice declared here.
 *
 * @example Getting at Bun's sockets
 * ```ts ignore
 * import { bun } from "./types.ts";
 *
 * const listener = bun().listen({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   allowHalfOpen: true,
 *   socket: {
 *     binaryType: "uint8array",
 *     open() {},
 *     data() {},
 *     drain() {},
 *     end() {},
 *     close() {},
 *     error() {},
 *   },
 * });
 * listener.stop();
 * ```
 */
export function bun(): BunApi {
  return (globalThis as unknown as { Bun: BunApi }).Bun;
}
