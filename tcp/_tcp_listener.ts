/**
 * The one `Listener` implementation, which `listen()` makes; private, so
 * that `serve()` can ask it for pushed connections (`acceptEach`).
 *
 * @module
 */

import type { NetAddr, RuntimeListener } from "../runtime/types.ts";
import { formatAddress, SocketError } from "../socket_error.ts";
import { TcpConn } from "./_tcp_conn.ts";
import type { Conn, ConnOptions } from "./conn.ts";
import type { Listener, ListenOptions } from "./listen.ts";

/** The one {@linkcode Listener} implementation. Internal: `listen()` makes it. */
export class TcpListener implements Listener {
  readonly addr: NetAddr;
  #raw: RuntimeListener;
  #options: ConnOptions;
  #address: string;
  #closed = false;
  #signal: AbortSignal | undefined;
  #onAbort = () => this.close();

  constructor(raw: RuntimeListener, options: ListenOptions) {
    this.#raw = raw;
    this.addr = raw.addr;
    this.#address = formatAddress(raw.addr);
    this.#options = { maxLineBytes: options.maxLineBytes, frames: options.frames };
    this.#signal = options.signal;
    this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  async accept(): Promise<Conn> {
    const raw = this.#closed ? null : await this.#raw.accept();
    if (raw === null) {
      throw new SocketError("ECLOSED", `Cannot accept on ${this.#address}: socket is closed`);
    }
    return new TcpConn(raw, this.#options);
  }

  /**
   * Hands every connection from now on to `onConn` as soon as it is
   * accepted (see `RuntimeListener.acceptEach`); resolves once the listener
   * is closed. `undefined` when the runtime cannot, or connections already
   * go elsewhere: accept() them instead. For `serve()`.
   */
  acceptEach(onConn: (conn: Conn) => void): Promise<void> | undefined {
    if (this.#closed || this.#raw.acceptEach === undefined) return undefined;
    const options = this.#options;
    return this.#raw.acceptEach((raw) => onConn(new TcpConn(raw, options)));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Conn> {
    while (!this.#closed) {
      const raw = await this.#raw.accept();
      if (raw === null) return;
      yield new TcpConn(raw, this.#options);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#raw.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
