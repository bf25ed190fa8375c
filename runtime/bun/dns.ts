/**
 * Name lookup on Bun, with its own resolver.
 *
 * @module
 */

import { ipFamily } from "../../addr.ts";
import { bun } from "./types.ts";

// What Bun.dns.lookup rejects with when the name has no address, rather than failing.
const NOT_FOUND = new Set(["DNS_ENOTFOUND", "ENOTFOUND", "DNS_ENODATA", "ENODATA", "DNS_ENONAME", "EAI_NONAME"]);

/**
 * The first address of `hostname`, of `family` when given, from `Bun.dns`
 * (the hosts file included, as `Bun.connect` resolves); `undefined` for none.
 *
 * @example Looking up localhost
 * ```ts ignore
 * import { lookup } from "./dns.ts";
 *
 * console.log(await lookup("localhost", 4)); // 127.0.0.1
 * ```
 */
export async function lookup(hostname: string, family?: 4 | 6): Promise<string | undefined> {
  const literal = ipFamily(hostname);
  if (literal !== undefined) return family === undefined || family === literal ? hostname : undefined;
  try {
    return (await bun().dns.lookup(hostname, { family: family ?? 0 }))[0]?.address;
  } catch (err) {
    if (NOT_FOUND.has((err as { code?: unknown } | null)?.code as string)) return undefined;
    throw err;
  }
}
