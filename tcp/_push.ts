/**
 * Push mode: an optional capability of doorway's own connections and
 * listeners, for servers only. A server answers each chunk as it arrives
 * (inside the runtime's data callback on Node and Bun), and takes each
 * connection as it is accepted, with no promise per request or connection.
 * A `Conn` or `Listener` without it is served by pulled reads and
 * `accept()`, with the same behaviour. Internal.
 *
 * @module
 */

import type { Addr } from "../runtime/contract.ts";
import type { Conn } from "./conn.ts";
import type { Listener } from "./listen.ts";

/** The key under which a connection or listener offers push mode. */
export const PUSH: unique symbol = Symbol("doorway.push");

/** Who answers in push mode: one object can serve every connection of a server. */
export interface PushAnswerer {
  /** Takes complete lines with `conn.bufferedLine()` or `conn.bufferedLines()` and returns the reply text, or a promise of it. */
  answer(conn: PushConn): string | Promise<string>;
}

/** Hears how push mode ended; called at once, maybe before the last reply is written. */
export interface PushEnd {
  /** `true` at end of stream, every complete line answered; `false` once stopped. */
  pushEnded(ended: boolean): void;
  /** Reading or writing failed, or answering threw. */
  pushFailed(reason: unknown): void;
}

/** A connection in push mode, as its answerer sees it. */
export interface PushConn extends Conn<Addr> {
  /**
   * Answers what arrives with `answerer` until end of stream, a stop, or
   * `signal`; afterwards the connection is read as before, bytes not yet
   * answered first. `false` when it cannot start (a read is pending).
   */
  pushTo(answerer: PushAnswerer, end: PushEnd, signal?: AbortSignal): boolean;
  /** Stops after the reply being written; may be called from `answer`. */
  stopPush(): void;
  /** Stops, and keeps `reason` for the caller in `pushFailure`, once the replies before it are written. */
  failPush(reason: unknown): void;
  /** What `failPush` was given since push mode started. */
  readonly pushFailure: { reason: unknown } | undefined;
  /** The next complete line buffered now, or `undefined`; throws as `readLine()` would. */
  bufferedLine(): string | undefined;
  /** The complete lines buffered now, maybe none; throws as `readLines()` would. */
  bufferedLines(): string[];
  /** Bytes received and not yet read. */
  readonly bufferedBytes: number;
}

/** A listener that hands each connection over as it is accepted. */
export interface PushListener extends Listener<Addr> {
  /** Hands every connection to `onConn` and every accept failure to `onError`; resolves once closed. */
  acceptEach(onConn: (conn: Conn<Addr>) => void, onError: (error: unknown) => void): Promise<void>;
}

/**
 * `conn`'s push mode, if it offers one.
 *
 * @example Pulled reads for a connection without push mode
 * ```ts ignore
 * const push = pushConnOf(conn);
 * if (push === undefined) console.log("pulled reads");
 * ```
 */
export function pushConnOf(conn: Conn<Addr>): PushConn | undefined {
  return (conn as { [PUSH]?: () => PushConn })[PUSH]?.();
}

/**
 * `listener`'s push mode, if it offers one.
 *
 * @example accept() for a listener without push mode
 * ```ts ignore
 * if (pushListenerOf(listener) === undefined) await listener.accept();
 * ```
 */
export function pushListenerOf(listener: Listener<Addr>): PushListener | undefined {
  return (listener as { [PUSH]?: () => PushListener })[PUSH]?.();
}
