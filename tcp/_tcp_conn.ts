/**
 * The one Conn implementation, over a runtime adapter's socket. Internal:
 * users get the {@linkcode Conn} interface from `connect()` and `listen()`.
 *
 * @module
 */

import { FrameDecoder, type FrameOptions } from "../protocol/frame_decoder.ts";
import { encodeFrame } from "../protocol/frame_encoder.ts";
import { DEFAULT_MAX_LINE_BYTES, LineDecoder } from "../protocol/line_decoder.ts";
import type { NetAddr, RuntimeConn } from "../runtime/types.ts";
import { formatAddress, SocketError } from "../socket_error.ts";
import type { Conn, ConnOptions, ReadOptions } from "./conn.ts";

const utf8 = new TextEncoder();

/**
 * The one {@linkcode Conn} implementation, over a runtime adapter's socket.
 * Made by `connect()` and `listen()`; users never construct it.
 */
export class TcpConn implements Conn {
  readonly localAddr: NetAddr;
  readonly remoteAddr: NetAddr;
  #raw: RuntimeConn;
  #remote: string;
  // Received bytes not yet returned live in #buffer, or in #frames while
  // frames are being read: never in both, so order is kept.
  #buffer: LineDecoder;
  #frames: FrameDecoder | undefined;
  #frameOptions: FrameOptions | undefined;
  #closed = false;
  #bytesRead = 0;
  #bytesWritten = 0;
  #readable: ReadableStream<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;
  // A runtime read that a cancelled read left behind: the next read takes it.
  #inflight: Promise<Uint8Array | null> | undefined;
  #lastActivity = performance.now();

  /** Wraps a runtime socket. */
  constructor(raw: RuntimeConn, options: ConnOptions = {}) {
    this.#raw = raw;
    this.localAddr = raw.localAddr;
    this.remoteAddr = raw.remoteAddr;
    this.#remote = formatAddress(raw.remoteAddr);
    this.#buffer = new LineDecoder({ maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES });
    this.#frameOptions = options.frames;
  }

  get bytesRead(): number {
    return this.#bytesRead;
  }

  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /**
   * When bytes last moved either way, in `performance.now()` milliseconds:
   * what a server's idle timeout measures.
   */
  get lastActivity(): number {
    return this.#lastActivity;
  }

  // The one place that reads the runtime socket.
  async #rawRead(signal: AbortSignal | undefined): Promise<Uint8Array | null> {
    if (this.#closed) throw this.#closedError("read from");
    // Starting a read only to abandon it would leave its outcome unobserved.
    if (signal?.aborted) throw new SocketError("EABORTED", `Cannot read from ${this.#remote}: aborted`);
    const pending = this.#inflight ?? this.#raw.read();
    this.#inflight = pending;
    let chunk: Uint8Array | null;
    try {
      chunk = signal === undefined ? await pending : await this.#raceSignal(pending, signal);
    } catch (err) {
      if (!(err instanceof SocketError && err.code === "EABORTED" && this.#inflight === pending)) {
        this.#inflight = undefined;
      }
      throw err;
    }
    this.#inflight = undefined;
    if (chunk !== null) {
      this.#bytesRead += chunk.byteLength;
      this.#lastActivity = performance.now();
    }
    return chunk;
  }

  #raceSignal<T>(pending: Promise<T>, signal: AbortSignal): Promise<T> {
    const aborted = () => new SocketError("EABORTED", `Cannot read from ${this.#remote}: aborted`);
    if (signal.aborted) return Promise.reject(aborted());
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(aborted());
      signal.addEventListener("abort", onAbort, { once: true });
      pending.then((value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      }, (err) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      });
    });
  }

  // After frames, bytes the frame decoder holds go back to the line buffer.
  #unframe(): void {
    if (this.#frames !== undefined && this.#frames.buffered > 0) this.#buffer.push(this.#frames.take());
  }

  // Bytes the line buffer holds come first: they arrived before the socket's.
  #chunk(): Promise<Uint8Array | null> {
    if (this.#closed) return Promise.reject(this.#closedError("read from"));
    this.#unframe();
    if (this.#buffer.buffered > 0) return Promise.resolve(this.#buffer.take());
    return this.#rawRead(undefined);
  }

  async read(buffer: Uint8Array, options?: ReadOptions): Promise<number | null> {
    if (this.#closed) throw this.#closedError("read from");
    if (buffer.byteLength === 0) return 0;
    this.#unframe();
    if (this.#buffer.buffered > 0) {
      const bytes = this.#buffer.take(buffer.byteLength);
      buffer.set(bytes);
      return bytes.byteLength;
    }
    const chunk = await this.#rawRead(options?.signal);
    if (chunk === null) return null;
    if (chunk.byteLength <= buffer.byteLength) {
      buffer.set(chunk);
      return chunk.byteLength;
    }
    buffer.set(chunk.subarray(0, buffer.byteLength));
    this.#buffer.push(chunk.subarray(buffer.byteLength));
    return buffer.byteLength;
  }

  async readLine(options?: ReadOptions): Promise<string | null> {
    for (;;) {
      const line = this.#lineOrThrow();
      if (line !== undefined) return line;
      if (!(await this.#fill(options?.signal))) return this.#endOrThrow() ?? null;
    }
  }

  async readLines(options?: ReadOptions): Promise<string[] | null> {
    for (;;) {
      const first = this.#lineOrThrow();
      if (first !== undefined) {
        const lines = [first];
        try {
          for (let line = this.#buffer.next(); line !== undefined; line = this.#buffer.next()) lines.push(line);
        } catch {
          // The decoder keeps failing: the caller gets the error on its next
          // read, after the replies to the lines that came before it.
        }
        return lines;
      }
      if (!(await this.#fill(options?.signal))) {
        const rest = this.#endOrThrow();
        return rest === undefined ? null : [rest];
      }
    }
  }

  async readFrame(options?: ReadOptions): Promise<Uint8Array | null> {
    if (this.#closed) throw this.#closedError("read from");
    const frames = this.#frames ??= new FrameDecoder(this.#frameOptions);
    if (this.#buffer.buffered > 0) frames.push(this.#buffer.take());
    for (;;) {
      let frame: Uint8Array | undefined;
      try {
        frame = frames.next();
      } catch (err) {
        if (!(err instanceof SocketError) || err.code !== "EFRAMETOOLONG") throw err;
        throw new SocketError(
          "EFRAMETOOLONG",
          err.message.replace("Cannot decode frame", `Cannot read frame from ${this.#remote}`),
        );
      }
      if (frame !== undefined) return frame;
      const chunk = await this.#rawRead(options?.signal);
      if (chunk === null) {
        if (frames.buffered === 0) return null;
        throw new SocketError("EPROTO", `Cannot read frame from ${this.#remote}: stream ended inside a frame`);
      }
      frames.push(chunk);
    }
  }

  writeFrame(payload: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(this.#closedError("write to"));
    let frame: Uint8Array;
    try {
      frame = encodeFrame(payload, this.#frameOptions);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.write(frame);
  }

  async *lines(): AsyncIterableIterator<string> {
    for (let line = await this.readLine(); line !== null; line = await this.readLine()) yield line;
  }

  // Reads one more chunk into the line buffer; false at end of stream.
  async #fill(signal: AbortSignal | undefined): Promise<boolean> {
    const chunk = await this.#rawRead(signal);
    if (chunk === null) return false;
    this.#buffer.push(chunk);
    return true;
  }

  #lineOrThrow(): string | undefined {
    if (this.#closed) throw this.#closedError("read from");
    this.#unframe();
    try {
      return this.#buffer.next();
    } catch (err) {
      throw this.#lineError(err);
    }
  }

  #endOrThrow(): string | undefined {
    try {
      return this.#buffer.end();
    } catch (err) {
      throw this.#lineError(err);
    }
  }

  #lineError(err: unknown): unknown {
    if (!(err instanceof SocketError) || err.code !== "ELINETOOLONG") return err;
    return new SocketError(
      "ELINETOOLONG",
      `Cannot read line from ${this.#remote}: longer than ${this.#buffer.maxLineBytes} bytes`,
    );
  }

  async write(data: Uint8Array | string): Promise<number> {
    if (this.#closed) throw this.#closedError("write to");
    const bytes = typeof data === "string" ? utf8.encode(data) : data;
    await this.#raw.write(bytes);
    this.#bytesWritten += bytes.byteLength;
    this.#lastActivity = performance.now();
    return bytes.byteLength;
  }

  closeWrite(): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError("close"));
    return this.#raw.closeWrite();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#raw.close();
  }

  get readable(): ReadableStream<Uint8Array> {
    this.#readable ??= new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const chunk = await this.#chunk();
        if (chunk === null) controller.close();
        else controller.enqueue(chunk);
      },
    }, { highWaterMark: 0 });
    return this.#readable;
  }

  get writable(): WritableStream<Uint8Array> {
    this.#writable ??= new WritableStream<Uint8Array>({
      write: async (chunk) => {
        await this.write(chunk);
      },
      close: () => this.closeWrite(),
      abort: () => this.close(),
    });
    return this.#writable;
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #closedError(action: string): SocketError {
    return new SocketError("ECLOSED", `Cannot ${action} ${this.#remote}: socket is closed`);
  }
}
