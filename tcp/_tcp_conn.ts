/**
 * The one Conn implementation, over any runtime's {@linkcode RawConn}:
 * read-ahead, pulled reads, timeouts, write order, streams and push mode are
 * written here once. Internal: users get the {@linkcode Conn} interface.
 *
 * @module
 */

import { FrameDecoder, type FrameOptions } from "../protocol/frame_decoder.ts";
import { encodeFrame } from "../protocol/frame_encoder.ts";
import { DEFAULT_MAX_LINE_BYTES, LineDecoder } from "../protocol/line_decoder.ts";
import { unmapIpv4 } from "../addr.ts";
import type { Addr, ConnEvents, RawConn, TlsInfo } from "../runtime/contract.ts";
import { formatAddress, SocketError, socketError } from "../socket_error.ts";
import { utf8Length } from "../utf8_length.ts";
import type { Conn, ConnOptions, ReadOptions } from "./conn.ts";
import { PUSH, type PushAnswerer, type PushConn, type PushEnd } from "./_push.ts";
import { type Upgradable, UPGRADE } from "./_upgrade.ts";

/** Options of a {@linkcode TcpConn}: a `Conn`'s, and the name it was connected to. */
export interface TcpConnOptions extends ConnOptions {
  /** The default TLS server name for `startTls()`. */
  serverName?: string;
}

// Bytes read ahead while nobody reads before the socket is paused, so that a
// peer writing to a reader who does not read feels backpressure.
const READ_AHEAD = 64 * 1024;

// Text replies longer than this go to the runtime as bytes: counting the
// UTF-8 bytes of a long string costs more than encoding it.
const LONG_TEXT = 1024;

// The bytes `writable` queues before `ready` waits: Node's default for a socket.
const WRITABLE_HIGH_WATER_MARK = 16 * 1024;

const encoder = new TextEncoder();

// The write queue of a connection none of whose writes has had to wait; never pushed to.
const NO_WRITES: QueuedWrite[] = [];

// A write waiting its turn: its bytes and who hears it was taken, or failed.
interface QueuedWrite {
  data: Uint8Array | string;
  bytes: number;
  done(): void;
  failed(error: SocketError): void;
}

// The one pulled read in progress, waiting for the next event.
interface Waiter {
  wake(): void;
  fail(error: SocketError): void;
}

/**
 * The one {@linkcode Conn} implementation. Made by `connect()` and
 * `listen()`; users never construct it.
 */
export class TcpConn implements Conn<Addr>, ConnEvents, PushConn, Upgradable {
  #raw: RawConn;
  #options: TcpConnOptions;
  // The runtime cannot recall a read (Deno): read only while someone waits,
  // so that the socket can be upgraded to TLS at any time.
  #readsWhenAsked: boolean;
  // Received bytes not yet read live here, or in #frames while frames are
  // being read: never in both, so order is kept.
  #buffer: LineDecoder;
  #frames: FrameDecoder | undefined;
  #frameOptions: FrameOptions | undefined;
  #bytesReceived = 0;
  #bytesWritten = 0;
  // What ended the read side: the peer's end of stream, or a failure.
  #ended = false;
  #failure: unknown = undefined;
  #closed = false;
  // closeWrite() was called: the FIN is sent, or queued behind the writes.
  #writeClosed = false;
  #paused = false;
  #waiter: Waiter | undefined;
  // Writes: the one the runtime holds (waiting for drain), then the rest.
  #writing: QueuedWrite | undefined;
  #queue: QueuedWrite[] = NO_WRITES;
  // Push mode, for servers (see _push.ts).
  #answerer: PushAnswerer | undefined;
  #pushEnd: PushEnd | undefined;
  #pushSignal: AbortSignal | undefined;
  #pushBusy = false;
  #pushStopping = false;
  // Inside #answer(): a reply the runtime took at once, or a stop, is seen by
  // its loop rather than answered from within.
  #answering = false;
  #pushFailure: { reason: unknown } | undefined;
  #pushWrite: QueuedWrite | undefined;
  #readable: ReadableStream<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;

  /** Wraps a runtime socket and starts reading it. */
  constructor(raw: RawConn, options: TcpConnOptions = {}) {
    this.#raw = raw;
    this.#options = options;
    this.#readsWhenAsked = raw.readsWhenAsked === true;
    this.#buffer = new LineDecoder({ maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES });
    this.#frameOptions = options.frames;
    if (this.#readsWhenAsked) {
      this.#paused = true;
      raw.pause();
    }
    raw.start(this);
  }

  // The adapter's, asked for only when needed: an idle connection that is
  // never asked holds no address objects (Deno makes them on demand).
  get localAddr(): Addr {
    return unmapIpv4(this.#raw.localAddr);
  }

  get remoteAddr(): Addr {
    return unmapIpv4(this.#raw.remoteAddr);
  }

  get tls(): TlsInfo | undefined {
    return this.#raw.tls;
  }

  // Bytes the caller has had: those read ahead and still buffered are not.
  get bytesRead(): number {
    return this.#bytesReceived - this.bufferedBytes;
  }

  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  // ---- events from the runtime -------------------------------------------

  /** For the runtime: bytes arrived. */
  data(chunk: Uint8Array): void {
    if (this.#closed) return;
    this.#bytesReceived += chunk.byteLength;
    // The chunk is lent: the line buffer copies what it still holds of it
    // once the lines in it are answered, which in push mode is usually all.
    if (this.#frames !== undefined) this.#frames.push(chunk.slice());
    else this.#buffer.push(chunk);
    if (this.#answerer !== undefined) {
      if (!this.#pushBusy) this.#answer();
    } else {
      this.#wake();
    }
    this.#buffer.detach();
    this.#flow();
  }

  /** For the runtime: the peer ended its stream. */
  end(): void {
    this.#ended = true;
    if (this.#answerer !== undefined) {
      if (!this.#pushBusy) this.#answer();
    } else {
      this.#wake();
    }
  }

  /** For the runtime: the connection failed. */
  error(cause: unknown): void {
    if (this.#closed) return;
    this.#failure = cause;
    const writes = this.#writing === undefined ? this.#queue : [this.#writing, ...this.#queue];
    this.#writing = undefined;
    this.#queue = NO_WRITES;
    for (const write of writes) write.failed(this.#error("write to", cause));
    if (this.#answerer !== undefined) this.#pushFail(this.#error("read from", cause));
    else this.#wake();
  }

  /** For the runtime: the write it held is now taken. */
  drain(): void {
    const write = this.#writing;
    if (write === undefined) return;
    this.#writing = undefined;
    this.#bytesWritten += write.bytes;
    write.done();
    this.#nextWrite();
  }

  // ---- pulled reads ------------------------------------------------------

  // Pauses the socket while enough is read ahead and nobody waits for more,
  // and in push mode while a reply waits (as the peer's next request would
  // have to); resumes it otherwise.
  #flow(): void {
    const hold = this.#answerer !== undefined ? this.#pushBusy : this.#waiter === undefined &&
      (this.#readsWhenAsked || this.#buffer.buffered + (this.#frames?.buffered ?? 0) >= READ_AHEAD);
    if (hold === this.#paused || this.#closed) return;
    this.#paused = hold;
    if (hold) this.#raw.pause();
    else this.#raw.resume();
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.wake();
  }

  // Waits for the next event (bytes, end of stream or failure), once the
  // buffer has nothing for the caller. Rejects at once if the stream has
  // already ended or failed; on the signal; or at the deadline.
  #more(options: ReadOptions | undefined, deadline: number): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError("read from"));
    if (this.#failure !== undefined) return Promise.reject(this.#error("read from", this.#failure));
    if (this.#waiter !== undefined || this.#answerer !== undefined) {
      return Promise.reject(new SocketError("EINVAL", `Cannot read from ${this.#remote}: a read is already pending`));
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(this.#abortedError());
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => giveUp(this.#abortedError());
      const settle = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const waiter: Waiter = {
        wake: () => {
          settle();
          resolve();
        },
        fail: (error) => {
          settle();
          reject(error);
        },
      };
      // Giving up loses nothing: bytes that arrive later wait in the buffer.
      const giveUp = (error: SocketError) => {
        if (this.#waiter === waiter) this.#waiter = undefined;
        waiter.fail(error);
        this.#flow();
      };
      if (deadline >= 0) {
        const timeout = options!.timeout!;
        timer = setTimeout(() => giveUp(this.#timedOutError(timeout)), Math.max(0, deadline - performance.now()));
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiter = waiter;
      this.#flow();
    });
  }

  // The deadline of a read call, in `performance.now()` milliseconds, or -1.
  #deadline(options: ReadOptions | undefined): number {
    const timeout = options?.timeout;
    if (timeout === undefined) return -1;
    if (!(timeout >= 0 && timeout <= 2 ** 31 - 1)) {
      throw new SocketError("EINVAL", `Cannot read from ${this.#remote}: timeout must be from 0 to 2147483647 ms`);
    }
    return performance.now() + timeout;
  }

  // Bytes the frame decoder holds go back to the line buffer for a read of
  // anything but frames.
  #unframe(): void {
    const frames = this.#frames;
    if (frames === undefined) return;
    this.#frames = undefined;
    if (frames.buffered > 0) this.#buffer.push(frames.take());
  }

  async read(buffer: Uint8Array, options?: ReadOptions): Promise<number | null> {
    if (this.#closed) throw this.#closedError("read from");
    if (buffer.byteLength === 0) return 0;
    const deadline = this.#deadline(options);
    this.#unframe();
    while (this.#buffer.buffered === 0) {
      if (this.#ended) return null;
      await this.#more(options, deadline);
    }
    const bytes = this.#buffer.take(buffer.byteLength);
    buffer.set(bytes);
    this.#flow();
    return bytes.byteLength;
  }

  async readLine(options?: ReadOptions): Promise<string | null> {
    const deadline = this.#deadline(options);
    for (;;) {
      const line = this.#nextLine();
      if (line !== undefined) return line;
      if (this.#ended) return this.#lastLine() ?? null;
      await this.#more(options, deadline);
    }
  }

  async readLines(options?: ReadOptions): Promise<string[] | null> {
    const deadline = this.#deadline(options);
    for (;;) {
      // A bad line is heard of on the next read, after the lines before it.
      const lines = this.#nextLines();
      if (lines.length > 0) return lines;
      if (this.#ended) {
        const last = this.#lastLine();
        return last === undefined ? null : [last];
      }
      await this.#more(options, deadline);
    }
  }

  async *lines(options?: ReadOptions): AsyncIterableIterator<string> {
    for (let line = await this.readLine(options); line !== null; line = await this.readLine(options)) yield line;
  }

  async readFrame(options?: ReadOptions): Promise<Uint8Array | null> {
    if (this.#closed) throw this.#closedError("read from");
    const deadline = this.#deadline(options);
    if (this.#frames === undefined) {
      this.#frames = new FrameDecoder({ ...this.#frameOptions, action: `read frame from ${this.#remote}` });
      if (this.#buffer.buffered > 0) this.#frames.push(this.#buffer.take());
    }
    const frames = this.#frames;
    for (;;) {
      const frame = frames.next();
      if (frame !== undefined) {
        this.#flow();
        return frame;
      }
      if (this.#ended) {
        if (frames.buffered === 0) return null;
        throw new SocketError("EPROTO", `Cannot read frame from ${this.#remote}: stream ended inside a frame`);
      }
      await this.#more(options, deadline);
    }
  }

  // The next complete line, or `undefined` when more bytes are needed.
  #nextLine(): string | undefined {
    if (this.#closed) throw this.#closedError("read from");
    this.#unframe();
    try {
      const line = this.#buffer.next();
      // Taking a line may bring the read-ahead under its bound.
      if (this.#paused) this.#flow();
      return line;
    } catch (err) {
      throw this.#lineError(err);
    }
  }

  // Every complete line buffered now (see LineDecoder.nextLines).
  #nextLines(): string[] {
    if (this.#closed) throw this.#closedError("read from");
    this.#unframe();
    try {
      const lines = this.#buffer.nextLines();
      if (this.#paused) this.#flow();
      return lines;
    } catch (err) {
      throw this.#lineError(err);
    }
  }

  // What is left at end of stream: a last line without a newline, if any.
  #lastLine(): string | undefined {
    try {
      return this.#buffer.end();
    } catch (err) {
      throw this.#lineError(err);
    }
  }

  #lineError(err: unknown): unknown {
    if (!(err instanceof SocketError) || err.code !== "ELINETOOLONG") return err;
    const limit = this.#buffer.maxLineBytes;
    return new SocketError("ELINETOOLONG", `Cannot read line from ${this.#remote}: longer than ${limit} bytes`, {
      limit,
    });
  }

  // ---- writes ------------------------------------------------------------

  write(data: Uint8Array | string): Promise<number> {
    if (this.#closed) return Promise.reject(this.#closedError("write to"));
    if (this.#failure !== undefined) return Promise.reject(this.#error("write to", this.#failure));
    if (this.#writeClosed) return Promise.reject(this.#writeClosedError());
    if (typeof data === "string" && data.length > LONG_TEXT) data = encoder.encode(data);
    const bytes = typeof data === "string" ? utf8Length(data) : data.byteLength;
    if (bytes === 0) return Promise.resolve(0);
    return new Promise((resolve, reject) => {
      this.#send({ data, bytes, done: () => resolve(bytes), failed: reject });
    });
  }

  // Hands a write to the runtime now, or queues it behind the one it holds.
  #send(write: QueuedWrite): void {
    if (this.#writing !== undefined || this.#queue.length > 0) {
      // Made when a write first has to wait: most never do.
      if (this.#queue === NO_WRITES) this.#queue = [];
      this.#queue.push(write);
    } else if (write.bytes === 0) {
      // closeWrite()'s turn: nothing is left to write before the FIN.
      this.#raw.closeWrite();
      write.done();
    } else if (write.bytes < 0) {
      // A TLS upgrade's turn: writes after it wait for it to decide.
      write.done();
    } else {
      this.#writing = write;
      if (this.#raw.write(write.data, write.bytes)) this.drain();
    }
  }

  #nextWrite(): void {
    if (this.#queue.length > 0) this.#send(this.#queue.shift()!);
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

  closeWrite(): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError("close"));
    if (this.#failure !== undefined) return Promise.reject(this.#error("close", this.#failure));
    if (this.#writeClosed) return Promise.resolve();
    this.#writeClosed = true;
    // After the writes before it: queued as a write of nothing.
    return new Promise((resolve, reject) => {
      this.#send({ data: "", bytes: 0, done: resolve, failed: reject });
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#raw.close();
    const closed = this.#closedError("write to");
    const writes = this.#writing === undefined ? this.#queue : [this.#writing, ...this.#queue];
    this.#writing = undefined;
    this.#queue = NO_WRITES;
    for (const write of writes) write.failed(closed);
    this.#waiter?.fail(this.#closedError("read from"));
    this.#waiter = undefined;
    if (this.#answerer !== undefined) this.#pushFail(this.#closedError("read from"));
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  // ---- the TLS upgrade (see _upgrade.ts) ----------------------------------

  [UPGRADE](): Upgradable {
    return this;
  }

  get serverName(): string | undefined {
    return this.#options.serverName;
  }

  async upgrade(upgrade: (raw: RawConn) => Promise<RawConn>): Promise<Conn<Addr>> {
    const action = "start TLS with";
    if (this.#waiter !== undefined || this.#answerer !== undefined) {
      throw new SocketError("EINVAL", `Cannot ${action} ${this.#remote}: a read is pending`);
    }
    // What was written before the upgrade goes out first, in plaintext;
    // writes after it wait.
    await this.#flushed(action);
    const unread = this.bufferedBytes;
    if (this.#writeClosed || unread > 0) {
      this.#nextWrite();
      if (this.#writeClosed) throw this.#writeClosedError();
      throw new SocketError(
        "EPROTO",
        `Cannot ${action} ${this.#remote}: ${unread} bytes received in plaintext are unread`,
      );
    }
    this.#paused = true;
    this.#raw.pause();
    let upgraded: RawConn;
    try {
      upgraded = await upgrade(this.#raw);
    } catch (err) {
      const error = socketError(err, { action, address: this.#remote });
      // Refused before the handshake began: the connection goes on as it was.
      if (error.code === "EPROTO" || error.code === "EUNSUPPORTED") {
        this.#flow();
        this.#nextWrite();
      } else {
        this.close();
      }
      throw error;
    }
    // The socket is the new connection's now: this one lets it be, and
    // writes made meanwhile fail rather than go out in plaintext.
    this.#closed = true;
    const closed = this.#closedError("write to");
    for (const write of this.#queue.splice(0)) write.failed(closed);
    return new TcpConn(upgraded, this.#options);
  }

  // Resolves once the runtime has taken every write made so far.
  #flushed(action: string): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError(action));
    if (this.#failure !== undefined) return Promise.reject(this.#error(action, this.#failure));
    return new Promise((resolve, reject) => {
      this.#send({ data: "", bytes: -1, done: resolve, failed: reject });
    });
  }

  // ---- push mode, for servers (see _push.ts) -----------------------------

  [PUSH](): PushConn {
    return this;
  }

  pushTo(answerer: PushAnswerer, end: PushEnd, signal?: AbortSignal): boolean {
    if (this.#waiter !== undefined || this.#answerer !== undefined) return false;
    this.#pushFailure = undefined;
    if (this.#closed) {
      end.pushFailed(this.#closedError("read from"));
      return true;
    }
    if (signal?.aborted) {
      end.pushEnded(false);
      return true;
    }
    this.#unframe();
    this.#answerer = answerer;
    this.#pushEnd = end;
    this.#pushStopping = false;
    this.#pushSignal = signal;
    signal?.addEventListener("abort", this.#stopOnAbort);
    if (this.#failure !== undefined) this.#pushFail(this.#error("read from", this.#failure));
    else this.#answer();
    return true;
  }

  #stopOnAbort = (): void => this.stopPush();

  // Answers what is buffered, then waits for bytes, a reply or its write.
  #answer(): void {
    if (this.#answering) return;
    this.#answering = true;
    try {
      this.#answerBuffered();
    } finally {
      this.#answering = false;
    }
  }

  #answerBuffered(): void {
    while (this.#answerer !== undefined && !this.#pushBusy) {
      if (this.#pushStopping) return this.#pushDone(false);
      // Nothing to answer: the usual state once a chunk's reply is written.
      // A line over the limit after a batch still needs its turn to fail.
      if (this.#buffer.drained) break;
      const before = this.#buffer.buffered;
      let reply: string | Promise<string>;
      try {
        reply = this.#answerer.answer(this);
      } catch (err) {
        return this.#pushFail(err);
      }
      if (typeof reply !== "string") {
        this.#pushBusy = true;
        this.#flow();
        reply.then((text) => this.#reply(text), (err) => this.#pushFail(err));
        return;
      }
      if (reply !== "") this.#reply(reply);
      else if (this.#buffer.buffered === before && !this.#pushStopping) break;
    }
    if (this.#answerer === undefined || this.#pushBusy) return;
    if (this.#ended) this.#pushDone(true);
    else this.#flow();
  }

  // Sends a reply in push mode; answering goes on once the runtime took it.
  // One reply is in flight at a time, so one write record serves them all.
  #reply(text: string): void {
    if (this.#answerer === undefined) return;
    this.#pushBusy = true;
    if (text === "") return this.#replied();
    const data = text.length > LONG_TEXT ? encoder.encode(text) : text;
    const bytes = typeof data === "string" ? utf8Length(data) : data.byteLength;
    const write = this.#pushWrite ??= {
      data: "",
      bytes: 0,
      done: () => this.#replied(),
      failed: (error) => this.#pushFail(error),
    };
    if (this.#writing === undefined && this.#queue.length === 0) {
      // Nothing in flight, as usual: the record is filled in only if the
      // runtime holds the write (drain() never comes from inside write()).
      // With many connections, each object a request touches may have to
      // come from memory.
      this.#writing = write;
      if (this.#raw.write(data, bytes)) {
        this.#writing = undefined;
        this.#bytesWritten += bytes;
        return this.#replied();
      }
      write.bytes = bytes;
    } else {
      write.data = data;
      write.bytes = bytes;
      this.#send(write);
    }
    if (this.#pushBusy) this.#flow();
  }

  #replied(): void {
    this.#pushBusy = false;
    this.#answer();
  }

  stopPush(): void {
    if (this.#answerer === undefined) return;
    if (this.#pushBusy || this.#answering) this.#pushStopping = true;
    else this.#pushDone(false);
  }

  failPush(reason: unknown): void {
    this.#pushFailure ??= { reason };
    this.stopPush();
  }

  get pushFailure(): { reason: unknown } | undefined {
    return this.#pushFailure;
  }

  get bufferedBytes(): number {
    return this.#buffer.buffered + (this.#frames?.buffered ?? 0);
  }

  bufferedLine(): string | undefined {
    return this.#nextLine();
  }

  bufferedLines(): string[] {
    return this.#nextLines();
  }

  #pushDone(ended: boolean): void {
    const end = this.#pushEnd!;
    this.#endPush();
    end.pushEnded(ended);
  }

  #pushFail(reason: unknown): void {
    const end = this.#pushEnd;
    if (end === undefined) return;
    this.#endPush();
    end.pushFailed(reason);
  }

  #endPush(): void {
    this.#answerer = this.#pushEnd = undefined;
    this.#pushBusy = this.#pushStopping = false;
    this.#pushSignal?.removeEventListener("abort", this.#stopOnAbort);
    this.#pushSignal = undefined;
    this.#flow();
  }

  // ---- streams -----------------------------------------------------------

  get readable(): ReadableStream<Uint8Array> {
    if (this.#readable !== undefined) return this.#readable;
    const cancelled = new AbortController();
    // highWaterMark 0: the socket is read only for a read of the stream, so
    // the peer feels backpressure and read()/readLine() can take over.
    this.#readable = new ReadableStream({
      type: "bytes",
      pull: (controller) => this.#pull(controller, cancelled.signal),
      // Ends the stream, not the connection: bytes not yet delivered stay
      // buffered for the connection's next read.
      cancel: () => cancelled.abort(),
    }, { highWaterMark: 0 });
    return this.#readable;
  }

  // One read of the readable, into the reader's buffer when it brought one
  // (a BYOB read), else a chunk of what is buffered.
  async #pull(controller: ReadableByteStreamController, cancelled: AbortSignal): Promise<void> {
    if (this.#closed) throw this.#closedError("read from");
    this.#unframe();
    while (this.#buffer.buffered === 0 && !this.#ended) {
      try {
        await this.#more({ signal: cancelled }, -1);
      } catch (err) {
        if (cancelled.aborted) return;
        throw err;
      }
    }
    const request = controller.byobRequest;
    if (this.#buffer.buffered === 0) {
      controller.close();
      // A pending BYOB read is settled, as done, only by this.
      request?.respond(0);
      return;
    }
    if (request === null) {
      // enqueue() takes over the chunk's whole ArrayBuffer: a chunk that is
      // only part of one is copied, so that no other bytes go with it.
      const chunk = this.#buffer.take();
      const whole = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
      controller.enqueue(whole ? chunk : chunk.slice());
    } else {
      const view = request.view!;
      const bytes = this.#buffer.take(view.byteLength);
      new Uint8Array(view.buffer, view.byteOffset, view.byteLength).set(bytes);
      request.respond(bytes.byteLength);
    }
    this.#flow();
  }

  get writable(): WritableStream<Uint8Array> {
    // Each chunk's write resolves once the runtime took it, and the chunk
    // counts against the queue until then: with a 16 KiB high-water mark,
    // `ready` waits on the peer's reading.
    this.#writable ??= new WritableStream<Uint8Array>({
      write: async (chunk) => {
        await this.write(chunk);
      },
      close: () => this.closeWrite(),
      abort: () => this.close(),
    }, new ByteLengthQueuingStrategy({ highWaterMark: WRITABLE_HIGH_WATER_MARK }));
    return this.#writable;
  }

  // ---- errors ------------------------------------------------------------

  // Error messages name the peer; formatted only when one is made.
  get #remote(): string {
    return formatAddress(this.remoteAddr);
  }

  #error(action: string, cause: unknown): SocketError {
    return socketError(cause, { action, address: this.#remote });
  }

  #closedError(action: string): SocketError {
    return new SocketError("ECLOSED", `Cannot ${action} ${this.#remote}: socket is closed`);
  }

  #writeClosedError(): SocketError {
    return new SocketError("EPIPE", `Cannot write to ${this.#remote}: write side is closed`);
  }

  #abortedError(): SocketError {
    return new SocketError("EABORTED", `Cannot read from ${this.#remote}: aborted`);
  }

  #timedOutError(timeout: number): SocketError {
    return new SocketError("ETIMEDOUT", `Cannot read from ${this.#remote}: timed out after ${timeout} ms`);
  }
}
