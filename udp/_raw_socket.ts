/**
 * What `serveDatagrams` needs of the sockets `bind()` makes: the runtime's
 * socket underneath, to receive and reply without the public methods'
 * per-call checks (a received datagram's sender has passed them already).
 * Not exported from the package.
 *
 * @module
 */

import type { RuntimeDatagramSocket } from "../runtime/types.ts";

/** A bound socket's runtime socket and its largest payload. */
export interface RawSocket {
  /** The runtime's socket; closing the public socket closes it. */
  raw: RuntimeDatagramSocket;
  /** The largest payload one datagram holds in the socket's family. */
  maxPayload: number;
}

/** Each socket `bind()` made, to its runtime socket. */
export const rawSockets: WeakMap<object, RawSocket> = new WeakMap();
