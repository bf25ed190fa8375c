/**
 * The client side of a line protocol: requests out, replies matched in order.
 *
 * @module
 */

import { formatAddress, SocketError } from "../socket_error.ts";
import type { Addr } from "../runtime/contract.ts";
import type { Conn } from "./conn.ts";
import { connect, type ConnectOptions, type UnixConnectOptions } from "./connect.ts";

/** Options for one {@linkcode LineClient.request}. */
export interface RequestOptions {
  /** Fails the request with `ETIMEDOUT` after this many milliseconds. */
  timeout?: number;
  /** Fails the request with `EABORTED` when it fires. */
  signal?: AbortSignal;
}

interface Pending {
  resolve(reply: string): void;
  reject(err: unknown): void;
  // A request given up on still owns the next reply in line: it is dropped.
  settled: boolean;
  cleanup(): void;
}

/**
 * Sends request lines and matches reply lines to them in order, with many
 * requests in flight on one connection (pipelining). Requests made in the
 * same tick go out in one write.
 *
 * @example Pipelining requests
 * ```ts
 * import { LineClient, serveLines, uppercase } from "../mod.ts";
 *
 * await using server = await serveLines({ hostname: "127.0.0.1", port: 0 }, uppercase);
 * await using client = await LineClient.connect({ port: server.addr.port });
 * const replies = await Promise.all(["a", "b", "c"].map((line) => client.request(line, { timeout: 5000 })));
 * if (replies.join() !== "A,B,C") throw new Error(replies.join());
 * ```
 */
export class LineClient implements AsyncDisposable {
  #conn: Conn<Addr>;
  #remote: string;
  #pending: Pending[] = [];
  #outgoing = "";
  #flushing: Promise<void> | undefined;
  #reading = false;
  #failed: unknown;

  /** Connects (over TCP or a Unix socket, TLS or not) and wraps the connection; see {@linkcode connect}. */
  static async connect(options: ConnectOptions | UnixConnectOptions): Promise<LineClient> {
    return new LineClient(await connect(options));
  }

  /** Wraps an open connection; the client owns it from then on. */
  constructor(conn: Conn<Addr>) {
    this.#conn = conn;
    this.#remote = formatAddress(conn.remoteAddr);
  }

  /** The connection underneath. */
  get conn(): Conn<Addr> {
    return this.#conn;
  }

  /** Requests in flight. */
  get inFlight(): number {
    return this.#pending.length;
  }

  /**
   * Sends `line` (no newline inside) and resolves with the reply line. Fails
   * with `ETIMEDOUT` or `EABORTED` per `options`, and for every request in
   * flight when the connection fails or the server closes it.
   */
  request(line: string, options: RequestOptions = {}): Promise<string> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    if (line.includes("\n")) {
      return Promise.reject(new SocketError("EINVAL", `Cannot request from ${this.#remote}: line contains a newline`));
    }
    const { timeout, signal } = options;
    if (signal?.aborted) {
      return Promise.reject(new SocketError("EABORTED", `Cannot request from ${this.#remote}: aborted`));
    }
    return new Promise<string>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const giveUp = (err: SocketError) => {
        if (pending.settled) return;
        pending.settled = true;
        pending.cleanup();
        reject(err);
      };
      const onAbort = () => giveUp(new SocketError("EABORTED", `Cannot request from ${this.#remote}: aborted`));
      const pending: Pending = {
        settled: false,
        resolve,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
        },
      };
      if (timeout !== undefined) {
        timer = setTimeout(
          () =>
            giveUp(new SocketError("ETIMEDOUT", `Cannot request from ${this.#remote}: timed out after ${timeout} ms`)),
          timeout,
        );
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.push(pending);
      this.#outgoing += line + "\n";
      this.#flushing ??= Promise.resolve().then(() => this.#flush());
      if (!this.#reading) void this.#readReplies();
    });
  }

  async #flush(): Promise<void> {
    while (this.#outgoing !== "") {
      const batch = this.#outgoing;
      this.#outgoing = "";
      try {
        await this.#conn.write(batch);
      } catch (err) {
        this.#fail(err);
      }
    }
    this.#flushing = undefined;
  }

  async #readReplies(): Promise<void> {
    this.#reading = true;
    try {
      while (this.#pending.length > 0) {
        const lines = await this.#conn.readLines();
        if (lines === null) {
          throw new SocketError("EPIPE", `Cannot request from ${this.#remote}: connection closed by peer`);
        }
        for (const line of lines) {
          const pending = this.#pending.shift();
          if (pending === undefined) {
            throw new SocketError("EINVAL", `Cannot request from ${this.#remote}: reply with no request: ${line}`);
          }
          if (pending.settled) continue;
          pending.settled = true;
          pending.cleanup();
          pending.resolve(line);
        }
      }
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#reading = false;
    }
  }

  #fail(err: unknown): void {
    this.#failed ??= err;
    for (const pending of this.#pending.splice(0)) {
      if (pending.settled) continue;
      pending.settled = true;
      pending.cleanup();
      pending.reject(err);
    }
    this.#conn.close();
  }

  /** Closes the connection; requests in flight fail with `ECLOSED`. */
  close(): void {
    this.#fail(new SocketError("ECLOSED", `Cannot request from ${this.#remote}: socket is closed`));
  }

  /** Closes the client, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
