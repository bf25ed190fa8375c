/**
 * IP literals, told apart from host names without a lookup.
 *
 * @module
 */

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-f:.]*:[0-9a-f:.]*(%[\w.-]+)?$/i;

/**
 * The family of an IP literal, or `undefined` for anything else (a name).
 *
 * @example Telling literals from names
 * ```ts
 * import { ipFamily } from "./addr.ts";
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
 * Whether `hostname` is a wildcard address (`0.0.0.0`, `::`, or `::ffff:0.0.0.0`):
 * a connection accepted on a listener bound to it may have any local address.
 *
 * @example Wildcards
 * ```ts
 * import { isWildcard } from "./addr.ts";
 *
 * if (!isWildcard("::") || isWildcard("127.0.0.1")) throw new Error("unexpected");
 * ```
 */
export function isWildcard(hostname: string): boolean {
  return hostname === "::" || hostname.endsWith("0.0.0.0");
}
