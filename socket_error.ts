/**
 * The one error class doorway throws, with a `code` that is the same for the
 * same fault on Deno, Bun and Node.
 *
 * @module
 */

/**
 * Stable error codes. Each names one fault, whichever runtime saw it.
 *
 * - `ECONNREFUSED`: nothing listens at the address.
 * - `EADDRINUSE`: the address is already bound.
 * - `EADDRNOTAVAIL`: the address is not one of this machine's.
 * - `ECONNRESET`: the peer reset the connection.
 * - `EPIPE`: writing to a connection the peer has closed.
 * - `ETIMEDOUT`: a `timeout` ran out.
 * - `EABORTED`: an `AbortSignal` fired.
 * - `ECLOSED`: the socket was closed by this side, before or during the call.
 * - `ENOTFOUND`: the hostname does not resolve.
 * - `EACCES`: not permitted (a privileged port, a missing Deno permission).
 * - `EMSGSIZE`: a datagram larger than the socket can send.
 * - `EMFILE`: out of file descriptors, for this process or the whole system.
 * - `ELINETOOLONG`: a line longer than `maxLineBytes`.
 * - `EFRAMETOOLONG`: a frame longer than `maxFrameBytes`.
 * - `EPROTO`: the peer broke the framing, such as ending the stream inside a frame, or
 *   sent plaintext that would be left unread when TLS starts.
 * - `ENOENT`: no Unix socket file at the path.
 * - `ECERTUNTRUSTED`: the TLS peer's certificate is not signed by a trusted CA (self-signed, say).
 * - `ECERTNAME`: the TLS server's certificate is not valid for the name asked for.
 * - `ECERTEXPIRED`: the TLS peer's certificate has expired or is not valid yet.
 * - `ETLSHANDSHAKE`: the TLS handshake failed otherwise: the peer aborted it, refused
 *   this side's certificate (or its lack of one), or shares no protocol with it.
 * - `ENOTTLS`: the peer does not speak TLS.
 * - `EUNSUPPORTED`: this runtime cannot do what was asked; the message says what.
 * - `EINVAL`: an argument out of range.
 * - `EUNKNOWN`: a runtime error doorway does not recognise; see `cause`.
 */
export type SocketErrorCode =
  | "ECONNREFUSED"
  | "EADDRINUSE"
  | "EADDRNOTAVAIL"
  | "ECONNRESET"
  | "EPIPE"
  | "ETIMEDOUT"
  | "EABORTED"
  | "ECLOSED"
  | "ENOTFOUND"
  | "EACCES"
  | "EMSGSIZE"
  | "EMFILE"
  | "ELINETOOLONG"
  | "EFRAMETOOLONG"
  | "EPROTO"
  | "ENOENT"
  | "ECERTUNTRUSTED"
  | "ECERTNAME"
  | "ECERTEXPIRED"
  | "ETLSHANDSHAKE"
  | "ENOTTLS"
  | "EUNSUPPORTED"
  | "EINVAL"
  | "EUNKNOWN";

/** Options for {@linkcode SocketError}. */
export interface SocketErrorOptions {
  /** The runtime error this one stands for. */
  cause?: unknown;
  /** For `ELINETOOLONG` and `EFRAMETOOLONG`: the limit exceeded, in bytes. */
  limit?: number;
}

/**
 * An error from a doorway socket. Match on `code`, never on `message`.
 *
 * @example Telling a refused connection apart
 * ```ts
 * import { SocketError } from "./socket_error.ts";
 *
 * const err = new SocketError("ECONNREFUSED", "Cannot connect to 127.0.0.1:9: connection refused");
 * if (!(err instanceof SocketError) || err.code !== "ECONNREFUSED") throw new Error("unexpected");
 * ```
 */
export class SocketError extends Error {
  /** The stable code for this fault. */
  readonly code: SocketErrorCode;
  /** For `ELINETOOLONG` and `EFRAMETOOLONG`: the limit exceeded, in bytes. */
  readonly limit?: number;

  /**
   * Makes an error with a code and a message such as
   * `Cannot connect to 127.0.0.1:9: connection refused`.
   */
  constructor(code: SocketErrorCode, message: string, options?: SocketErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SocketError";
    this.code = code;
    if (options?.limit !== undefined) this.limit = options.limit;
  }
}

const REASONS: Record<SocketErrorCode, string> = {
  ECONNREFUSED: "connection refused",
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "address not available",
  ECONNRESET: "connection reset by peer",
  EPIPE: "connection closed by peer",
  ETIMEDOUT: "timed out",
  EABORTED: "aborted",
  ECLOSED: "socket is closed",
  ENOTFOUND: "host not found",
  EACCES: "permission denied",
  EMSGSIZE: "message too long",
  EMFILE: "too many open files",
  ELINETOOLONG: "line too long",
  EFRAMETOOLONG: "frame too long",
  EPROTO: "protocol error",
  ENOENT: "no such socket file",
  ECERTUNTRUSTED: "certificate not trusted",
  ECERTNAME: "certificate not valid for this name",
  ECERTEXPIRED: "certificate expired or not yet valid",
  ETLSHANDSHAKE: "TLS handshake failed",
  ENOTTLS: "peer does not speak TLS",
  EUNSUPPORTED: "not supported on this runtime",
  EINVAL: "invalid argument",
  EUNKNOWN: "unknown error",
};

// Deno reports faults as error classes; Node and Bun as errno strings.
const DENO_NAMES: Record<string, SocketErrorCode> = {
  ConnectionRefused: "ECONNREFUSED",
  AddrInUse: "EADDRINUSE",
  AddrNotAvailable: "EADDRNOTAVAIL",
  ConnectionReset: "ECONNRESET",
  ConnectionAborted: "ECONNRESET",
  BrokenPipe: "EPIPE",
  TimedOut: "ETIMEDOUT",
  PermissionDenied: "EACCES",
  NotCapable: "EACCES",
  BadResource: "ECLOSED",
  Interrupted: "ECLOSED",
  NotConnected: "ECLOSED",
  NotFound: "ENOENT",
  // A TLS peer that closed mid-handshake (after it, Deno's adapter reports an end of stream).
  UnexpectedEof: "ECONNRESET",
};

const ERRNO_CODES: Record<string, SocketErrorCode> = {
  ECONNREFUSED: "ECONNREFUSED",
  EADDRINUSE: "EADDRINUSE",
  EADDRNOTAVAIL: "EADDRNOTAVAIL",
  ECONNRESET: "ECONNRESET",
  ECONNABORTED: "ECONNRESET",
  EPIPE: "EPIPE",
  ETIMEDOUT: "ETIMEDOUT",
  EACCES: "EACCES",
  EPERM: "EACCES",
  ENOTFOUND: "ENOTFOUND",
  EAI_AGAIN: "ENOTFOUND",
  EAI_NONAME: "ENOTFOUND",
  EMSGSIZE: "EMSGSIZE",
  EMFILE: "EMFILE",
  ENFILE: "EMFILE",
  ERR_SOCKET_CLOSED: "ECLOSED",
  ERR_STREAM_DESTROYED: "ECLOSED",
  ERR_SOCKET_DGRAM_NOT_RUNNING: "ECLOSED",
  EBADF: "ECLOSED",
  ENOTCONN: "ECLOSED",
  ERR_STREAM_WRITE_AFTER_END: "EPIPE",
  ABORT_ERR: "EABORTED",
  ENOENT: "ENOENT",
  // TLS, as Node and Bun name OpenSSL's verification results and failures.
  DEPTH_ZERO_SELF_SIGNED_CERT: "ECERTUNTRUSTED",
  SELF_SIGNED_CERT_IN_CHAIN: "ECERTUNTRUSTED",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "ECERTUNTRUSTED",
  UNABLE_TO_GET_ISSUER_CERT: "ECERTUNTRUSTED",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "ECERTUNTRUSTED",
  CERT_UNTRUSTED: "ECERTUNTRUSTED",
  CERT_SIGNATURE_FAILURE: "ECERTUNTRUSTED",
  ERR_TLS_CERT_ALTNAME_INVALID: "ECERTNAME",
  HOSTNAME_MISMATCH: "ECERTNAME",
  CERT_HAS_EXPIRED: "ECERTEXPIRED",
  CERT_NOT_YET_VALID: "ECERTEXPIRED",
  ERR_SSL_WRONG_VERSION_NUMBER: "ENOTTLS",
  ERR_SSL_HTTP_REQUEST: "ENOTTLS",
  ERR_SSL_PACKET_LENGTH_TOO_LONG: "ENOTTLS",
  ERR_SSL_RECORD_LAYER_FAILURE: "ENOTTLS",
  ERR_TLS_HANDSHAKE_TIMEOUT: "ETIMEDOUT",
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: "ETLSHANDSHAKE",
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: "ETLSHANDSHAKE",
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: "ETLSHANDSHAKE",
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: "ETLSHANDSHAKE",
  ERR_SSL_TLSV1_ALERT_CERTIFICATE_REQUIRED: "ETLSHANDSHAKE",
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: "ETLSHANDSHAKE",
  ERR_SSL_NO_APPLICATION_PROTOCOL: "ETLSHANDSHAKE",
  ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL: "ETLSHANDSHAKE",
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: "ETLSHANDSHAKE",
  ERR_SSL_UNSUPPORTED_PROTOCOL: "ETLSHANDSHAKE",
  ERR_SSL_NO_SHARED_CIPHER: "ETLSHANDSHAKE",
  ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR: "ETLSHANDSHAKE",
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: "ETLSHANDSHAKE",
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: "ETLSHANDSHAKE",
  ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR: "ETLSHANDSHAKE",
};

/** Picks the stable code for any error a runtime throws. */
function codeOf(err: unknown): SocketErrorCode {
  if (err instanceof SocketError) return err.code;
  if (typeof err !== "object" || err === null) return "EUNKNOWN";
  const { code, name, message } = err as { code?: unknown; name?: unknown; message?: unknown };
  // Bun gives OpenSSL's failures the code EPROTO, naming the reason only
  // in the message, as BoringSSL words it.
  if (code === "EPROTO" && typeof message === "string") {
    const reason = /OPENSSL_internal:([A-Z0-9_]+)/.exec(message)?.[1];
    if (reason !== undefined) return ERRNO_CODES[`ERR_SSL_${reason}`] ?? "ETLSHANDSHAKE";
  }
  if (typeof code === "string" && code in ERRNO_CODES) return ERRNO_CODES[code];
  if (typeof name === "string" && name in DENO_NAMES) return DENO_NAMES[name];
  if (name === "AbortError") return "EABORTED";
  if (name === "TimeoutError") return "ETIMEDOUT";
  // Some runtime errors carry the errno only in the message text.
  if (typeof message === "string") {
    const m = /\b(E[A-Z]{3,})\b/.exec(message);
    if (m && m[1] in ERRNO_CODES) return ERRNO_CODES[m[1]];
    if (/connection refused/i.test(message)) return "ECONNREFUSED";
    if (/address already in use/i.test(message)) return "EADDRINUSE";
    if (/connection reset/i.test(message)) return "ECONNRESET";
    if (/broken pipe/i.test(message)) return "EPIPE";
    if (/message too long/i.test(message)) return "EMSGSIZE";
    // Deno's TLS (rustls) names verification failures only in the message.
    // (rustls has named them both ways: `NotValidForName`, `certificate not valid for name`.)
    const peer = /invalid peer certificate: (.*)/.exec(message)?.[1];
    if (peer !== undefined) {
      if (/expired|not ?valid ?yet/i.test(peer)) return "ECERTEXPIRED";
      if (/not ?valid ?for ?name/i.test(peer)) return "ECERTNAME";
      // Also a CA certificate served as the server's own (CaUsedAsEndEntity),
      // which Node and Bun accept but rustls never does.
      return "ECERTUNTRUSTED";
    }
    if (/received corrupt message|InvalidContentType/.test(message)) return "ENOTTLS";
    if (
      /received fatal alert|peer sent no certificates|peer is incompatible|doesn't support any known protocol/.test(
        message,
      )
    ) return "ETLSHANDSHAKE";
    if (/(failed to lookup|name or service not known|no address associated)/i.test(message)) {
      return "ENOTFOUND";
    }
  }
  return "EUNKNOWN";
}

/**
 * Formats `host:port`, bracketing IPv6 literals as URLs do, or a Unix
 * socket's path.
 *
 * @example Formatting an IPv6 address
 * ```ts
 * import { formatAddress } from "./socket_error.ts";
 *
 * if (formatAddress({ hostname: "::1", port: 80 }) !== "[::1]:80") throw new Error("unexpected");
 * ```
 */
export function formatAddress(addr: { hostname: string; port: number } | { path: string }): string {
  // The client side of a Unix socket usually has no name.
  if ("path" in addr) return addr.path === "" ? "unnamed Unix socket" : addr.path;
  return addr.hostname.includes(":") ? `[${addr.hostname}]:${addr.port}` : `${addr.hostname}:${addr.port}`;
}

/** Where a {@linkcode socketError} happened: the action and the address. */
export interface SocketErrorContext {
  /** What was being done, such as `connect to` or `listen on`. */
  action: string;
  /** The address it was done to, already formatted. */
  address: string;
  /** Replaces the standard reason text, such as `timed out after 200 ms`. */
  reason?: string;
}

/**
 * Turns whatever a runtime threw into a {@linkcode SocketError} whose message
 * names the action and the address; a SocketError passes through unchanged.
 *
 * @example Wrapping a runtime error
 * ```ts
 * import { socketError } from "./socket_error.ts";
 *
 * const err = socketError(Object.assign(new Error("x"), { code: "ECONNREFUSED" }), {
 *   action: "connect to",
 *   address: "127.0.0.1:9",
 * });
 * if (err.message !== "Cannot connect to 127.0.0.1:9: connection refused") throw new Error(err.message);
 * ```
 */
export function socketError(err: unknown, context: SocketErrorContext): SocketError {
  if (err instanceof SocketError) return err;
  const code = codeOf(err);
  let reason = context.reason ?? REASONS[code];
  if (code === "EUNKNOWN" && context.reason === undefined && err instanceof Error) reason = err.message;
  // Deno's own permission check fails with NotCapable (the OS refusing is
  // PermissionDenied): the message says how to grant it.
  if (context.reason === undefined && (err as { name?: unknown } | null)?.name === "NotCapable") {
    // Unix sockets and certificate files need more than --allow-net.
    const flag = /--allow-(read|write)\b/.exec(err instanceof Error ? err.message : "")?.[0] ?? "--allow-net";
    reason = `${REASONS.EACCES} (run Deno with ${flag})`;
  }
  return new SocketError(code, `Cannot ${context.action} ${context.address}: ${reason}`, { cause: err });
}
