/**
 * Host names through `node:dns`.
 *
 * @module
 */

import * as dns from "node:dns";

// What getaddrinfo says of a name that has no address (of that family).
const NO_ADDRESS = new Set(["ENOTFOUND", "ENODATA", "EAI_NONAME", "EAI_NODATA"]);

/**
 * The first address of `hostname` (of `family` when given), through
 * `dns.lookup()`: getaddrinfo, the hosts file included, as `node:net`
 * resolves names to connect. `undefined` when the name has none; other
 * failures reject with Node's error.
 *
 * @example Looking up localhost
 * ```ts ignore
 * import { lookup } from "./dns.ts";
 *
 * console.log(await lookup("localhost")); // 127.0.0.1 (or ::1)
 * ```
 */
export async function lookup(hostname: string, family?: 4 | 6): Promise<string | undefined> {
  try {
    return (await dns.promises.lookup(hostname, { family: family ?? 0 })).address;
  } catch (err) {
    if (NO_ADDRESS.has((err as { code?: unknown } | null)?.code as string)) return undefined;
    throw err;
  }
}
