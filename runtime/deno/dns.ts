/**
 * Host names on Deno. `Deno.resolveDns()` asks DNS servers only, so
 * `localhost` and the rest of the hosts file would not resolve; Deno's
 * `node:dns` `lookup()` calls getaddrinfo, as `Deno.connect()` and
 * `Deno.listen()` do.
 *
 * @module
 */

import { promises as dns } from "node:dns";

// What getaddrinfo says for a name with no address (of that family).
const NONE = new Set(["ENOTFOUND", "ENODATA", "EAI_NONAME", "EAI_NODATA"]);

/**
 * The first address of `hostname`, of `family` when given, or `undefined`
 * when it has none; rejects with Deno's error (`NotCapable` without net
 * permission).
 *
 * @example Looking up localhost
 * ```ts ignore
 * import { lookup } from "./dns.ts";
 *
 * const address = await lookup("localhost");
 * if (address === undefined) throw new Error("unexpected");
 * ```
 */
export async function lookup(hostname: string, family?: 4 | 6): Promise<string | undefined> {
  try {
    return (await dns.lookup(hostname, { family: family ?? 0 })).address;
  } catch (err) {
    if (NONE.has((err as { code?: unknown } | null)?.code as string)) return undefined;
    throw err;
  }
}
