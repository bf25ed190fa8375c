/**
 * The local address of an accepted connection, known without asking the
 * kernel: shared by the adapters of Node and Bun, whose runtimes ask it on
 * each read of a socket's local address (a system call per connection).
 *
 * @module
 */

import type { NetAddr } from "./types.ts";

/**
 * What every connection accepted by a listener bound to `listening` has as
 * its local address, or `undefined` when the listener is bound to a wildcard
 * (`0.0.0.0`, `::`) and each connection's depends on the interface it came in by.
 */
export function acceptedLocalAddr(listening: NetAddr): NetAddr | undefined {
  const host = listening.hostname;
  if (host === "::" || host.endsWith("0.0.0.0")) return undefined;
  return listening;
}
