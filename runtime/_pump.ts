/**
 * Push mode's state machine (see `RuntimeConn.pumpTo`), shared by the three
 * adapters: what to do with a chunk, when a reply waits, when to stop.
 *
 * @module
 */

import { formatAddress, SocketError } from "../socket_error.ts";
import type { NetAddr, PumpEnd, PumpHandler, PumpReply, RuntimeConn } from "./types.ts";

/** What an adapter knows when `RuntimeConn.pumpTo` is called: whether it may start. */
export interface PumpStart {
  /** `close()` was called. */
  closed: boolean;
  /** A read, or another pump, is pending. */
  busy: boolean;
  /** The error that ended the read side, if any. */
  error: SocketError | null;
}

/** What a {@linkcode Pump} needs of its adapter. */
export interface PumpSocket {
  /**
   * Hands a reply, never empty, to the runtime (text as UTF-8): `true` when
   * the kernel took every byte; otherwise the adapter calls
   * {@linkcode Pump.written} once it has (or {@linkcode Pump.fail}).
   */
  sendReply(reply: string | Uint8Array): boolean;
  /** A chunk that arrived while the pump was busy, oldest first, or `undefined`. */
  nextQueued(): Uint8Array | undefined;
  /** Whether the peer has ended the stream. */
  readonly ended: boolean;
  /**
   * The pump has answered everything and waits for bytes: an adapter whose
   * runtime does not push them (Deno) starts a read here. Until the adapter
   * next calls the pump, a chunk offered would go to `handler` at once: an
   * adapter may answer it itself (see {@linkcode Pump.answered}).
   */
  idle(handler: PumpHandler): void;
  /**
   * Keeps `pump` where the adapter's callbacks find it. A method rather than
   * a closure per pump: under tsx (esbuild's keepNames) a named closure costs
   * a defineProperty per connection.
   */
  adopt(pump: Pump): void;
}

/** A {@linkcode PumpSocket} as `RuntimeConn.pumpTo` starts it: with a peer to name in refusals. */
export type PumpConn = PumpSocket & { readonly remoteAddr: NetAddr };

// What a busy pump waits for.
const NOTHING = 0;
const REPLY = 1;
const WRITE = 2;

// The end of a pump whose caller wants a promise (see runPump()).
class Settling implements PumpEnd {
  readonly promise: Promise<boolean>;
  #resolve!: (ended: boolean) => void;
  #reject!: (reason: unknown) => void;

  constructor() {
    this.promise = new Promise<boolean>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  pumpEnded(ended: boolean): void {
    this.#resolve(ended);
  }

  pumpFailed(reason: unknown): void {
    this.#reject(reason);
  }
}

/**
 * `conn.pumpTo(handler, …)` as a promise: resolves with how the pump ended
 * (`true` at end of stream, `false` once stopped), rejects with why it
 * failed or could not start.
 */
export function runPump(conn: RuntimeConn, handler: PumpHandler): Promise<boolean> {
  const settling = new Settling();
  conn.pumpTo(handler, settling);
  return settling.promise;
}

/**
 * One run of push mode on one connection. The adapter offers it each chunk
 * from the runtime's data callback, queues the chunks it refuses (it is busy)
 * for {@linkcode PumpSocket.nextQueued}, and reports the end of the stream,
 * written replies and failures.
 */
export class Pump {
  #socket: PumpSocket;
  #handler: PumpHandler;
  #end: PumpEnd;
  #waiting = NOTHING;
  #stopping = false;
  #finished = false;
  // Made on the first promised reply, not per reply nor per pump: most
  // handlers answer at once, and each closure is memory an idle connection
  // keeps.
  #replied: ((reply: PumpReply) => void) | undefined = undefined;
  #written: (() => void) | undefined = undefined;
  #failed: ((reason: unknown) => void) | undefined = undefined;

  /** A pump that reports to `end`; without one, to {@linkcode Pump.done}. */
  constructor(socket: PumpSocket, handler: PumpHandler, end: PumpEnd = new Settling()) {
    this.#socket = socket;
    this.#handler = handler;
    this.#end = end;
  }

  /** Settles as {@linkcode runPump} does; only for a pump made without an `end`. */
  get done(): Promise<boolean> {
    return (this.#end as Settling).promise;
  }

  /**
   * Starts a pump on `socket` as `RuntimeConn.pumpTo` does, or refuses as it
   * documents; `socket.adopt` keeps the new pump where the adapter's
   * callbacks find it before the first chunk is answered.
   */
  static run(socket: PumpConn, handler: PumpHandler, state: PumpStart, end: PumpEnd): void {
    if (state.closed) {
      end.pumpFailed(
        new SocketError("ECLOSED", `Cannot read from ${formatAddress(socket.remoteAddr)}: socket is closed`),
      );
    } else if (state.busy) {
      end.pumpFailed(
        new SocketError("EINVAL", `Cannot read from ${formatAddress(socket.remoteAddr)}: a read is already pending`),
      );
    } else if (state.error !== null) {
      end.pumpFailed(state.error);
    } else {
      const pump = new Pump(socket, handler, end);
      socket.adopt(pump);
      pump.start();
    }
  }

  /** Whether `pump` exists and has not settled. */
  static running(pump: Pump | undefined): boolean {
    return pump !== undefined && !pump.#finished;
  }

  /** Starts answering: first what was read ahead before the pump began. */
  start(): void {
    this.#run(undefined);
  }

  /** A chunk arrived: `true` if the pump took it, `false` if it must be queued. */
  offer(chunk: Uint8Array): boolean {
    if (this.#finished || this.#waiting !== NOTHING) return false;
    this.#run(chunk);
    return true;
  }

  /**
   * For an adapter that answers a chunk in its data callback itself, with the
   * handler {@linkcode PumpSocket.idle} gave it, while the pump is idle and
   * the adapter has no chunk queued (or the order of replies breaks), and
   * sends the reply itself when the kernel takes all of it: what the handler
   * answered that the adapter did not send, or only the bytes of it the
   * kernel did not take. The pump sends it, or waits for it, and goes on as
   * after {@linkcode Pump.offer}.
   */
  answered(reply: PumpReply | Promise<PumpReply>): void {
    if (this.#take(reply)) this.#run(undefined);
  }

  /** The peer ended the stream. */
  ended(): void {
    if (this.#finished || this.#waiting !== NOTHING) return;
    this.#run(undefined);
  }

  /** The reply that {@linkcode PumpSocket.sendReply} could not finish is now written. */
  written(): void {
    if (this.#finished || this.#waiting !== WRITE) return;
    this.#waiting = NOTHING;
    this.#run(undefined);
  }

  /** {@linkcode Pump.written} as a function, for an adapter's write queue; made on first use. */
  get onWritten(): () => void {
    return this.#written ??= () => this.written();
  }

  /** {@linkcode Pump.fail} as a function; made on first use. */
  get onFailed(): (reason: unknown) => void {
    return this.#failed ??= (reason) => this.fail(reason);
  }

  /** Ends the pump with `reason`. */
  fail(reason: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#end.pumpFailed(reason);
  }

  /** See `RuntimeConn.stopPump`. */
  stop(): void {
    if (this.#finished) return;
    if (this.#waiting === NOTHING) this.#finish(false);
    else this.#stopping = true;
  }

  // Answers `offered`, then queued chunks, until a reply has to wait or none
  // is left; then ends, stops or waits for more. A queued chunk is taken only
  // when it will be answered, so a stop leaves the rest for `read()`.
  #run(offered: Uint8Array | undefined): void {
    let chunk = offered;
    while (!this.#finished && !this.#stopping) {
      chunk ??= this.#socket.nextQueued();
      if (chunk === undefined) break;
      let reply: PumpReply | Promise<PumpReply>;
      try {
        reply = this.#handler.onData(chunk);
      } catch (err) {
        this.fail(err);
        return;
      }
      chunk = undefined;
      if (!this.#take(reply)) return;
    }
    if (this.#finished) return;
    if (this.#stopping) this.#finish(false);
    else if (this.#socket.ended) this.#finish(true);
    else this.#socket.idle(this.#handler);
  }

  // Sends a reply or waits for it; `false` when the pump must wait (or has failed).
  #take(reply: PumpReply | Promise<PumpReply>): boolean {
    if (typeof reply === "string" || reply instanceof Uint8Array) return this.#send(reply);
    if (reply === undefined) return true;
    this.#waiting = REPLY;
    this.#replied ??= (reply) => {
      if (this.#finished || this.#waiting !== REPLY) return;
      this.#waiting = NOTHING;
      if (reply !== undefined && !this.#send(reply)) return;
      this.#run(undefined);
    };
    reply.then(this.#replied, this.onFailed);
    return false;
  }

  // Sends a reply; `false` when the pump must wait for it (or has failed).
  #send(reply: string | Uint8Array): boolean {
    if (reply.length === 0) return true;
    this.#waiting = WRITE;
    if (!this.#socket.sendReply(reply)) return false;
    this.#waiting = NOTHING;
    return !this.#finished;
  }

  #finish(ended: boolean): void {
    this.#finished = true;
    this.#end.pumpEnded(ended);
  }
}
