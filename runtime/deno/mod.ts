/**
 * The Deno runtime adapter: sockets as Deno gives them, behind the runtime
 * contract.
 *
 * @module
 */

import type { Runtime } from "../contract.ts";
import { lookup } from "./dns.ts";
import { connect, listen } from "./tcp.ts";
import { bindDatagram } from "./udp.ts";

/**
 * Sockets on Deno: TCP through `Deno.listen` and `Deno.connect`, UDP through
 * `Deno.listenDatagram` or, without `--unstable-net`, `node:dgram`.
 *
 * @example Listening through the Deno adapter
 * ```ts ignore
 * import { runtime } from "./mod.ts";
 *
 * const listener = await runtime.listen({ hostname: "127.0.0.1", port: 0 });
 * await listener.close();
 * ```
 */
export const runtime: Runtime = { name: "deno", listen, connect, bindDatagram, lookup };
