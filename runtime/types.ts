/**
 * The contract every runtime adapter implements. Only files in `runtime/`
 * touch `Deno`, `Bun` or `node:net`; everything above speaks this interface.
 *
 * Errors: every promise here rejects with a `SocketError` (see
 * `../socket_error.ts`) whose message names the action and the address.
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

/** Options for {@linkcode Runtime.listen} and {@linkcode Runtime.connect}. */
export interface RuntimeAddrOptions {
  /** The hostname or IP literal. */
  hostname: string;
  /** The port; 0 asks the OS for an ephemeral port when listening. */
  port: number;
}

/** Options for {@linkcode Runtime.connect}. */
export interface RuntimeConnectOptions extends RuntimeAddrOptions {
  /**
   * Fired by the layer above on timeout or abort: the adapter stops the
   * attempt and releases its socket (the rejection reason is then ignored).
   */
  signal?: AbortSignal;
}

/**
 * What a {@linkcode PumpHandler} answers one chunk with: text to send back as
 * UTF-8 (Node and Bun encode it natively, with no buffer of ours), bytes (the
 * adapter may keep them until sent, so they must not be reused, nor be the
 * lent chunk or a view of it), or nothing.
 */
export type PumpReply = string | Uint8Array | undefined;

/**
 * Push mode's handler (see {@linkcode RuntimeConn.pumpTo}). An object rather
 * than a function, so that a connection can be its own handler instead of
 * holding a closure for it.
 */
export interface PumpHandler {
  /**
   * Answers one chunk. The chunk is lent, not given: the adapter may read
   * into it again once this returns, also when it returns a promise, so a
   * handler copies what it keeps beyond that. Unlike `read()`'s, it may be
   * of a subclass of Uint8Array (Node's Buffer): bytes handed on to users go
   * as plain views.
   */
  onData(chunk: Uint8Array): PumpReply | Promise<PumpReply>;
}

/**
 * Hears how a pump ended (see {@linkcode RuntimeConn.pumpTo}) in place of a
 * promise, which an idle connection would hold with its resolving functions
 * and whoever waits on it. Called at once, possibly from inside `onData`,
 * `stopPump()` or `close()`, and before the reply being handled is sent:
 * defer whatever reads or writes.
 */
export interface PumpEnd {
  /** The pump ended: `true` at end of stream, `false` once stopped. */
  pumpEnded(ended: boolean): void;
  /** The pump failed, or could not start, with `reason`. */
  pumpFailed(reason: unknown): void;
}

/**
 * A connected TCP socket as a runtime gives it, with three faults of the
 * runtimes hidden: Bun's partial writes, Node's unbounded write buffering and
 * Deno's `readable` closing the whole connection at end of stream.
 */
export interface RuntimeConn {
  /** This side's address. */
  readonly localAddr: NetAddr;
  /** The peer's address. */
  readonly remoteAddr: NetAddr;
  /**
   * Bytes of a pump's replies handed to the runtime so far (text as its
   * UTF-8 bytes), counted when taken or queued; not `write()`'s, which its
   * caller counts once they are written. Counted here because Node and Bun
   * encode text natively: counting its bytes above would cost a scan of
   * every reply (and the flattening of a concatenated one).
   */
  readonly repliedBytes: number;
  /**
   * Resolves with the next bytes the peer sent, which the caller owns from
   * then on (the adapter never reuses them), or `null` at end of stream.
   * Reading is pulled: while nobody calls `read()`, at most a small bounded
   * amount is buffered and the runtime stops reading from the kernel, so the
   * peer feels backpressure. Only one `read()` may be pending at a time.
   * Rejects with `ECLOSED` once `close()` has been called (pending reads too),
   * with `ECONNRESET` if the peer reset.
   */
  read(): Promise<Uint8Array | null>;
  /**
   * Resolves once the runtime has taken every byte of `data` (written it to
   * the kernel), so the caller may then reuse `data`. Waits for the runtime's
   * drain while the kernel buffer is full: memory stays bounded whatever the
   * peer's reading speed. Calls are serialised: bytes go out in call order.
   */
  write(data: Uint8Array): Promise<void>;
  /**
   * Sends end-of-stream (TCP FIN) after all written bytes, keeping the read
   * side open so the peer can still reply.
   */
  closeWrite(): Promise<void>;
  /** Closes both directions now. Idempotent. */
  close(): void;
  /**
   * Push mode, for servers that answer what arrives: calls `handler.onData` with
   * each chunk as the runtime delivers it and sends what it returns, with no
   * promise per chunk while replies are synchronous and the kernel takes
   * them at once (Node and Bun answer inside the runtime's data callback).
   * Reading waits while a reply does (a promise from `onData`, or bytes the
   * kernel has not taken yet), so memory stays bounded as with `read()`.
   *
   * Reports to `end` (`pumpEnded(true)` at end of stream, `pumpEnded(false)`
   * once {@linkcode stopPump} took effect) after every reply was handed to
   * the kernel, except
   * that of an `onData` that stopped the pump itself, which may still be
   * being written: until it is, Deno refuses a new pump with `EINVAL`
   * (Node's and Bun's write queues keep it in order). `pumpFailed` hears
   * what `onData` threw, or what `read()` and `write()` would reject with,
   * or why the pump could not start. Afterwards
   * `read()` and `write()` work as before: bytes that arrived after the pump
   * stopped are read next. Not while a read is pending.
   */
  pumpTo(handler: PumpHandler, end: PumpEnd): void;
  /**
   * Stops a running pump: at once if it is waiting for bytes, otherwise
   * after the reply to the chunk it is handling. May be called from
   * `onData`. Does nothing when no pump runs.
   */
  stopPump(): void;
}

/** A listening TCP socket as a runtime gives it. */
export interface RuntimeListener {
  /** The bound address, with the real port when 0 was asked for. */
  readonly addr: NetAddr;
  /**
   * Resolves with the next connection, or `null` once the listener is closed
   * (a pending `accept()` resolves `null` when `close()` is called). Rejects
   * when the runtime fails to accept (such as `EMFILE`, out of descriptors);
   * the listener goes on, and the next call may succeed. A connection that
   * failed before it was accepted (reset by its peer) is skipped, not an
   * error.
   */
  accept(): Promise<RuntimeConn | null>;
  /**
   * Hands every connection from now on to `onConn` as soon as it is
   * accepted, instead of to `accept()`, and every failure to accept to
   * `onError`: a server's accept loop without a promise and a trip through
   * the microtask queue per connection. Resolves once the listener is
   * closed. `undefined` when connections already go to an `onConn`.
   * Optional: adapters whose runtime is asked for each connection (Deno)
   * leave it out.
   */
  acceptEach?(onConn: (conn: RuntimeConn) => void, onError: (error: unknown) => void): Promise<void> | undefined;
  /** Stops listening. Idempotent. Connections already accepted stay open. */
  close(): void;
}

/** A datagram as received: its bytes and who sent it. */
export interface RuntimeDatagram {
  /** The payload, owned by the caller. */
  data: Uint8Array;
  /** The sender's address. */
  remote: NetAddr;
}

/**
 * Push mode's datagram handler (see {@linkcode RuntimeDatagramSocket.answerEach}).
 * An object rather than two functions, so that a server can be its own.
 */
export interface DatagramAnswerer {
  /**
   * Answers one datagram, whose bytes it owns: what it returns goes back to
   * `remote` as it is (the answerer checks that it fits in one datagram).
   */
  answer(data: Uint8Array, remote: NetAddr): PumpReply | Promise<PumpReply>;
  /**
   * Told what `answer` threw or rejected with, or why its reply could not be
   * sent; never of sends cut short by `close()`.
   */
  fail(error: unknown, data: Uint8Array, remote: NetAddr): void;
}

/**
 * A bound UDP socket as a runtime gives it. Unconnected: it can send to and
 * receive from any address. Nothing a peer does (a malformed datagram, an
 * ICMP port unreachable for an earlier send) ever closes it.
 */
export interface RuntimeDatagramSocket {
  /** The bound address, with the real port when 0 was asked for. */
  readonly addr: NetAddr;
  /**
   * Resolves with the next datagram, or `null` once `close()` was called
   * (a pending call too). Only one may be pending at a time. Datagrams that
   * arrive while nobody receives wait in a bounded queue; past the bound
   * they are dropped, as the kernel would.
   */
  receive(): Promise<RuntimeDatagram | null>;
  /**
   * Sends one datagram; resolves once the runtime has handed it to the
   * kernel. A payload larger than one datagram can carry rejects with
   * `EMSGSIZE`, never truncated. Rejects with `ECLOSED` after `close()`.
   * `to.hostname` is an IP literal of the socket's family: the layer above
   * looks names up once (see {@linkcode Runtime.lookup}), not per datagram.
   */
  send(data: Uint8Array, to: RuntimeAddrOptions): Promise<void>;
  /**
   * Push mode, for servers: hands every datagram from now on to
   * `answerer.answer`, inside the runtime's receive callback, and sends what
   * it returns, with no promise per datagram while answers are synchronous.
   * One datagram at a time, in arrival order: those that arrive while a
   * promised answer is pending, or while the runtime still holds too many
   * unsent replies, wait in the bounded queue `receive()` uses. Resolves once
   * the socket is closed and no answer is pending. `receive()` is not for use
   * meanwhile. Optional: Deno's `listenDatagram` socket, whose receive is
   * pulled from the kernel anyway, leaves it out.
   */
  answerEach?(answerer: DatagramAnswerer): Promise<void>;
  /** Closes the socket. Idempotent. */
  close(): void;
}

/** The name of a supported runtime. */
export type RuntimeName = "deno" | "bun" | "node";

/** One runtime's sockets behind one interface. */
export interface Runtime {
  /** Which runtime this is. */
  readonly name: RuntimeName;
  /** Binds and listens. Rejects with `EADDRINUSE` and the like. */
  listen(options: RuntimeAddrOptions): Promise<RuntimeListener>;
  /**
   * Connects, with TCP_NODELAY set on the new socket. Rejects with
   * `ECONNREFUSED` and the like; timeouts and signals are handled above.
   */
  connect(options: RuntimeConnectOptions): Promise<RuntimeConn>;
  /**
   * Binds a UDP socket, of the family of its address: a host name binds the
   * first address {@linkcode Runtime.lookup} gives it, as TCP's `listen`
   * does. Rejects with `EADDRINUSE`, `ENOTFOUND` and the like, naming the
   * address as given.
   */
  bindDatagram(options: RuntimeAddrOptions): Promise<RuntimeDatagramSocket>;
  /**
   * Resolves a host name to one IP address the way this runtime resolves
   * names for TCP (the hosts file included): the first it has, of
   * `options.family` when given. An IP literal comes back as it is. Rejects
   * with `ENOTFOUND` when there is none, `EACCES` when Deno's permissions
   * deny the lookup; `options` names the call in the message, such as
   * `Cannot send to nosuch.invalid:9: host not found`.
   */
  lookup(hostname: string, options: RuntimeLookupOptions): Promise<string>;
}

/** Options for {@linkcode Runtime.lookup}. */
export interface RuntimeLookupOptions {
  /** Only addresses of this family; the first of any family when left out. */
  family?: 4 | 6;
  /** What the name is looked up for, such as `send to`, for the error message. */
  action: string;
  /** The port that goes with the name, for the error message. */
  port: number;
}
