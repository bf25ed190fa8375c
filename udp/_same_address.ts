/**
 * Comparing a datagram's sender with an address. Not exported from the
 * package.
 *
 * @module
 */

// The same address written two ways (`::1`, `0:0::1`) must compare equal;
// the URL parser writes IPv6 addresses the one standard way.
function canonicalHost(hostname: string): string {
  if (!hostname.includes(":")) return hostname;
  try {
    return new URL(`http://[${hostname}]/`).hostname;
  } catch {
    return hostname.toLowerCase();
  }
}

/** Whether `remote` is `to`: the same port and IP address, however either is written. */
export function sameAddress(
  remote: { hostname: string; port: number },
  to: { hostname: string; port: number },
): boolean {
  return remote.port === to.port &&
    (remote.hostname === to.hostname || canonicalHost(remote.hostname) === canonicalHost(to.hostname));
}
