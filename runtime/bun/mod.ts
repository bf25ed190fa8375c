/**
 * The Bun adapter: Bun's own sockets (`Bun.listen`, `Bun.connect`,
 * `Bun.udpSocket`) rather than its `node:net` and `node:dgram` emulations,
 * which are layers over these same sockets.
 *
 * @module
 */

import type { Runtime } from "../contract.ts";
import { connect, listen } from "./tcp.ts";
import { startTls } from "./tls.ts";
import { removeSocketFile } from "../node/unix.ts";
import { bindDatagram } from "./udp.ts";
import { lookup } from "./dns.ts";

/**
 * Sockets on Bun.
 *
 * @example Listening through the Bun adapter
 * ```ts ignore
 * import { runtime } from "./mod.ts";
 *
 * const listener = await runtime.listen({ hostname: "127.0.0.1", port: 0 });
 * listener.close();
 * ```
 */
export const runtime: Runtime = { name: "bun", listen, connect, startTls, removeSocketFile, bindDatagram, lookup };
