/**
 * Binding a UDP socket, what `bind()` and `serveDatagrams()` share, and what
 * `request()` may do to the sockets `bind()` makes beyond their public
 * methods. Not exported from the package.
 *
 * @module
 */

import { checkAddress, checkSignal } from "../_options.ts";
import { currentRuntime } from "../runtime/runtime.ts";
import type { Runtime, RuntimeDatagramSocket } from "../runtime/types.ts";
import { formatAddress } from "../socket_error.ts";
import type { BindOptions, DatagramTarget } from "./datagram_socket.ts";

// The largest UDP payloads: 65,535 less the IPv4 (20) and UDP (8) headers;
// an IPv6 payload length excludes its own header, so only UDP's counts.
const MAX_PAYLOAD = { 4: 65_507, 6: 65_527 } as const;

/** A bound runtime socket, and what the layers above need to know of it. */
export interface RawSocket {
  /** The runtime's socket. */
  raw: RuntimeDatagramSocket;
  /** The runtime, for looking names up. */
  runtime: Runtime;
  /** The socket's family, that of its bound address. */
  family: 4 | 6;
  /** The largest payload one datagram holds in that family. */
  maxPayload: number;
}

/**
 * Binds a runtime socket as `bind()` documents, a host name included; closes
 * it again if `signal` fired meanwhile. Does not watch `signal` afterwards.
 */
export async function bindRaw(options: BindOptions): Promise<RawSocket> {
  const hostname = options.hostname ?? "0.0.0.0";
  const port = options.port ?? 0;
  const address = formatAddress({ hostname, port });
  checkAddress("bind", { hostname, port });
  checkSignal(options.signal, "bind", address);
  const runtime = await currentRuntime();
  const raw = await runtime.bindDatagram({ hostname, port });
  if (options.signal?.aborted) {
    raw.close();
    checkSignal(options.signal, "bind", address);
  }
  const family = raw.addr.hostname.includes(":") ? 6 : 4;
  return { raw, runtime, family, maxPayload: MAX_PAYLOAD[family] };
}

/** Datagrams a runtime socket dropped: only the adapters that queue count them. */
export function droppedBy(raw: RuntimeDatagramSocket): number {
  const { dropped } = raw as { dropped?: unknown };
  return typeof dropped === "number" ? dropped : 0;
}

/** The datagrams a socket `bind()` made has received and not yet handed out. */
export interface QueuedDatagrams {
  /** How many wait. */
  readonly length: number;
  /** Drops those from `from` (an IP literal), keeping the others in order; returns how many. */
  discard(from: DatagramTarget): number;
}

/** Each socket `bind()` made, to its queue: what `request()` discards from. */
export const queuedDatagrams: WeakMap<object, QueuedDatagrams> = new WeakMap();
