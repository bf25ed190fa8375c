/**
 * Host names for UDP, shared by the adapters: IP literals need no lookup,
 * and a name that does not resolve is `ENOTFOUND` on every runtime, whatever
 * that runtime's resolver calls it (Bun says `DNS_ENOTFOUND`).
 *
 * @module
 */

import { formatAddress, SocketError, socketError } from "../socket_error.ts";
import type { RuntimeLookupOptions } from "./types.ts";

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-f:.]*:[0-9a-f:.]*(%[\w.-]+)?$/i;

/**
 * The family of an IP literal, or `undefined` for anything else (a name).
 *
 * @example Telling literals from names
 * ```ts ignore
 * import { ipFamily } from "./_lookup.ts";
 *
 * if (ipFamily("::1") !== 6 || ipFamily("localhost") !== undefined) throw new Error("unexpected");
 * ```
 */
export function ipFamily(hostname: string): 4 | 6 | undefined {
  if (IPV4.test(hostname)) return 4;
  if (IPV6.test(hostname)) return 6;
  return undefined;
}

/**
 * A runtime's resolver: the first address `hostname` has, of `family` when
 * not 0, or `undefined` when it has none.
 */
export type Resolver = (hostname: string, family: 0 | 4 | 6) => Promise<string | undefined>;

/**
 * `Runtime.lookup` over a runtime's own resolver: literals come back as they
 * are, and every failure but a denied permission (`EACCES`, Deno) is
 * `ENOTFOUND`, naming the action and the name.
 *
 * @example A lookup that knows only localhost
 * ```ts ignore
 * import { nameLookup } from "./_lookup.ts";
 *
 * const lookup = nameLookup((name) => Promise.resolve(name === "localhost" ? "127.0.0.1" : undefined));
 * if ((await lookup("localhost", { action: "bind", port: 0 })) !== "127.0.0.1") throw new Error("unexpected");
 * ```
 */
export function nameLookup(
  resolve: Resolver,
): (hostname: string, options: RuntimeLookupOptions) => Promise<string> {
  return async (hostname, options) => {
    if (ipFamily(hostname) !== undefined) return hostname;
    const address = formatAddress({ hostname, port: options.port });
    const notFound = (cause?: unknown) =>
      new SocketError("ENOTFOUND", `Cannot ${options.action} ${address}: host not found`, { cause });
    let found: string | undefined;
    try {
      found = await resolve(hostname, options.family ?? 0);
    } catch (err) {
      const error = socketError(err, { action: options.action, address });
      if (error.code === "EACCES") throw error;
      throw notFound(err);
    }
    if (found === undefined) throw notFound();
    return found;
  };
}
