/**
 * Binding a runtime's UDP socket, shared by `bind()` and `serveDatagrams()`.
 * Internal.
 *
 * @module
 */

import { checkAddress, checkSignal } from "../_options.ts";
import { mapIpv4, unmapIpv4 } from "../addr.ts";
import type { RawDatagramSocket, Runtime } from "../runtime/contract.ts";
import { currentRuntime } from "../runtime/select.ts";
import { formatAddress, socketError } from "../socket_error.ts";
import type { BindOptions } from "./datagram_socket.ts";
import { lookupHost } from "./_lookup.ts";

// The largest UDP payloads: 65,535 less the IPv4 (20) and UDP (8) headers;
// an IPv6 payload length excludes its own header, so only UDP's counts.
const MAX_PAYLOAD = { 4: 65_507, 6: 65_527 } as const;

/** A bound runtime socket, with what its users need to know of it. */
export interface RawSocket {
  /** The runtime's socket. */
  raw: RawDatagramSocket;
  /** The runtime, for looking names up. */
  runtime: Runtime;
  /** The socket's address family. */
  family: 4 | 6;
  /** Bound to `::`: sends to and receives from IPv4 addresses too. */
  dualStack: boolean;
  /** The largest payload one datagram of that family carries. */
  maxPayload: number;
}

/**
 * Checks `options`, looks the host name up and binds: errors name the
 * address as given.
 *
 * @example Binding
 * ```ts ignore
 * const { raw } = await bindRaw({ hostname: "127.0.0.1" });
 * raw.close();
 * ```
 */
export async function bindRaw(options: BindOptions): Promise<RawSocket> {
  const hostname = options.hostname ?? "0.0.0.0";
  const port = options.port ?? 0;
  const address = formatAddress({ hostname, port });
  checkAddress("bind", { hostname, port });
  checkSignal(options.signal, "bind", address);
  const runtime = await currentRuntime();
  const ip = await lookupHost(runtime, hostname, { action: "bind", port });
  let raw: RawDatagramSocket;
  try {
    raw = await runtime.bindDatagram({ hostname: ip, port });
  } catch (err) {
    throw socketError(err, { action: "bind", address });
  }
  if (options.signal?.aborted) {
    raw.close();
    checkSignal(options.signal, "bind", address);
  }
  const family = raw.addr.hostname.includes(":") ? 6 : 4;
  // The kernel delivers IPv4 to and from an IPv6 wildcard socket through
  // IPv4-mapped addresses; users see and give plain IPv4 ones.
  const dualStack = raw.addr.hostname === "::";
  if (dualStack) raw = mappingIpv4(raw);
  return { raw, runtime, family, dualStack, maxPayload: MAX_PAYLOAD[family] };
}

function mappingIpv4(raw: RawDatagramSocket): RawDatagramSocket {
  return {
    addr: raw.addr,
    start: (onDatagram) => raw.start((data, remote) => onDatagram(data, unmapIpv4(remote))),
    send: (data, to) => raw.send(data, { hostname: mapIpv4(to.hostname), port: to.port }),
    close: () => raw.close(),
  };
}

/** What `request()` needs of a socket's queue of datagrams nobody has received yet. */
export interface QueuedDatagrams {
  /** How many are queued. */
  readonly length: number;
  /** Drops those from `from`; returns how many. */
  discard(from: { hostname: string; port: number }): number;
}

/** Each socket's queue, for `request()`: kept out of the public interface. */
export const queuedDatagrams: WeakMap<object, QueuedDatagrams> = new WeakMap();
