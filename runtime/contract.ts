/**
 * What every runtime adapter implements: sockets as the runtime gives them,
 * reporting what happens to them as events. Reading ahead, pulled reads,
 * timeouts, write order and error messages are written once, above this.
 *
 * @module
 */

/** A network address. `hostname` is an IP literal, never a name. */
export interface NetAddr {
  /** The transport protocol. */
  transport: "tcp" | "udp";
  /** The IP address, such as `127.0.0.1` or `::1`. */
  hostname: string;
  /** The port number. */
  port: number;
}

/** A Unix domain socket's address: its path, `""` for an unnamed (client) socket. */
export interface UnixAddr {
  /** The transport protocol. */
  transport: "unix";
  /** The socket file's path. */
  path: string;
}

/** Any socket address. */
export type Addr = NetAddr | UnixAddr;

/** Where to bind a datagram socket or send a datagram: an IP literal, or a name for TCP, and a port (0: any). */
export interface AddrOptions {
  /** The host name or IP literal. */
  hostname: string;
  /** The port. */
  port: number;
  /** Connect only: stops the attempt and releases its socket (the rejection is then ignored). */
  signal?: AbortSignal;
}

/**
 * TLS for a client: what to trust and whom to expect. Certificates and keys
 * are PEM text.
 */
export interface TlsClientOptions {
  /**
   * The name sent for SNI (unless an IP literal) and that the server's
   * certificate must be valid for (a DNS name or an IP address).
   */
  serverName: string;
  /** Trusted CA certificates, in place of the runtime's default roots; none: the defaults. */
  caCerts?: string[];
  /**
   * `false` accepts any certificate for any name. A runtime that cannot turn
   * verification off for one connection rejects with `EUNSUPPORTED`.
   */
  verify: boolean;
  /** ALPN protocols to offer, most preferred first. */
  alpnProtocols?: string[];
  /** A client certificate chain, for servers that ask for one (with `key`). */
  cert?: string;
  /** The client certificate's private key. */
  key?: string;
}

/** TLS for a server. Certificates and keys are PEM text. */
export interface TlsServerOptions {
  /** The certificate chain, the server's own first. */
  cert: string;
  /** Its private key. */
  key: string;
  /** ALPN protocols this server speaks, most preferred first. */
  alpnProtocols?: string[];
  /**
   * Requires every client to present a certificate signed by one of these
   * CAs (mutual TLS). A runtime that cannot rejects with `EUNSUPPORTED`.
   */
  clientCaCerts?: string[];
  /** Gives up a handshake, and closes its socket, after this many milliseconds. */
  handshakeTimeout: number;
}

/** What a TLS handshake settled, as far as the runtime tells. */
export interface TlsInfo {
  /** The protocol version, such as `TLSv1.3`; `undefined` where the runtime does not say (Deno). */
  protocol: string | undefined;
  /** The ALPN protocol agreed on, or `undefined` for none. */
  alpnProtocol: string | undefined;
  /** The peer's certificate (DER); `undefined` if it sent none or the runtime does not say (Deno). */
  peerCertificate: Uint8Array | undefined;
}

/** Where to connect: a TCP host and port, or a Unix socket's path; over TLS when `tls` is given. */
export type ConnectSpec = ({ hostname: string; port: number } | { path: string }) & {
  /** Stops the attempt, handshake included, and releases its socket (the rejection is then ignored). */
  signal?: AbortSignal;
  /** Connects over TLS: resolves once the handshake is done. */
  tls?: TlsClientOptions;
};

/** Where to listen: a TCP address, or a Unix socket's path; over TLS when `tls` is given. */
export type ListenSpec =
  & (
    | {
      hostname: string;
      port: number;
      /** On `::`: `true` serves IPv6 only; `false` IPv4 too (as IPv4-mapped addresses). Default: the OS's. */
      ipv6Only?: boolean;
    }
    | { path: string }
  )
  & {
    /** Serves TLS: connections are reported once their handshake is done. */
    tls?: TlsServerOptions;
  };

/** How {@linkcode Runtime.startTls} upgrades a connection: as the client, or as the server. */
export type StartTlsSpec = { client: TlsClientOptions } | { server: TlsServerOptions };

/**
 * What a connection reports, to the handlers `RawConn.start` was given.
 * After `error()`, or once `close()` was called, nothing more is reported;
 * nothing is reported from inside a call of `RawConn.write()`.
 */
export interface ConnEvents {
  /**
   * Bytes arrived, lent for the call: the adapter may read into them again
   * afterwards, so the receiver copies what it keeps. A few may still come
   * after `pause()`.
   */
  data(chunk: Uint8Array): void;
  /** The peer ended its stream (FIN). Writing may go on. */
  end(): void;
  /** The connection failed (a reset, say); `cause` is the runtime's error. */
  error(cause: unknown): void;
  /** The kernel has taken all of a write that returned `false`. */
  drain(): void;
}

/** A connected stream socket (TCP with TCP_NODELAY set, or Unix), over TLS or not. */
export interface RawConn {
  /** This side's address. */
  readonly localAddr: Addr;
  /** The peer's address; an IPv4-mapped IPv6 address may come as it is. */
  readonly remoteAddr: Addr;
  /** What the handshake settled, on a TLS connection (reported only once it is done). */
  readonly tls?: TlsInfo;
  /**
   * `true` where a read, once started, cannot be recalled (Deno): the layer
   * above then pauses whenever nobody waits for bytes, so that no read is
   * in flight when the connection is handed to `Runtime.startTls()`.
   */
  readonly readsWhenAsked?: boolean;
  /**
   * Starts reporting to `events`; called once, before control returns to
   * the event loop, by whoever gets the connection. Bytes flow until `pause()`.
   */
  start(events: ConnEvents): void;
  /** Stops reading from the kernel, so that the peer feels backpressure. */
  pause(): void;
  /** Reads again after `pause()`. */
  resume(): void;
  /**
   * Hands bytes, or text as UTF-8, to the runtime: `true` when the kernel
   * took all of it, `false` when `events.drain()` will say so later. Never
   * called again before that; never with nothing to send. `bytes` is how
   * many bytes that is (text's UTF-8 length, a lone surrogate as three),
   * which the caller has counted already.
   */
  write(data: Uint8Array | string, bytes: number): boolean;
  /** Sends FIN; the read side stays open. Only when no write waits for `drain()`. */
  closeWrite(): void;
  /** Closes both directions at once and releases the socket. Idempotent. */
  close(): void;
}

/** What a listener reports, to the handlers `RawListener.start` was given. */
export interface ListenerEvents {
  /** A new connection, not yet started. */
  conn(conn: RawConn): void;
  /** Accepting failed (out of descriptors, say); the listener goes on. */
  error(cause: unknown): void;
  /**
   * A TLS handshake failed or timed out (its socket is closed already), with
   * the peer's address when known; the listener goes on.
   */
  handshakeError(cause: unknown, remoteAddr: Addr | undefined): void;
}

/**
 * A listening stream socket. Connections that fail before they are accepted
 * (reset by their peer) are skipped, never reported.
 */
export interface RawListener {
  /** The bound address, with the real port when 0 was asked for. */
  readonly addr: Addr;
  /** Starts reporting to `events`; called once. Accepting waits for `resume()`. */
  start(events: ListenerEvents): void;
  /**
   * Accepts while connections are wanted, between `resume()` and `pause()`:
   * a runtime that accepts only when asked (Deno) then leaves them in the
   * kernel's backlog, and a closed listener holds no accept in flight.
   * Runtimes that accept regardless (Node, Bun) may ignore both.
   */
  resume(): void;
  /** See `resume()`. */
  pause(): void;
  /**
   * Stops listening; resolves once the runtime has released the socket, so
   * that the port refuses connections, and a Unix socket's file is removed.
   * Accepted connections stay open. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * A bound, unconnected UDP socket. Nothing a peer does (an ICMP port
 * unreachable for an earlier send, say) closes it.
 */
export interface RawDatagramSocket {
  /** The bound address, with the real port when 0 was asked for. */
  readonly addr: NetAddr;
  /** Starts reporting each datagram (its bytes, owned by the receiver, and its sender); called once. */
  start(onDatagram: (data: Uint8Array, remote: NetAddr) => void): void;
  /**
   * Sends one datagram to an IP literal of the socket's family; resolves
   * once the kernel has it. Rejects with the runtime's error, never truncates.
   */
  send(data: Uint8Array, to: AddrOptions): Promise<void>;
  /** Closes the socket. Idempotent. */
  close(): void;
}

/**
 * One runtime's sockets. Rejections carry the runtime's own error, or a
 * `SocketError` where that says too little; the layer above names the action.
 */
export interface Runtime {
  /** Which runtime this is. */
  readonly name: "deno" | "bun" | "node";
  /** Binds and listens. */
  listen(options: ListenSpec): Promise<RawListener>;
  /** Connects; `options.signal` gives the attempt up. */
  connect(options: ConnectSpec): Promise<RawConn>;
  /**
   * Upgrades a started, paused connection to TLS, as the client or the
   * server; resolves once the handshake is done, with the connection that
   * now carries the data (not started). `conn` reports nothing more. Rejects
   * with `SocketError` `EPROTO` while bytes received in plaintext wait unread
   * in the adapter (`conn` is then as it was), `EUNSUPPORTED` where the
   * runtime cannot, and otherwise the runtime's error (the socket is then
   * closed). `signal` gives the handshake up and closes the socket.
   */
  startTls(conn: RawConn, options: StartTlsSpec & { signal?: AbortSignal }): Promise<RawConn>;
  /**
   * Removes `path` if it is a Unix socket file: `true` if it was, `false` if
   * nothing is there; rejects with `EADDRINUSE` for a file of another kind,
   * which is never removed.
   */
  removeSocketFile(path: string): Promise<boolean>;
  /** Binds a UDP socket to an IP literal (the layer above looks names up). */
  bindDatagram(options: AddrOptions): Promise<RawDatagramSocket>;
  /**
   * The first address of a host name, of `family` when given, as TCP's
   * connect would resolve it (the hosts file included); `undefined` for none.
   */
  lookup(hostname: string, family?: 4 | 6): Promise<string | undefined>;
}
