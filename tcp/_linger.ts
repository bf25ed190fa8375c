/**
 * Closing without a reset. Internal.
 *
 * @module
 */

import type { Addr } from "../runtime/contract.ts";
import type { Conn } from "./conn.ts";

// How long, and how much, to keep reading what a peer still sends after this
// side has said its last word.
const LINGER_MS = 2000;
const LINGER_BYTES = 1024 * 1024;

const lingered = new WeakSet<Conn<Addr>>();

/**
 * Half-closes `conn`, then reads and drops what the peer still sends until
 * it ends its stream too, for at most two seconds and 1 MiB. Closing a socket
 * with unread bytes makes the kernel send a reset, which destroys replies
 * still on their way to the peer: this is what lets them arrive. Never
 * rejects; the caller closes `conn` afterwards.
 */
export async function linger(conn: Conn<Addr>): Promise<void> {
  // Once is enough: a refused line lingers, and then its server would again.
  if (lingered.has(conn)) return;
  lingered.add(conn);
  const buffer = new Uint8Array(16 * 1024);
  let dropped = 0;
  try {
    await conn.closeWrite();
    const deadline = performance.now() + LINGER_MS;
    while (dropped < LINGER_BYTES) {
      const n = await conn.read(buffer, { timeout: Math.max(0, Math.ceil(deadline - performance.now())) });
      if (n === null) return;
      dropped += n;
    }
  } catch {
    // Closed, reset, or lingering too long: there is nothing more to save.
  }
}
