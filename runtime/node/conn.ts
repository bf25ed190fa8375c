/**
 * Connected stream sockets (TCP, Unix, TLS over either) through `node:net`
 * and `node:tls`, behind the runtime contract.
 *
 * @module
 */

import type * as net from "node:net";
import type { Addr, ConnEvents, NetAddr, RawConn, TlsInfo, UnixAddr } from "../contract.ts";
import { formatAddress, SocketError } from "../../socket_error.ts";

const EMPTY = new Uint8Array(0);

/** A TCP address from what Node reports. */
export function netAddr(hostname: string | undefined, port: number | undefined): NetAddr {
  return { transport: "tcp", hostname: hostname ?? "", port: port ?? 0 };
}

/** A Unix socket address. */
export function unixAddr(path: string): UnixAddr {
  return { transport: "unix", path };
}

/** A connection's addresses, where the socket cannot tell them (Unix) or they are known already. */
export interface ConnAddrs {
  /** This side's address; read from the socket when not given. */
  localAddr?: Addr;
  /** The peer's address; read from the socket when not given. */
  remoteAddr?: Addr;
}

/**
 * A `node:net` or `node:tls` socket as a {@linkcode RawConn}. TLS sockets
 * are wrapped once their handshake is done.
 *
 * @example Wrapping a connected socket
 * ```ts ignore
 * import * as net from "node:net";
 * import { NodeConn } from "./tcp.ts";
 *
 * const socket = net.connect({ host: "127.0.0.1", port: 7, allowHalfOpen: true });
 * socket.once("connect", () => new NodeConn(socket).close());
 * ```
 */
export class NodeConn implements RawConn {
  /** This side's address. */
  readonly localAddr: Addr;
  /** The peer's address. */
  readonly remoteAddr: Addr;
  /** What the TLS handshake settled, on a TLS connection. */
  readonly tls?: TlsInfo;
  #socket: net.Socket;
  #events: ConnEvents | undefined = undefined;
  // A failure before start(), reported by start().
  #early: Error | undefined = undefined;
  #ended = false;
  // After error() or close(), nothing more is reported.
  #done = false;

  #onError = (err: Error) => this.#fail(err);
  #onCloseEvent = () => this.#onClose();
  #onData = (chunk: Uint8Array) => {
    // A plain view of the Buffer, which Node allocates per read: callers
    // get the same type on every runtime.
    if (!this.#done) this.#events!.data(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  };
  #onEndEvent = () => this.#onEnd();

  /** Wraps a connected `socket`; `tls` for a TLS socket whose handshake is done. */
  constructor(socket: net.Socket, addrs: ConnAddrs = {}, tls?: TlsInfo) {
    this.#socket = socket;
    this.localAddr = addrs.localAddr ?? netAddr(socket.localAddress, socket.localPort);
    this.remoteAddr = addrs.remoteAddr ?? netAddr(socket.remoteAddress, socket.remotePort);
    // A no-op when the server's or connect's noDelay option already set it.
    if (this.localAddr.transport === "tcp") socket.setNoDelay(true);
    if (tls !== undefined) this.tls = tls;
    // At once, so that nothing fails unheard. Bytes wait in the stream's
    // bounded buffer until start() adds the data listener, which makes the
    // stream flow.
    socket.on("error", this.#onError);
    socket.on("close", this.#onCloseEvent);
  }

  start(events: ConnEvents): void {
    this.#events = events;
    if (this.#early !== undefined) {
      this.#fail(this.#early);
      return;
    }
    this.#socket.on("data", this.#onData);
    this.#socket.on("end", this.#onEndEvent);
  }

  /**
   * Hands the socket over for a TLS handshake: this connection reports
   * nothing more. Throws `EPROTO`, changing nothing, while bytes the peer
   * sent wait unread in the stream's buffer.
   */
  detach(): net.Socket {
    const socket = this.#socket;
    if (socket.readableLength > 0) {
      throw new SocketError(
        "EPROTO",
        `Cannot start TLS with ${
          formatAddress(this.remoteAddr)
        }: ${socket.readableLength} bytes received before it are unread`,
      );
    }
    this.#done = true;
    socket.off("error", this.#onError);
    socket.off("close", this.#onCloseEvent);
    socket.off("data", this.#onData);
    socket.off("end", this.#onEndEvent);
    return socket;
  }

  // End of stream. libuv reports a reset that comes right after a partial
  // read as end of stream (it takes POLLHUP for EOF without reading), and
  // the reset stays pending on the socket: an empty write brings it out,
  // where a real end of stream lets it through. Not documented: pinned in
  // runtime/UNDOCUMENTED.md. Once this side has half-closed, the write is
  // refused; while a write is queued, the empty one would wait behind it
  // (for ever, with a peer that stopped reading), and the queued write
  // fails on a reset anyway: the end is taken as it comes then.
  #onEnd(): void {
    const socket = this.#socket;
    // A Unix socket has no such reset to bring out, and the write would
    // fail with EPIPE once the peer has closed. On TLS the write tells
    // nothing: with no encrypted output waiting Node completes it without
    // the kernel, and after a reset that cut the handshake's last output
    // short no write calls back at all, so the connection would wait for
    // ever. Not documented either: pinned in runtime/UNDOCUMENTED.md.
    if (
      socket.writableEnded || socket.destroyed || socket.writableLength > 0 || this.localAddr.transport === "unix" ||
      this.tls !== undefined
    ) {
      this.#end();
      return;
    }
    // A failure comes as an error event too.
    socket.write(EMPTY, (err) => {
      if (err == null) this.#end();
    });
  }

  #end(): void {
    if (this.#done || this.#ended) return;
    this.#ended = true;
    this.#events!.end();
  }

  #fail(err: Error): void {
    if (this.#done) return;
    if (this.#events === undefined) {
      this.#early ??= err;
      return;
    }
    this.#done = true;
    this.#events.error(err);
  }

  // Closed by both sides having ended, or after an error: a stream not yet
  // ended has nothing more to give.
  #onClose(): void {
    if (this.#events !== undefined) this.#end();
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  write(data: Uint8Array | string): boolean {
    const socket = this.#socket;
    // Node would destroy the whole socket for a write after end(), losing
    // the read side: a caller's bug, said at once.
    if (socket.writableEnded) {
      throw new SocketError("EPIPE", `Cannot write to ${formatAddress(this.remoteAddr)}: write side is closed`);
    }
    // Destroyed by a failure whose error event is on its way (Node would
    // drop the bytes unsaid): that event is the answer.
    if (socket.destroyed) return false;
    // Node encrypts on a later tick, so a TLS write is always pending here:
    // its own callback says when it is out, with no empty write (which
    // costs TLS a system call) behind it.
    if (this.tls !== undefined) {
      socket.write(data, (err) => {
        if (err == null && !this.#done && !socket.destroyed) this.#events!.drain();
      });
      return false;
    }
    socket.write(data);
    // A write the kernel refused at once (EPIPE from a Unix socket whose
    // peer has closed, say) leaves the stream errored and nothing pending:
    // the error event on its way is the answer, not "taken".
    if (!socket.writable) return false;
    // Node counts a write as pending until libuv has handed all of it to
    // the kernel, which its try-write usually does at once.
    if (socket.writableLength === 0) return true;
    // An empty write queued behind calls back once all before it is written,
    // so Node holds this one write of ours at most. Node also calls back
    // without an error for a socket destroyed under it: no drain then.
    socket.write(EMPTY, (err) => {
      if (err == null && !this.#done && !socket.destroyed) this.#events!.drain();
    });
    return false;
  }

  closeWrite(): void {
    this.#socket.end();
  }

  close(): void {
    this.#done = true;
    this.#socket.destroy();
  }
}
