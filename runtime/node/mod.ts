/**
 * The Node adapter: `node:net`, `node:tls`, `node:dgram` and `node:dns`
 * behind the runtime contract.
 *
 * @module
 */

import type { Runtime } from "../contract.ts";
import { lookup } from "./dns.ts";
import { connect, listen } from "./tcp.ts";
import { connectTls, listenTls, startTls } from "./tls.ts";
import { bindDatagram } from "./udp.ts";
import { removeSocketFile } from "./unix.ts";

/**
 * Sockets on Node.
 *
 * @example Listening through the Node adapter
 * ```ts ignore
 * import { runtime } from "./mod.ts";
 *
 * const listener = await runtime.listen({ hostname: "127.0.0.1", port: 0 });
 * await listener.close();
 * ```
 */
export const runtime: Runtime = {
  name: "node",
  listen: (spec) => spec.tls === undefined ? listen(spec) : listenTls({ ...spec, tls: spec.tls }),
  connect: (spec) => spec.tls === undefined ? connect(spec) : connectTls({ ...spec, tls: spec.tls }),
  startTls,
  removeSocketFile,
  bindDatagram,
  lookup,
};
