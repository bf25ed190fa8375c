/**
 * The Deno runtime adapter: sockets as Deno gives them, behind the runtime
 * contract.
 *
 * @module
 */

import type { ConnectSpec, ListenerEvents, ListenSpec, RawConn, RawListener, Runtime } from "../contract.ts";
import { formatAddress } from "../../socket_error.ts";
import { lookup } from "./dns.ts";
import { DenoListener } from "./listener.ts";
import { DenoConn } from "./conn.ts";
import { connectTcp } from "./tcp.ts";
import { connectTls, listenTls, startTls, unsupported } from "./tls.ts";
import { bindDatagram } from "./udp.ts";
import { connectUnix, listenUnix, removeSocketFile } from "./unix.ts";

function reportTcp(conn: Deno.TcpConn, events: ListenerEvents): void {
  events.conn(new DenoConn(conn, { noDelay: true }));
}

// Deno sets no IPV6_V6ONLY, so a socket on `::` is as the OS makes it
// (Linux: dual-stack, unless net.ipv6.bindv6only; Windows: IPv6 only), and
// offers no option to change it. Whether IPv4's wildcard on the same port is
// still free tells which it is, with no file to read and no permission more.
function v6Only(port: number): boolean | undefined {
  try {
    Deno.listen({ hostname: "0.0.0.0", port, transport: "tcp" }).close();
    return true;
  } catch (err) {
    return err instanceof Deno.errors.AddrInUse ? false : undefined;
  }
}

async function checkV6Only(listener: RawListener, ipv6Only: boolean): Promise<RawListener> {
  const addr = listener.addr;
  if (addr.transport !== "tcp" || addr.hostname !== "::") return listener;
  const actual = v6Only(addr.port);
  if (actual === ipv6Only) return listener;
  await listener.close();
  const what = actual === undefined
    ? "Deno cannot set IPV6_V6ONLY, nor could it tell how the OS set it"
    : `Deno cannot set IPV6_V6ONLY, and sockets on :: take ${actual ? "IPv6 only" : "IPv4 too"} here`;
  throw unsupported("listen on", formatAddress(addr), what);
}

/**
 * Listens on a TCP address or a Unix socket's path, over TLS or not;
 * rejects with Deno's error.
 *
 * @example Listening on a free port
 * ```ts ignore
 * import { listen } from "./mod.ts";
 *
 * const listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * await listener.close();
 * ```
 */
export async function listen(spec: ListenSpec): Promise<RawListener> {
  if ("path" in spec) {
    if (spec.tls !== undefined) throw unsupported("listen on", spec.path, "Deno runs TLS over TCP only");
    return listenUnix(spec.path);
  }
  const { hostname, port, tls, ipv6Only } = spec;
  const listener = tls === undefined
    ? new DenoListener(Deno.listen({ hostname, port, transport: "tcp" }), reportTcp)
    : listenTls({ hostname, port, tls });
  return ipv6Only === undefined ? listener : await checkV6Only(listener, ipv6Only);
}

/**
 * Connects to a TCP address or a Unix socket's path, over TLS or not;
 * rejects with Deno's error. `spec.signal` gives the attempt up.
 *
 * @example Connecting to a listener
 * ```ts ignore
 * import { connect, listen } from "./mod.ts";
 *
 * const listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * const { port } = listener.addr as { port: number };
 * const conn = await connect({ hostname: "127.0.0.1", port });
 * conn.close();
 * await listener.close();
 * ```
 */
export async function connect(spec: ConnectSpec): Promise<RawConn> {
  const { signal, tls } = spec;
  if ("path" in spec) {
    if (tls !== undefined) throw unsupported("connect to", spec.path, "Deno runs TLS over TCP only");
    return new DenoConn(await connectUnix(spec.path, signal));
  }
  if (tls !== undefined) return await connectTls({ hostname: spec.hostname, port: spec.port, tls, signal });
  return new DenoConn(await connectTcp(spec), { noDelay: true });
}

/**
 * Sockets on Deno: TCP and Unix sockets through `Deno.listen` and
 * `Deno.connect`, TLS through `Deno.startTls`, `Deno.connectTls` and
 * `Deno.listenTls`, UDP through `Deno.listenDatagram` or, without
 * `--unstable-net`, `node:dgram`.
 *
 * @example Listening through the Deno adapter
 * ```ts ignore
 * import { runtime } from "./mod.ts";
 *
 * const listener = await runtime.listen({ hostname: "127.0.0.1", port: 0 });
 * await listener.close();
 * ```
 */
export const runtime: Runtime = {
  name: "deno",
  listen,
  connect,
  startTls,
  removeSocketFile,
  bindDatagram,
  lookup,
};
