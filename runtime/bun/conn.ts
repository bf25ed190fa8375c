/**
 * A connected Bun socket (TCP or Unix, plain or TLS) behind the runtime
 * contract's {@linkcode RawConn}.
 *
 * @module
 */

import type { Addr, ConnEvents, NetAddr, RawConn, TlsInfo } from "../contract.ts";
import { formatAddress, SocketError } from "../../socket_error.ts";
import type { BunSocket, BunSocketHandler } from "./types.ts";

const encoder = new TextEncoder();

function tcpAddr(hostname: string, port: number): NetAddr {
  return { transport: "tcp", hostname, port };
}

// Bun gives no error for a write to a socket it has closed: this one says what happened.
function brokenPipe(remote: Addr): SocketError {
  return new SocketError("EPIPE", `Cannot write to ${formatAddress(remote)}: connection closed by peer`);
}

/**
 * Judges how a TLS handshake ended, from Bun's `handshake` handler (or a
 * failure before it: `success` false, with the socket's error, or `null`
 * when the peer closed): the failure to reject with, or `undefined` for a
 * connection to go on with.
 */
export type HandshakeJudge = (success: boolean, authorizationError: Error | null) => unknown;

/** How a {@linkcode BunConn} is made: its addresses when the socket cannot tell, and TLS. */
export interface BunConnOptions {
  /** This side's address; asked of the kernel when absent. */
  local?: Addr;
  /** The peer's address; when given (Unix sockets, STARTTLS), TCP_NODELAY is left as it is. */
  remote?: Addr;
  /** For a TLS socket: judges its handshake, which `handshakeDone` then waits for. */
  judge?: HandshakeJudge;
}

interface Handshake {
  judge: HandshakeJudge;
  resolve(): void;
  reject(cause: unknown): void;
}

/**
 * One connected Bun socket, plain or TLS, as a {@linkcode RawConn}.
 *
 * @example Wrapping the sockets of a connect
 * ```ts ignore
 * import { BunConn } from "./conn.ts";
 * import { bun } from "./types.ts";
 *
 * const socket = await bun().connect<BunConn>({
 *   hostname: "127.0.0.1",
 *   port: 80,
 *   allowHalfOpen: true,
 *   socket: BunConn.handlers((socket) => void new BunConn(socket)),
 * });
 * socket.data!.close();
 * ```
 */
export class BunConn implements RawConn {
  readonly localAddr: Addr;
  readonly remoteAddr: Addr;
  /** What the TLS handshake settled, once it is done. */
  tls: TlsInfo | undefined = undefined;
  /** A TLS socket's handshake: resolves once it is done and judged good; rejects otherwise (socket closed). */
  readonly handshakeDone: Promise<void> | undefined = undefined;
  #socket: BunSocket<BunConn>;
  #events: ConnEvents | undefined = undefined;
  // What happened before start(), replayed by it.
  #early: ((events: ConnEvents) => void)[] | undefined = undefined;
  // The part of a write the kernel has not taken yet: Bun keeps none of it.
  #pending: Uint8Array | undefined = undefined;
  // Nothing more is reported: close() was called, error() was reported, or the socket went to TLS.
  #done = false;
  #ended = false;
  // Bun has closed the socket (both FINs, a reset, a failure, or close()).
  #gone = false;
  // Inside socket.write(), which may close the socket and report it at once.
  #writing = false;
  #handshake: Handshake | undefined = undefined;
  #secure: boolean;

  constructor(socket: BunSocket<BunConn>, options: BunConnOptions = {}) {
    this.#socket = socket;
    this.#secure = options.judge !== undefined;
    socket.data = this;
    if (options.remote !== undefined) {
      this.localAddr = options.local!;
      this.remoteAddr = options.remote;
    } else {
      // Bun sets TCP_NODELAY by default; the contract requires it, so it is not left to a default.
      socket.setNoDelay(true);
      this.localAddr = options.local ?? tcpAddr(socket.localAddress, socket.localPort);
      this.remoteAddr = tcpAddr(socket.remoteAddress, socket.remotePort);
    }
    const judge = options.judge;
    if (judge !== undefined) {
      const done = new Promise<void>((resolve, reject) => this.#handshake = { judge, resolve, reject });
      // Whoever waits for it hears of a failure; it is not also unhandled meanwhile.
      done.catch(() => {});
      this.handshakeDone = done;
    }
  }

  #report(call: (events: ConnEvents) => void): void {
    if (this.#events !== undefined) call(this.#events);
    else (this.#early ??= []).push(call);
  }

  #fail(cause: unknown): void {
    const handshake = this.#handshake;
    if (handshake !== undefined) {
      // The judge names a failure during the handshake as one of it.
      this.abortHandshake(handshake.judge(false, cause as Error) ?? cause);
      return;
    }
    if (this.#done) return;
    this.#done = true;
    this.#pending = undefined;
    // Not from inside write(): its caller learns of the failure after it returns.
    if (this.#writing) queueMicrotask(() => this.#report((events) => events.error(cause)));
    else this.#report((events) => events.error(cause));
  }

  /**
   * Handlers for every socket of a listener or a connect; each finds its
   * connection in `socket.data`. `tls` adds the handshake's.
   */
  static handlers(open: (socket: BunSocket<BunConn>) => void, tls = false): BunSocketHandler<BunConn> {
    const handlers: BunSocketHandler<BunConn> = {
      // A plain Uint8Array, lent to the receiver (see ConnEvents.data).
      binaryType: "uint8array",
      open,
      data: (socket, chunk) => {
        if (socket.data !== undefined) socket.data.#onData(chunk);
      },
      drain: (socket) => {
        if (socket.data !== undefined) socket.data.#onDrain();
      },
      end: (socket) => {
        if (socket.data !== undefined) socket.data.#onEnd();
      },
      // Bun reports a reset or a failed read here, as the argument.
      close: (socket, error) => {
        if (socket.data !== undefined) socket.data.#onClose(error);
      },
      error: (socket, error) => {
        if (socket.data !== undefined) socket.data.#fail(error);
        socket.end();
      },
    };
    if (tls) {
      handlers.handshake = (socket, success, error) => {
        if (socket.data !== undefined) socket.data.#onHandshake(success, error);
      };
    }
    return handlers;
  }

  #onHandshake(success: boolean, error: Error | null): void {
    const handshake = this.#handshake;
    if (handshake === undefined) return;
    const failure = handshake.judge(success, error);
    if (failure !== undefined) {
      this.abortHandshake(failure);
      return;
    }
    this.#handshake = undefined;
    const socket = this.#socket;
    const alpn = socket.alpnProtocol;
    // A copy: Bun's Buffer may be a view of a larger pool.
    const raw = socket.getPeerCertificate()?.raw;
    this.tls = {
      protocol: socket.getTLSVersion() ?? undefined,
      alpnProtocol: typeof alpn === "string" && alpn !== "" ? alpn : undefined,
      peerCertificate: raw instanceof Uint8Array && raw.byteLength > 0 ? new Uint8Array(raw) : undefined,
    };
    handshake.resolve();
  }

  /** Gives up a handshake under way: closes the socket, and `handshakeDone` rejects with `cause`. */
  abortHandshake(cause: unknown): void {
    const handshake = this.#handshake;
    if (handshake === undefined) return;
    this.#handshake = undefined;
    this.close();
    handshake.reject(cause);
  }

  #onData(chunk: Uint8Array): void {
    if (this.#done) return;
    const events = this.#events;
    if (events !== undefined) events.data(chunk);
    else {
      // Kept until start(): a copy, as the chunk is only lent.
      const kept = chunk.slice();
      (this.#early ??= []).push((events) => events.data(kept));
    }
  }

  #onEnd(): void {
    // The peer can no longer finish a handshake it has not: a failure
    // without an error, for the judge to name.
    const handshake = this.#handshake;
    if (handshake !== undefined) this.abortHandshake(handshake.judge(false, null));
    if (this.#done || this.#ended) return;
    this.#ended = true;
    this.#report((events) => events.end());
  }

  #onClose(error: Error | undefined): void {
    this.#gone = true;
    if (error !== undefined) this.#fail(error);
    // A write still waiting will never be taken.
    else if (this.#pending !== undefined) this.#fail(brokenPipe(this.remoteAddr));
    else this.#onEnd();
  }

  #onDrain(): void {
    const pending = this.#pending;
    if (this.#done || pending === undefined) return;
    const taken = this.#write(pending);
    if (taken < 0) return;
    if (taken < pending.byteLength) {
      this.#pending = pending.subarray(taken);
      return;
    }
    this.#pending = undefined;
    this.#events?.drain();
  }

  // The bytes the kernel took, or -1 once the socket is gone (reported).
  #write(data: Uint8Array | string): number {
    this.#writing = true;
    const taken = this.#socket.write(data);
    if (taken < 0) {
      this.#gone = true;
      this.#fail(brokenPipe(this.remoteAddr));
    }
    this.#writing = false;
    return taken;
  }

  /**
   * Gives the socket up, for STARTTLS: nothing more is reported. `undefined`
   * (and nothing changes) while bytes received wait here unread, or once
   * the socket is closed or failed.
   */
  detach(): BunSocket<BunConn> | undefined {
    if (this.#done || this.#gone || this.#early !== undefined) return undefined;
    this.#done = true;
    this.#gone = true;
    return this.#socket;
  }

  start(events: ConnEvents): void {
    this.#events = events;
    const early = this.#early;
    this.#early = undefined;
    if (early !== undefined) { for (const call of early) call(events); }
  }

  pause(): void {
    if (!this.#gone) this.#socket.pause();
  }

  resume(): void {
    if (!this.#gone) this.#socket.resume();
  }

  write(data: Uint8Array | string, bytes: number): boolean {
    if (this.#done) return true;
    const taken = this.#write(data);
    if (taken < 0) return false;
    if (taken >= bytes) return true;
    // Only a partial write needs text as bytes, to keep the rest.
    this.#pending = (typeof data === "string" ? encoder.encode(data) : data).subarray(taken);
    return false;
  }

  closeWrite(): void {
    // shutdown() with no argument is shutdown(SHUT_WR): FIN, and reading goes on.
    if (!this.#done && !this.#gone) this.#socket.shutdown();
  }

  close(): void {
    if (this.#done && this.#gone) return;
    this.#done = true;
    this.#pending = undefined;
    this.#early = undefined;
    if (this.#gone) return;
    this.#gone = true;
    // Both close at once even with allowHalfOpen, after what is written;
    // terminate() would send a reset. On TLS, end() sends close_notify and
    // then keeps the socket until the peer answers, which a peer that
    // stopped reading never does; close() sends none and lets the socket
    // go, as Node's does (Deno's sends one, and does not wait either). Not
    // documented: pinned in runtime/UNDOCUMENTED.md.
    if (this.#secure) this.#socket.close();
    else this.#socket.end();
  }
}
