/**
 * Checks TLS options and fills in their defaults for the runtime contract.
 *
 * @module
 */

import type { TlsClientOptions, TlsServerOptions } from "../runtime/contract.ts";
import { SocketError, socketError } from "../socket_error.ts";
import type { TlsConnectOptions, TlsListenOptions } from "./tls_options.ts";

// Where an option was wrong, for the message: the action and the address.
interface Place {
  action: string;
  address: string;
}

function fail(place: Place, problem: string): never {
  throw new SocketError("EINVAL", `Cannot ${place.action} ${place.address}: ${problem}`);
}

function checkPems(place: Place, name: string, value: unknown, required: boolean): void {
  if (value === undefined && !required) return;
  if (typeof value !== "string" || !value.includes("-----BEGIN ")) fail(place, `tls.${name} must be PEM text`);
}

function checkPemList(place: Place, name: string, value: unknown): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) fail(place, `tls.${name} must be an array of PEM texts`);
  for (const pem of value) checkPems(place, name, pem, true);
}

function checkAlpn(place: Place, value: unknown): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || value.some((p) => typeof p !== "string" || p === "" || p.length > 255)) {
    fail(place, "tls.alpnProtocols must be an array of non-empty strings");
  }
}

/**
 * The contract's client options for `tls` (`true` for the defaults); the
 * server name defaults to `hostname`. Throws `EINVAL` for bad options.
 */
export function clientTlsSpec(
  tls: true | TlsConnectOptions,
  place: Place & { hostname: string | undefined },
): TlsClientOptions {
  const options: TlsConnectOptions = tls === true ? {} : tls;
  if (typeof options !== "object" || options === null) fail(place, "tls must be true or an options object");
  const serverName = options.serverName ?? place.hostname;
  if (typeof serverName !== "string" || serverName === "") {
    fail(place, "tls.serverName is required when there is no hostname");
  }
  checkPemList(place, "caCerts", options.caCerts);
  checkPems(place, "cert", options.cert, options.key !== undefined);
  checkPems(place, "key", options.key, options.cert !== undefined);
  checkAlpn(place, options.alpnProtocols);
  if (options.verify !== undefined && typeof options.verify !== "boolean") fail(place, "tls.verify must be a boolean");
  return {
    serverName,
    caCerts: options.caCerts,
    verify: options.verify ?? true,
    alpnProtocols: options.alpnProtocols,
    cert: options.cert,
    key: options.key,
  };
}

/** The contract's server options for `tls`. Throws `EINVAL` for bad options. */
export function serverTlsSpec(tls: TlsListenOptions, place: Place): TlsServerOptions {
  if (typeof tls !== "object" || tls === null) fail(place, "tls must be an options object with cert and key");
  checkPems(place, "cert", tls.cert, true);
  checkPems(place, "key", tls.key, true);
  checkPemList(place, "clientCaCerts", tls.clientCaCerts);
  checkAlpn(place, tls.alpnProtocols);
  const handshakeTimeout = tls.handshakeTimeout ?? 10_000;
  if (!(Number.isInteger(handshakeTimeout) && handshakeTimeout > 0 && handshakeTimeout <= 2 ** 31 - 1)) {
    fail(place, "tls.handshakeTimeout must be an integer from 1 to 2147483647 ms");
  }
  return {
    cert: tls.cert,
    key: tls.key,
    alpnProtocols: tls.alpnProtocols,
    clientCaCerts: tls.clientCaCerts,
    handshakeTimeout,
  };
}

/**
 * A failed TLS handshake as a `SocketError`: a peer that closes or resets
 * the connection during the handshake aborted it (`ETLSHANDSHAKE`), where a
 * plain connection would say `ECONNRESET`.
 */
export function handshakeError(err: unknown, place: Place): SocketError {
  const error = socketError(err, place);
  if (error.code !== "ECONNRESET" && error.code !== "EPIPE") return error;
  return new SocketError(
    "ETLSHANDSHAKE",
    `Cannot ${place.action} ${place.address}: TLS handshake failed`,
    { cause: err },
  );
}
