/**
 * The capability `startTls()` needs of a connection: to give its socket up
 * for an upgrade. Found by a symbol, as push mode is (see _push.ts).
 *
 * @module
 */

import type { Addr, RawConn } from "../runtime/contract.ts";
import type { Conn } from "./conn.ts";

/** The key of the upgrade capability. */
export const UPGRADE: unique symbol = Symbol("doorway.upgrade");

/** A connection that can hand its socket to a TLS upgrade. */
export interface Upgradable {
  /** The name connected to, the default TLS server name; `undefined` for accepted connections. */
  readonly serverName: string | undefined;
  /**
   * Waits for every write to go out, checks that nothing received is
   * unread, pauses, and runs `upgrade` on the socket; resolves with the
   * connection over what it returns. This connection is closed for use
   * then. Fails with `EPROTO` (and stays as it was) if bytes are unread.
   */
  upgrade(upgrade: (raw: RawConn) => Promise<RawConn>): Promise<Conn<Addr>>;
}

/**
 * The upgrade capability of `conn`, if it has one.
 *
 * @example Asking a connection
 * ```ts
 * import { upgradableOf } from "./_upgrade.ts";
 *
 * if (upgradableOf({}) !== undefined) throw new Error("a plain object cannot be upgraded");
 * ```
 */
export function upgradableOf(conn: unknown): Upgradable | undefined {
  const get = (conn as { [UPGRADE]?: () => Upgradable } | null)?.[UPGRADE];
  return typeof get === "function" ? get.call(conn) : undefined;
}
