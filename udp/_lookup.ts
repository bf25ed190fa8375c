/**
 * Host names for UDP, looked up once per call rather than per datagram:
 * IP literals need no lookup, and a name that does not resolve is
 * `ENOTFOUND` on every runtime, whatever that runtime's resolver calls it.
 * Internal.
 *
 * @module
 */

import { ipFamily } from "../addr.ts";
import type { Runtime } from "../runtime/contract.ts";
import { formatAddress, SocketError, socketError } from "../socket_error.ts";

/** What a name is looked up for: the family wanted, and the call to name in errors. */
export interface LookupFor {
  /** Only addresses of this family; the first of any when left out. */
  family?: 4 | 6;
  /** The action for the error message, such as `send to`. */
  action: string;
  /** The port, for the error message. */
  port: number;
}

/**
 * The IP address to use for `hostname`: itself when it is a literal.
 * Rejects with `ENOTFOUND`, or `EACCES` when Deno's permissions deny the
 * lookup, naming the call: `Cannot send to nosuch.invalid:9: host not found`.
 *
 * @example Literals come back as they are
 * ```ts ignore
 * if ((await lookupHost(runtime, "::1", { action: "bind", port: 0 })) !== "::1") throw new Error("looked up");
 * ```
 */
export async function lookupHost(runtime: Runtime, hostname: string, options: LookupFor): Promise<string> {
  if (ipFamily(hostname) !== undefined) return hostname;
  const address = formatAddress({ hostname, port: options.port });
  let found: string | undefined;
  try {
    found = await runtime.lookup(hostname, options.family);
  } catch (err) {
    const error = socketError(err, { action: options.action, address });
    if (error.code === "EACCES") throw error;
    throw new SocketError("ENOTFOUND", `Cannot ${options.action} ${address}: host not found`, { cause: err });
  }
  if (found === undefined) throw new SocketError("ENOTFOUND", `Cannot ${options.action} ${address}: host not found`);
  return found;
}
