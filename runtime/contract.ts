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

/** Where to listen, connect or bind: a host name or IP literal, and a port (0: any). */
export interface AddrOptions {
  /** The host name or IP literal. */
  hostname: string;
  /** The port. */
  port: number;
  /** Connect only: stops the attempt and releases its socket (the rejection is then ignored). */
  signal?: AbortSignal;
}

/**
 * What a connection reports, to the handlers `RawConn.start` was given.
 * After `error()`, or once `close()` was called, nothing more is reported.
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

/** A connected TCP socket, with TCP_NODELAY set. */
export interface RawConn {
  /** This side's address. */
  readonly localAddr: NetAddr;
  /** The peer's address. */
  readonly remoteAddr: NetAddr;
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
   * called again before that; never with nothing to send.
   */
  write(data: Uint8Array | string): boolean;
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
}

/**
 * A listening TCP socket. Connections that fail before they are accepted
 * (reset by their peer) are skipped, never reported.
 */
export interface RawListener {
  /** The bound address, with the real port when 0 was asked for. */
  readonly addr: NetAddr;
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
   * that the port refuses connections. Accepted connections stay open.
   * Idempotent.
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
  listen(options: AddrOptions): Promise<RawListener>;
  /** Connects; `options.signal` gives the attempt up. */
  connect(options: AddrOptions): Promise<RawConn>;
  /** Binds a UDP socket to an IP literal (the layer above looks names up). */
  bindDatagram(options: AddrOptions): Promise<RawDatagramSocket>;
  /**
   * The first address of a host name, of `family` when given, as TCP's
   * connect would resolve it (the hosts file included); `undefined` for none.
   */
  lookup(hostname: string, family?: 4 | 6): Promise<string | undefined>;
}
