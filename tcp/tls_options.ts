/**
 * TLS options for clients and servers, and what a handshake settled.
 *
 * @module
 */

/** What a TLS handshake settled: see `Conn.tls`. */
export type { TlsInfo } from "../runtime/contract.ts";

/**
 * TLS for `connect()` and client-side `startTls()`. Certificates and keys
 * are PEM text. Verification is on unless `verify` is `false`.
 *
 * @example Trusting a private CA
 * ```ts ignore
 * import { connect } from "../mod.ts";
 *
 * const ca = await Deno.readTextFile("ca.pem");
 * await using conn = await connect({ hostname: "localhost", port: 4433, tls: { caCerts: [ca] } });
 * ```
 */
export interface TlsConnectOptions {
  /** CA certificates to trust instead of the runtime's default roots. */
  caCerts?: string[];
  /**
   * The name sent for SNI and that the certificate must be valid for.
   * Defaults to the `hostname` connected to; required over a Unix socket.
   */
  serverName?: string;
  /**
   * `false` accepts any certificate for any name: for tests only. Deno
   * cannot turn verification off for one connection, and fails with
   * `EUNSUPPORTED`. Defaults to `true`.
   */
  verify?: boolean;
  /** ALPN protocols to offer, most preferred first. */
  alpnProtocols?: string[];
  /** A client certificate chain, for servers that ask for one (mutual TLS); with `key`. */
  cert?: string;
  /** The client certificate's private key. */
  key?: string;
}

/**
 * TLS for `listen()`, `serve()`, `serveLines()` and server-side
 * `startTls()`. Certificates and keys are PEM text.
 *
 * @example Serving the textbook's uppercase protocol over TLS
 * ```ts ignore
 * import { serveLines, uppercase } from "../mod.ts";
 *
 * const tls = { cert: await Deno.readTextFile("cert.pem"), key: await Deno.readTextFile("key.pem") };
 * await using server = await serveLines({ port: 4433, tls }, uppercase);
 * ```
 */
export interface TlsListenOptions {
  /** The certificate chain, the server's own first. */
  cert: string;
  /** Its private key. */
  key: string;
  /** ALPN protocols this server speaks, most preferred first. */
  alpnProtocols?: string[];
  /**
   * Requires a client certificate signed by one of these CAs (mutual TLS).
   * Deno cannot ask for client certificates, and fails with `EUNSUPPORTED`.
   */
  clientCaCerts?: string[];
  /**
   * Gives up a client's handshake after this many milliseconds (the failure
   * goes to `onError`). Defaults to 10000.
   */
  handshakeTimeout?: number;
}
