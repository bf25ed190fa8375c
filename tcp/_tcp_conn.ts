/**
 * The one Conn implementation, over a runtime adapter's socket. Internal:
 * users get the {@linkcode Conn} interface from `connect()` and `listen()`.
 *
 * @module
 */

import { FrameDecoder, type FrameOptions } from "../protocol/frame_decoder.ts";
import { encodeFrame } from "../protocol/frame_encoder.ts";
import { DEFAULT_MAX_LINE_BYTES, LineDecoder } from "../protocol/line_decoder.ts";
import { soleLine } from "../protocol/_sole_line.ts";
import { runPump } from "../runtime/_pump.ts";
import { encodeUtf8 } from "../runtime/_utf8.ts";
import type { NetAddr, PumpEnd, PumpHandler, PumpReply, RuntimeConn } from "../runtime/types.ts";
import { formatAddress, SocketError } from "../socket_error.ts";
import { Link, LinkList } from "./_link_list.ts";
import type { Conn, ConnOptions, ReadOptions } from "./conn.ts";

// Replies longer than this (in UTF-16 code units) go to the runtime as bytes.
const LONG_REPLY = 1024;

// The bytes `writable` queues before `ready` waits: Node's default for a socket.
const WRITABLE_HIGH_WATER_MARK = 16 * 1024;

// Connections with a read waiting on each signal, so that a signal shared
// by thousands of connections (a server's shutdown signal) has one listener,
// not one per read: adding and removing listeners costs time linear in their
// number, and a listener per read is several objects per read.
// A list (see _link_list.ts), not a Set: each connection owns at most two
// links, its read's and its pump's, made once and reused.
const waiting = new WeakMap<AbortSignal, LinkList<TcpConn>>();

function waitersOf(signal: AbortSignal): LinkList<TcpConn> {
  let waiters = waiting.get(signal);
  if (waiters === undefined) {
    const list = new LinkList<TcpConn>();
    waiters = list;
    waiting.set(signal, list);
    signal.addEventListener("abort", () => {
      waiting.delete(signal);
      // Taken off the list first: aborting may start reads and pumps.
      const links: Link<TcpConn>[] = [];
      for (let link = list.first; link !== undefined; link = list.first) {
        links.push(link);
        list.remove(link);
      }
      for (const link of links) link.value[abortRead](link);
    }, { once: true });
  }
  return waiters;
}

const abortRead = Symbol("abortRead");

/**
 * Who answers in {@linkcode TcpConn.pump}: an object, not a closure, for the
 * memory of idle connections. It is given the connection, so that one
 * answerer can serve every connection of a server: a request then reads no
 * object of its connection's beyond the connection and its buffer, each one
 * more cache miss on a busy server (docs/performance.md, "Per-connection
 * objects").
 */
export interface PumpAnswerer {
  /** Takes the complete lines buffered in `conn` (see `TcpConn.bufferedLine`) and returns the reply text, or a promise of it. */
  answer(conn: TcpConn): string | Promise<string>;
}

// What may end the wait of one read call: a signal, and a deadline in
// `performance.now()` milliseconds for a `timeout` (both 0 without one).
interface ReadWait {
  signal: AbortSignal | undefined;
  deadline: number;
  timeout: number;
}

// The readable's state, made with it: connections that never use the
// stream pay nothing for it. `wait` ends a read when the stream is
// cancelled; `pending` is the runtime read the stream waits on.
interface StreamRead {
  wait: ReadWait;
  pending: Promise<Uint8Array | null> | undefined;
}

// A promise's resolving functions without a closure per promise.
let captured: [(chunk: Uint8Array | null) => void, (reason: unknown) => void] | undefined;
function capture(resolve: (chunk: Uint8Array | null) => void, reject: (reason: unknown) => void): void {
  captured = [resolve, reject];
}

/**
 * The one {@linkcode Conn} implementation, over a runtime adapter's socket.
 * Made by `connect()` and `listen()`; users never construct it.
 */
export class TcpConn implements Conn, PumpHandler {
  // The six fields a pumped request reads come first, and nothing else: on
  // a busy server a connection's state is cold by its next request, and
  // these six with the object's header are one 64-byte cache line when
  // the object starts on one (docs/performance.md, "Per-connection objects").
  // Push mode (see pump()): who answers.
  #answerer: PumpAnswerer | undefined;
  // The line limit while nothing is buffered, -1 otherwise: #buffer held
  // nothing and had not failed when a pump last answered a chunk, nothing
  // was pushed since, #frames holds nothing (readFrame() ends it) and the
  // connection is open. The next chunk, if it is one whole line, then skips
  // #buffer (see onData()). Only ever >= 0 while #buffer.drained is, so a
  // new pump need not reset it. One field for both, to keep the six.
  #soleLimit = -1;
  // That line, with its chunk, until the answerer takes it (bufferedLine()).
  #line: string | undefined = undefined;
  #lineChunk: Uint8Array | undefined = undefined;
  #bytesRead = 0;
  // -1 until trackActivity(): reading the clock for every connection is not free.
  #lastActivity = -1;
  // Received bytes not yet returned live in #buffer, or in #frames while
  // frames are being read: never in both, so order is kept.
  #buffer: LineDecoder;
  #frames: FrameDecoder | undefined;
  #closed = false;
  #raw: RuntimeConn;
  // Push mode: whether the pump was asked to stop, why answering failed
  // (from failPump(), for the pump's caller), and the connection's place
  // among those that the signal's listener stops.
  #stopPump = false;
  #pumpFailure: { reason: unknown } | undefined;
  #pumpLink: Link<TcpConn> | undefined;
  #frameOptions: FrameOptions | undefined;
  // Bytes of write(); a pump's replies are counted by the runtime adapter.
  #bytesWritten = 0;
  #readable: ReadableStream<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;
  // The runtime read of a read racing a signal, or one that a given-up race
  // left behind: the next read takes it.
  #inflight: Promise<Uint8Array | null> | undefined;
  // Whether a reaction waits on #inflight (see #rawReadOrAbort).
  #watched = false;
  // The read racing a signal (see #rawReadOrAbort): how to settle it, and
  // its place among the connections that the signal's listener aborts.
  #raceResolve: ((chunk: Uint8Array | null) => void) | undefined;
  #raceReject: ((reason: unknown) => void) | undefined;
  #raceLink: Link<TcpConn> | undefined;
  #raceTimer: ReturnType<typeof setTimeout> | undefined;
  #raceSettled: ((chunk: Uint8Array | null) => void) | undefined;
  #raceFailed: ((reason: unknown) => void) | undefined;

  /** Wraps a runtime socket. */
  constructor(raw: RuntimeConn, options: ConnOptions = {}) {
    this.#raw = raw;
    this.#buffer = new LineDecoder({ maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES });
    this.#frameOptions = options.frames;
  }

  // The runtime's, not copies: an adapter may make its own only when asked.
  get localAddr(): NetAddr {
    return this.#raw.localAddr;
  }

  get remoteAddr(): NetAddr {
    return this.#raw.remoteAddr;
  }

  get bytesRead(): number {
    return this.#bytesRead;
  }

  get bytesWritten(): number {
    return this.#bytesWritten + this.#raw.repliedBytes;
  }

  /**
   * When bytes last moved either way, in `performance.now()` milliseconds:
   * what a server's idle timeout measures. Kept only after
   * {@linkcode TcpConn.trackActivity}: reading the clock on every read and
   * write is not free.
   */
  get lastActivity(): number {
    return Math.max(this.#lastActivity, 0);
  }

  /** Starts keeping {@linkcode TcpConn.lastActivity}, from now. */
  trackActivity(): void {
    this.#lastActivity = performance.now();
  }

  // Error messages name the peer; formatted only when one is made.
  get #remote(): string {
    return formatAddress(this.remoteAddr);
  }

  // The one place that reads the runtime socket. Not async, and the
  // caller counts the chunk (#took): a read is one promise, not a chain.
  // `wait` is what may end the wait (see #waitOf).
  #rawRead(wait: ReadWait | undefined): Promise<Uint8Array | null> {
    if (this.#closed) return Promise.reject(this.#closedError("read from"));
    // A second read would take the racing read's bytes too (or, racing
    // itself, leave the first read unsettled).
    if (this.#raceResolve !== undefined) {
      return Promise.reject(new SocketError("EINVAL", `Cannot read from ${this.#remote}: a read is already pending`));
    }
    if (wait !== undefined) return this.#rawReadOrAbort(wait);
    // Nothing can abandon this read, so it never becomes #inflight.
    const pending = this.#inflight ?? this.#raw.read();
    this.#inflight = undefined;
    return pending;
  }

  // What ends waiting in one read call, of however many runtime reads:
  // `undefined` for neither a signal nor a timeout. Checks the timeout.
  #waitOf(options: ReadOptions | undefined): ReadWait | undefined {
    const signal = options?.signal;
    const timeout = options?.timeout;
    if (timeout === undefined) return signal === undefined ? undefined : { signal, deadline: 0, timeout: 0 };
    if (!(timeout >= 0 && timeout <= 2 ** 31 - 1)) {
      throw new SocketError("EINVAL", `Cannot read from ${this.#remote}: timeout must be from 0 to 2147483647 ms`);
    }
    return { signal, deadline: performance.now() + timeout, timeout };
  }

  // A read that gives up with EABORTED when the signal fires, or ETIMEDOUT
  // at the deadline, leaving the runtime read in flight for the next read
  // to take: bytes that arrive later are not lost. Its resolving functions
  // live on the connection and its handlers are made once per connection,
  // so a read costs one promise, not a listener and closures.
  #rawReadOrAbort(wait: ReadWait): Promise<Uint8Array | null> {
    const { signal } = wait;
    if (signal?.aborted) return Promise.reject(this.#abortedError());
    const pending = this.#inflight ??= this.#raw.read();
    const race = new Promise<Uint8Array | null>(capture);
    [this.#raceResolve, this.#raceReject] = captured!;
    captured = undefined;
    if (signal !== undefined) waitersOf(signal).add(this.#raceLink ??= new Link(this));
    if (wait.deadline > 0) {
      const left = Math.max(0, wait.deadline - performance.now());
      this.#raceTimer = setTimeout(() => this.#giveUp(this.#timedOutError(wait.timeout)), left);
    }
    // At most one reaction waits on a runtime read, whichever race it ends
    // up settling: a read given up on leaves it to settle the next race,
    // rather than piling a new one on the same read at every timeout. One
    // that ran with no race to settle is made again for the next.
    this.#raceSettled ??= (chunk) => {
      this.#watched = false;
      const resolve = this.#raceResolve;
      if (resolve === undefined) return;
      this.#endRace();
      this.#inflight = undefined;
      resolve(chunk);
    };
    this.#raceFailed ??= (reason) => {
      this.#watched = false;
      const reject = this.#raceReject;
      if (reject === undefined) return;
      this.#endRace();
      this.#inflight = undefined;
      reject(reason);
    };
    if (!this.#watched) {
      this.#watched = true;
      pending.then(this.#raceSettled, this.#raceFailed);
    }
    return race;
  }

  #endRace(): void {
    this.#raceResolve = this.#raceReject = undefined;
    this.#raceLink?.list?.remove(this.#raceLink);
    clearTimeout(this.#raceTimer);
    this.#raceTimer = undefined;
  }

  /**
   * For the signal's listener only: stops the pump, or gives up the read
   * racing the signal, whichever `link` listed.
   */
  [abortRead](link: Link<TcpConn>): void {
    if (link === this.#pumpLink) {
      if (this.#answerer !== undefined) this.stopPump();
    } else {
      this.#giveUp(this.#abortedError());
    }
  }

  // Ends the read racing a signal or a timeout with `error`. The runtime
  // read stays in #inflight, and the next read takes what it brings.
  #giveUp(error: SocketError): void {
    const reject = this.#raceReject;
    if (reject === undefined) return;
    this.#endRace();
    reject(error);
  }

  // Counts a chunk the runtime read; returns it.
  #took(chunk: Uint8Array | null): Uint8Array | null {
    if (chunk !== null) {
      this.#bytesRead += chunk.byteLength;
      if (this.#lastActivity >= 0) this.#lastActivity = performance.now();
    }
    return chunk;
  }

  // After frames, bytes the frame decoder holds go back to the line buffer;
  // so does a line that onData() kept aside, for a read of anything else.
  #unframe(): void {
    this.#untaken();
    if (this.#frames !== undefined && this.#frames.buffered > 0) this.#push(this.#frames.take());
  }

  // Every byte goes into the line buffer through here: #soleLimit holds
  // only while nothing has.
  #push(chunk: Uint8Array): void {
    this.#soleLimit = -1;
    this.#buffer.push(chunk);
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
    const chunk = this.#took(await this.#rawRead(this.#waitOf(options)));
    return chunk === null ? null : this.#fill(buffer, chunk);
  }

  // Copies `chunk` into `into`; what does not fit goes back to the line
  // buffer for the next read. Returns the bytes copied.
  #fill(into: Uint8Array, chunk: Uint8Array): number {
    if (chunk.byteLength > into.byteLength) {
      this.#push(chunk.subarray(into.byteLength));
      chunk = chunk.subarray(0, into.byteLength);
    }
    into.set(chunk);
    return chunk.byteLength;
  }

  async readLine(options?: ReadOptions): Promise<string | null> {
    const wait = this.#waitOf(options);
    for (;;) {
      const line = this.#lineOrThrow();
      if (line !== undefined) return line;
      const chunk = this.#took(await this.#rawRead(wait));
      if (chunk === null) return this.#endOrThrow() ?? null;
      this.#push(chunk);
    }
  }

  async readLines(options?: ReadOptions): Promise<string[] | null> {
    const wait = this.#waitOf(options);
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
      const chunk = this.#took(await this.#rawRead(wait));
      if (chunk === null) {
        const rest = this.#endOrThrow();
        return rest === undefined ? null : [rest];
      }
      this.#push(chunk);
    }
  }

  async readFrame(options?: ReadOptions): Promise<Uint8Array | null> {
    if (this.#closed) throw this.#closedError("read from");
    const wait = this.#waitOf(options);
    const frames = this.#frames ??= new FrameDecoder(this.#frameOptions);
    // Bytes are about to be read into #frames, where onData() does not look.
    this.#soleLimit = -1;
    this.#untaken();
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
      const chunk = this.#took(await this.#rawRead(wait));
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

  /**
   * Push mode, for request/reply loops such as `answerLines`: each time bytes
   * arrive they join the line buffer and `answerer.answer()` is called at
   * once (inside the runtime's data callback on Node and Bun), to take lines
   * with {@linkcode TcpConn.bufferedLine} and return the text to send back,
   * or a promise of it. No promise is made per request while answers are
   * synchronous; reading waits while a reply does, as with pulled reads.
   *
   * Resolves `true` at end of stream, `false` once stopped by
   * {@linkcode TcpConn.stopPump} or `signal`; the connection is then read as
   * before, with the bytes not yet answered. `undefined` when push mode
   * cannot start because a cancelled read is still in flight: pull instead.
   */
  pump(answerer: PumpAnswerer, signal?: AbortSignal): Promise<boolean> | undefined {
    // An earlier pump's failure is not this one's, even when this one cannot start.
    this.#pumpFailure = undefined;
    if (this.#closed) return Promise.reject(this.#closedError("read from"));
    if (this.#inflight !== undefined || this.#raceResolve !== undefined) return undefined;
    if (signal?.aborted) return Promise.resolve(false);
    this.#unframe();
    this.#answerer = answerer;
    this.#stopPump = false;
    // Complete lines already buffered are answered before anything is read.
    if (this.#buffer.buffered > 0) {
      const reply = answerer.answer(this);
      if (reply !== "") {
        return Promise.resolve(reply).then((text) => this.write(text)).then(() => this.#startPump(signal));
      }
    }
    return this.#startPump(signal);
  }

  #startPump(signal: AbortSignal | undefined): Promise<boolean> {
    if (this.#stopPump || signal?.aborted) return Promise.resolve(false);
    this.#stopPumpOn(signal);
    return runPump(this.#raw, this);
  }

  // The signal's listener stops the pump. Its list lets go of this
  // connection when it closes, not when the pump ends: that would take a
  // closure per connection, and stopping a pump that ended does nothing.
  #stopPumpOn(signal: AbortSignal | undefined): void {
    // A pump without a signal leaves the list of an earlier pump's, whose
    // firing would stop this one.
    if (signal !== undefined) waitersOf(signal).add(this.#pumpLink ??= new Link(this));
    else this.#pumpLink?.list?.remove(this.#pumpLink);
  }

  /**
   * {@linkcode TcpConn.pump}, reporting to `end` (see `PumpEnd`) what its
   * promise would settle with: an idle connection then holds no promise for
   * it, nor anyone waiting on one. `false` when push mode cannot start, where
   * `pump()` gives `undefined`: pull instead.
   */
  pumpTo(answerer: PumpAnswerer, end: PumpEnd, signal?: AbortSignal): boolean {
    // Anything but a fresh start, rare in a server, goes the way pump() does.
    if (this.#closed || signal?.aborted || this.bufferedBytes > 0) {
      const pumped = this.pump(answerer, signal);
      if (pumped === undefined) return false;
      pumped.then((ended) => end.pumpEnded(ended), (err) => end.pumpFailed(err));
      return true;
    }
    if (this.#inflight !== undefined || this.#raceResolve !== undefined) return false;
    this.#answerer = answerer;
    this.#stopPump = false;
    this.#pumpFailure = undefined;
    this.#stopPumpOn(signal);
    this.#raw.pumpTo(this, end);
    return true;
  }

  /** For the runtime's pump: a chunk arrived. Internal. */
  onData(chunk: Uint8Array): PumpReply | Promise<PumpReply> {
    // `length`, the same as `byteLength` for bytes: on Node 20 a Buffer's
    // `byteLength` here cost 40 bytes of garbage per chunk (measured with
    // --trace-gc), about 3% of what a request allocates. Node's adapter hands
    // over Buffers only where it reads through the socket's stream.
    this.#bytesRead += chunk.length;
    if (this.#lastActivity >= 0) this.#lastActivity = performance.now();
    // The usual request, one whole line into a line buffer that holds
    // nothing, is answered without reading the buffer: one object fewer
    // that has gone cold since this connection's last request, on a busy
    // server (docs/performance.md, "Per-connection objects").
    const limit = this.#soleLimit;
    if (limit >= 0) {
      const line = soleLine(chunk, limit);
      if (line !== undefined) return this.#answerLine(line, chunk);
    }
    this.#push(chunk);
    // The chunk is only lent until this returns (Deno's read buffer is
    // reused): the decoder keeps a copy of what is left of it, not the
    // chunk, also while a promised reply takes lines.
    let reply: string | Promise<string>;
    try {
      reply = this.#answerer!.answer(this);
    } catch (err) {
      this.#buffer.detach();
      throw err;
    }
    if (typeof reply === "string") return this.#detached(reply);
    this.#buffer.detach();
    return reply.then((text) => this.#detached(text));
  }

  // Left as text: Node and Bun encode a string natively, faster than a
  // TextEncoder into a buffer that their write then has to wrap. A long
  // reply (bulk) is encoded instead: Bun's adapter counts a string's bytes
  // in JavaScript, which costs more than TextEncoder's encoding (1 ms more
  // per MB in `bulk`, measured when Node's adapter counted them too).
  #detached(text: string): string | Uint8Array {
    this.#buffer.detach();
    this.#soleLimit = this.#buffer.drained && !this.#closed ? this.#buffer.maxLineBytes : -1;
    return this.#reply(text);
  }

  // onData() for a chunk that is one whole line, `line`, while the line
  // buffer holds nothing: the answerer takes it from #line. One it leaves
  // goes to the buffer, as the chunk would have, before the chunk's loan ends.
  #answerLine(line: string, chunk: Uint8Array): PumpReply | Promise<PumpReply> {
    this.#line = line;
    this.#lineChunk = chunk;
    let reply: string | Promise<string>;
    try {
      reply = this.#answerer!.answer(this);
    } finally {
      this.#untaken();
    }
    return typeof reply === "string" ? this.#reply(reply) : reply.then((text) => this.#detached(text));
  }

  // The line onData() kept aside goes to the line buffer, as its chunk would
  // have, while the chunk is still lent (Deno's read buffer is reused once
  // onData() returns): left by the answerer, or before a read of anything
  // but a line.
  #untaken(): void {
    const chunk = this.#lineChunk;
    if (chunk === undefined) return;
    this.#line = this.#lineChunk = undefined;
    this.#push(chunk);
    this.#buffer.detach();
  }

  #reply(text: string): string | Uint8Array {
    if (text === "") return text;
    if (this.#lastActivity >= 0) this.#lastActivity = performance.now();
    return text.length > LONG_REPLY ? encodeUtf8(text) : text;
  }

  /** Stops a running {@linkcode TcpConn.pump} after the reply it is sending; may be called from `answer`. */
  stopPump(): void {
    this.#stopPump = true;
    this.#raw.stopPump();
  }

  /**
   * {@linkcode TcpConn.stopPump}, for an answerer that failed with `reason`:
   * kept in {@linkcode TcpConn.pumpFailure} for the pump's caller, who
   * reports it once the replies before it are sent.
   */
  failPump(reason: unknown): void {
    this.#pumpFailure ??= { reason };
    this.stopPump();
  }

  /** What {@linkcode TcpConn.failPump} was given since the pump started, if it was called. */
  get pumpFailure(): { reason: unknown } | undefined {
    return this.#pumpFailure;
  }

  /** Bytes received and not yet read: whether a pump's caller has pulled reads left to do. */
  get bufferedBytes(): number {
    return this.#buffer.buffered + (this.#frames?.buffered ?? 0) + (this.#lineChunk?.byteLength ?? 0);
  }

  /**
   * The next complete line buffered, or `undefined`: for a pump's `answer`.
   * Throws as `readLine()` would, `ELINETOOLONG` for a line over the limit.
   */
  bufferedLine(): string | undefined {
    return this.#lineOrThrow();
  }

  async *lines(options?: ReadOptions): AsyncIterableIterator<string> {
    for (let line = await this.readLine(options); line !== null; line = await this.readLine(options)) yield line;
  }

  // Reads #closed only after the six fields of a pumped request: close()
  // drops onData()'s line and ends #soleLimit, so a closed connection still
  // gets here.
  #lineOrThrow(): string | undefined {
    const line = this.#line;
    if (line !== undefined) {
      this.#line = this.#lineChunk = undefined;
      return line;
    }
    // Nothing is buffered (the answerer asking again after onData()'s line,
    // or a read after the pump): no need to read the line buffer to know.
    if (this.#soleLimit >= 0) return undefined;
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
    const bytes = typeof data === "string" ? encodeUtf8(data) : data;
    await this.#raw.write(bytes);
    this.#bytesWritten += bytes.byteLength;
    if (this.#lastActivity >= 0) this.#lastActivity = performance.now();
    return bytes.byteLength;
  }

  closeWrite(): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError("close"));
    return this.#raw.closeWrite();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // What #lineOrThrow() looks at before #closed.
    this.#line = this.#lineChunk = undefined;
    this.#soleLimit = -1;
    this.#pumpLink?.list?.remove(this.#pumpLink);
    this.#raw.close();
  }

  get readable(): ReadableStream<Uint8Array> {
    if (this.#readable !== undefined) return this.#readable;
    const cancelled = new AbortController();
    const state: StreamRead = { wait: { signal: cancelled.signal, deadline: 0, timeout: 0 }, pending: undefined };
    // highWaterMark 0: the socket is read only for a read of the stream, so
    // the peer feels backpressure and read()/readLine() can take over.
    this.#readable = new ReadableStream({
      type: "bytes",
      pull: (controller) => this.#pull(controller, state),
      // Ends the stream, not the connection: a read waiting on the runtime
      // gives up as with a fired signal, its runtime read left to the next
      // read. A chunk already read but not yet in the stream goes there too.
      cancel: () => {
        const onItsWay = this.#raceResolve === undefined ? state.pending : undefined;
        cancelled.abort();
        if (onItsWay !== undefined) this.#inflight = onItsWay;
      },
    }, { highWaterMark: 0 });
    return this.#readable;
  }

  // One read of the readable: into the reader's buffer when it brought one
  // (a BYOB read), else a chunk. Bytes the connection holds come first, as
  // with read(), and are handed over at once, with no await that a cancel()
  // could slip into.
  #pull(controller: ReadableByteStreamController, state: StreamRead): Promise<void> | undefined {
    if (this.#closed) return Promise.reject(this.#closedError("read from"));
    this.#unframe();
    if (this.#buffer.buffered > 0) {
      this.#deliver(controller, this.#buffer.take(controller.byobRequest?.view?.byteLength));
      return;
    }
    const pending = this.#rawRead(state.wait);
    // Only a runtime read can be on its way when cancel() comes, not a
    // refusal such as another read pending.
    state.pending = this.#raceResolve !== undefined ? pending : undefined;
    return pending.then((chunk) => {
      state.pending = undefined;
      // cancel() gave the chunk to the connection's next read.
      if (state.wait.signal!.aborted) return;
      this.#deliver(controller, this.#took(chunk));
    }, (err) => {
      state.pending = undefined;
      if (!state.wait.signal!.aborted) throw err;
    });
  }

  // Hands `chunk` (null at end of stream) to the stream's reader. What does
  // not fit a BYOB reader's buffer goes back to the line buffer, which was
  // empty, for the next read.
  #deliver(controller: ReadableByteStreamController, chunk: Uint8Array | null): void {
    const request = controller.byobRequest;
    if (chunk === null) {
      controller.close();
      // A pending BYOB read is settled, as done, only by this.
      request?.respond(0);
      return;
    }
    if (request === null) {
      // enqueue() takes over the chunk's whole ArrayBuffer: a chunk that is
      // only part of one is copied, so that no other bytes are taken with it.
      const whole = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
      controller.enqueue(whole ? chunk : new Uint8Array(chunk));
      return;
    }
    const view = request.view!;
    request.respond(this.#fill(new Uint8Array(view.buffer, view.byteOffset, view.byteLength), chunk));
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

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #closedError(action: string): SocketError {
    return new SocketError("ECLOSED", `Cannot ${action} ${this.#remote}: socket is closed`);
  }

  #abortedError(): SocketError {
    return new SocketError("EABORTED", `Cannot read from ${this.#remote}: aborted`);
  }

  #timedOutError(timeout: number): SocketError {
    return new SocketError("ETIMEDOUT", `Cannot read from ${this.#remote}: timed out after ${timeout} ms`);
  }
}
