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

/**
 * The address as IPv4 when it is an IPv4-mapped IPv6 address
 * (`::ffff:127.0.0.1`), as a dual-stack socket reports IPv4 peers; any
 * other address as it is. Go's `net` reports them the same way.
 *
 * @example Unmapping an IPv4 peer
 * ```ts
 * import { unmapIpv4 } from "./addr.ts";
 *
 * const addr = unmapIpv4({ transport: "tcp", hostname: "::ffff:127.0.0.1", port: 80 });
 * if (addr.hostname !== "127.0.0.1") throw new Error(addr.hostname);
 * ```
 */
export function unmapIpv4<A extends { hostname: string } | { path: string }>(addr: A): A {
  if (!("hostname" in addr)) return addr;
  const { hostname } = addr;
  if (hostname.length < 14 || !/^::ffff:/i.test(hostname)) return addr;
  const ipv4 = hostname.slice(7);
  return IPV4.test(ipv4) ? { ...addr, hostname: ipv4 } : addr;
}

/**
 * The IPv4-mapped IPv6 form of an IPv4 literal (`::ffff:127.0.0.1`), for a
 * socket bound to an IPv6 address; any other hostname as it is.
 *
 * @example Mapping an IPv4 destination
 * ```ts
 * import { mapIpv4 } from "./addr.ts";
 *
 * if (mapIpv4("127.0.0.1") !== "::ffff:127.0.0.1" || mapIpv4("::1") !== "::1") throw new Error("unexpected");
 * ```
 */
export function mapIpv4(hostname: string): string {
  return IPV4.test(hostname) ? `::ffff:${hostname}` : hostname;
}
