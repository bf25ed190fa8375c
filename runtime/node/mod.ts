/**
 * The Node adapter: `node:net`, `node:dgram` and `node:dns` behind the
 * runtime contract.
 *
 * @module
 */

import type { Runtime } from "../contract.ts";
import { lookup } from "./dns.ts";
import { connect, listen } from "./tcp.ts";
import { bindDatagram } from "./udp.ts";

/**
 * Sockets on Node.
 *
 * @example Listening through the Node adapter
 * ```ts ignore
 * import { runtime } from "./mod.ts";
 *
 * const listener = await runtime.listen({ hostname: "127.0.0.1", port: 0 });
 * listener.close();
 * ```
 */
export const runtime: Runtime = { name: "node", listen, connect, bindDatagram, lookup };
