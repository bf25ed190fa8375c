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

/** One line on stderr: what a server or listener does with errors nobody asked to hear. */
export function reportToStderr(error: unknown): void {
  console.error(error instanceof Error ? error.message : String(error));
}

/** Calls `onError`; one that throws is reported to stderr rather than taking the caller down. */
export function report(onError: (error: unknown) => void, error: unknown): void {
  try {
    onError(error);
  } catch (thrown) {
    reportToStderr(thrown);
  }
}

/**
 * The pause after a failed accept: it doubles from 5 ms up to a second while
 * failures repeat (out of descriptors, the next accept would fail at once),
 * as Go's net/http does, and ends early when the accepting stops.
 */
export class AcceptBackoff {
  #delay = 0;
  #wake: (() => void) | undefined;

  /** Waits before the next accept. */
  failed(): Promise<void> {
    this.#delay = Math.min(Math.max(this.#delay * 2, 5), 1000);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, this.#delay);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  /** An accept succeeded: the next failure waits the least again. */
  succeeded(): void {
    this.#delay = 0;
  }

  /** Ends a pause now. */
  cancel(): void {
    this.#wake?.();
  }
}

/** The one {@linkcode Listener} implementation. Internal: `listen()` makes it. */
export class TcpListener implements Listener {
  readonly addr: NetAddr;
  #raw: RuntimeListener;
  #options: ConnOptions;
  #address: string;
  #closed = false;
  #signal: AbortSignal | undefined;
  #onError: (error: unknown) => void;
  #onAbort = () => this.close();
  #backoff = new AcceptBackoff();

  constructor(raw: RuntimeListener, options: ListenOptions) {
    this.#raw = raw;
    this.addr = raw.addr;
    this.#address = formatAddress(raw.addr);
    this.#options = { maxLineBytes: options.maxLineBytes, frames: options.frames };
    this.#onError = options.onError ?? reportToStderr;
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
  acceptEach(onConn: (conn: Conn) => void, onError: (error: unknown) => void): Promise<void> | undefined {
    if (this.#closed || this.#raw.acceptEach === undefined) return undefined;
    const options = this.#options;
    return this.#raw.acceptEach((raw) => onConn(new TcpConn(raw, options)), onError);
  }

  /**
   * Accepts until the listener is closed. A failure to accept (out of file
   * descriptors, say) goes to `onError` and the loop goes on after a pause
   * that doubles, up to a second, while failures repeat, as Go's net/http does.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<Conn> {
    while (!this.#closed) {
      let raw;
      try {
        raw = await this.#raw.accept();
      } catch (err) {
        report(this.#onError, err);
        await this.#backoff.failed();
        continue;
      }
      if (raw === null) return;
      this.#backoff.succeeded();
      yield new TcpConn(raw, this.#options);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#raw.close();
    this.#backoff.cancel();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
