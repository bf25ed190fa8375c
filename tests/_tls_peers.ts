// TLS peers that doorway did not write: openssl s_server and s_client, and Python's ssl module (_tls_peer.py),
// speaking the textbook protocol (a line in, the line uppercased out; s_server -rev answers it reversed). Each
// starts on port 0 (or a temporary Unix path), says where it listens, and is stopped by the test that started it.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { SocketError } from "../mod.ts";
import type { CertPair } from "./_certs.ts";
import { type Child, startChild } from "./_helpers.ts";

const PEER = fileURLToPath(new URL("./_tls_peer.py", import.meta.url));

/** A peer server running for a test. */
export interface PeerServer {
  /** The port it listens on (0 for a Unix socket). */
  port: number;
  /** The next line it printed: one per connection, see _tls_peer.py. */
  nextLine(): Promise<string>;
  /** Everything it printed on stderr so far. */
  stderr(): string;
  /** Stops it; resolves with its exit code (or the signal's name). */
  stop(): Promise<number | string>;
}

/** Options for {@linkcode startPythonServer}. */
export interface PythonServerOptions {
  /** `lines` (the default), `starttls`, `starttls-extra`, `close-in-handshake`, `plaintext-reply`, `close-after-line`. */
  mode?: "lines" | "starttls" | "starttls-extra" | "close-in-handshake" | "plaintext-reply" | "close-after-line";
  /** Serves TLS from the first byte (mode `lines`). */
  tls?: boolean;
  /** The server's certificate: for `tls`, and for TLS after STARTTLS. */
  cert?: CertPair;
  /** Requires a client certificate signed by this CA (mutual TLS). */
  clientCa?: CertPair;
  /** ALPN protocols it speaks. */
  alpn?: string[];
  /** Listens on this Unix socket path instead of a TCP port. */
  unix?: string;
  /** The address to bind; 127.0.0.1 by default. */
  host?: string;
}

/** Starts `_tls_peer.py server`; resolves once it listens. */
export async function startPythonServer(options: PythonServerOptions = {}): Promise<PeerServer> {
  const args = [PEER, "server", "--mode", options.mode ?? "lines"];
  if (options.tls) args.push("--tls");
  if (options.cert) args.push("--cert", options.cert.certPath, "--key", options.cert.keyPath);
  if (options.clientCa) args.push("--client-ca", options.clientCa.certPath);
  if (options.alpn) args.push("--alpn", options.alpn.join(","));
  if (options.unix) args.push("--unix", options.unix);
  if (options.host) args.push("--host", options.host);
  const child = startChild("python3", args);
  const ready = await child.nextLine();
  const match = /^ready (.+)$/.exec(ready);
  if (!match) throw new Error(`the Python server did not start: ${ready} ${child.stderr()}`);
  return {
    port: options.unix ? 0 : Number(match[1]),
    nextLine: () => child.nextLine(),
    stderr: () => child.stderr(),
    stop() {
      child.endInput();
      return child.exited;
    },
  };
}

/** Options for {@linkcode runPythonClient}. */
export interface PythonClientOptions {
  /** The port to connect to, on `host`. */
  port?: number;
  /** The host; 127.0.0.1 by default. */
  host?: string;
  /** Connects to this Unix socket instead. */
  unix?: string;
  /** TLS from the first byte. */
  tls?: boolean;
  /** A plaintext round trip ("before"), then STARTTLS, then TLS. */
  starttls?: boolean;
  /** The CA to trust. */
  ca?: CertPair;
  /** The name to verify and send for SNI; `localhost` by default. */
  serverName?: string;
  /** A client certificate to present. */
  cert?: CertPair;
  /** ALPN protocols to offer. */
  alpn?: string[];
  /** Lines to send, one after another, each waiting for its reply. */
  send?: string[];
  /** Ends with a reset instead of a close. */
  reset?: boolean;
  /** TLS that reads to the server's close_notify, never answers it, and says whether a FIN follows. */
  silentClose?: boolean;
  /** A ClientHello, then nothing: says when the server answered, then when it closed (see _tls_peer.py). */
  stallHandshake?: boolean;
}

/** What a finished client printed, and how it ended. */
export interface ClientResult {
  /** Its stdout, line by line. */
  lines: string[];
  /** Its stderr. */
  stderr: string;
  /** Its exit code. */
  code: number;
}

/** Runs `_tls_peer.py client` to the end. */
export function runPythonClient(options: PythonClientOptions): Promise<ClientResult> {
  return run("python3", clientArgs(options));
}

/** Starts `_tls_peer.py client`, for a test that reads what it prints as it goes. */
export function startPythonClient(options: PythonClientOptions): Child {
  return startChild("python3", clientArgs(options));
}

function clientArgs(options: PythonClientOptions): string[] {
  const args = [PEER, "client"];
  if (options.unix) args.push("--unix", options.unix);
  else args.push("--host", options.host ?? "127.0.0.1", "--port", String(options.port));
  if (options.tls) args.push("--tls");
  if (options.starttls) args.push("--starttls");
  if (options.ca) args.push("--ca", options.ca.certPath);
  if (options.serverName) args.push("--server-name", options.serverName);
  if (options.cert) args.push("--cert", options.cert.certPath, "--key", options.cert.keyPath);
  if (options.alpn) args.push("--alpn", options.alpn.join(","));
  for (const line of options.send ?? []) args.push("--send", line);
  if (options.reset) args.push("--reset");
  if (options.silentClose) args.push("--silent-close");
  if (options.stallHandshake) args.push("--stall-handshake");
  return args;
}

/** Runs a command to the end, collecting its output. */
function run(command: string, args: string[]): Promise<ClientResult> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      resolve({ lines: String(stdout).split("\n").filter((line) => line !== ""), stderr: String(stderr), code });
    });
  });
}

/** Options for {@linkcode startOpensslServer}. */
export interface OpensslServerOptions {
  /** The server's certificate. */
  cert: CertPair;
  /** ALPN protocols it speaks. */
  alpn?: string[];
  /** Requires a client certificate signed by this CA. */
  clientCa?: CertPair;
}

/**
 * Starts `openssl s_server -rev` on 127.0.0.1, port 0: it answers each line with the line reversed (`hello` ->
 * `olleh`). Resolves once it listens.
 */
export async function startOpensslServer(options: OpensslServerOptions): Promise<PeerServer> {
  const args = ["s_server", "-accept", "127.0.0.1:0", "-rev", "-cert", options.cert.certPath];
  args.push("-key", options.cert.keyPath);
  if (options.alpn) args.push("-alpn", options.alpn.join(","));
  if (options.clientCa) args.push("-Verify", "1", "-verify_return_error", "-CAfile", options.clientCa.certPath);
  const child = startChild("openssl", args);
  // It may print other lines first ("Using default temp DH parameters").
  for (let line = await child.nextLine();; line = await child.nextLine()) {
    const match = /^ACCEPT 127\.0\.0\.1:(\d+)$/.exec(line);
    if (match) return opensslServer(child, Number(match[1]));
    if (line.startsWith("<exited")) throw new Error(`openssl s_server did not start: ${line}`);
  }
}

function opensslServer(child: Child, port: number): PeerServer {
  return {
    port,
    nextLine: () => child.nextLine(),
    stderr: () => child.stderr(),
    stop() {
      child.kill("SIGTERM");
      return child.exited;
    },
  };
}

/** Options for {@linkcode startOpensslClient}. */
export interface OpensslClientOptions {
  /** The port on 127.0.0.1. */
  port: number;
  /** The CA to trust. */
  ca: CertPair;
  /** The name to verify and send for SNI; `localhost` by default. */
  serverName?: string;
  /** ALPN protocols to offer. */
  alpn?: string[];
  /** A client certificate to present. */
  cert?: CertPair;
}

/**
 * Starts `openssl s_client`, quiet, failing on any verification error: what the test writes to it goes to the
 * server, and its stdout lines are what the server sent. Ending its input ends the connection.
 */
export function startOpensslClient(options: OpensslClientOptions): Child {
  const serverName = options.serverName ?? "localhost";
  const args = ["s_client", "-connect", `127.0.0.1:${options.port}`, "-servername", serverName];
  args.push("-verify_hostname", serverName, "-CAfile", options.ca.certPath, "-verify_return_error");
  args.push("-quiet", "-no_ign_eof");
  if (options.alpn) args.push("-alpn", options.alpn.join(","));
  if (options.cert) args.push("-cert", options.cert.certPath, "-key", options.cert.keyPath);
  return startChild("openssl", args);
}

/** Errors reported to an `onError` callback, to be waited for one by one. */
export interface ErrorLog {
  /** The callback to pass as `onError`. */
  onError: (error: unknown) => void;
  /**
   * Resolves with the next error reported (at once if one is waiting); rejects if none comes within `timeout`
   * milliseconds (10000 by default), so that a missing report fails the test instead of hanging it.
   */
  next(timeout?: number): Promise<unknown>;
  /** Errors reported and not yet taken with `next()`. */
  pending: unknown[];
}

/** An `onError` callback that keeps what it hears. */
export function errorLog(): ErrorLog {
  const pending: unknown[] = [];
  const waiting: Array<(error: unknown) => void> = [];
  return {
    onError(error) {
      const waiter = waiting.shift();
      if (waiter) waiter(error);
      else pending.push(error);
    },
    next(timeout = 10_000) {
      if (pending.length > 0) return Promise.resolve(pending.shift());
      return new Promise((resolve, reject) => {
        const waiter = (error: unknown) => {
          clearTimeout(timer);
          resolve(error);
        };
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(waiter), 1);
          reject(new Error(`no error reported to onError within ${timeout} ms`));
        }, timeout);
        waiting.push(waiter);
      });
    },
    pending,
  };
}

/** The code of a SocketError, or a description of what else it is, for assertions. */
export function codeOf(error: unknown): string {
  return error instanceof SocketError ? error.code : `not a SocketError: ${error}`;
}

/** An error's code, message and cause (the runtime's own error), for assertion messages. */
export function explain(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { name?: string; code?: string; message?: string } | undefined;
  const parts = [`${(error as { code?: string }).code ?? error.name}: ${error.message}`];
  if (cause !== undefined) parts.push(`cause: ${cause.name} ${cause.code ?? ""} ${cause.message}`);
  return parts.join("; ");
}
