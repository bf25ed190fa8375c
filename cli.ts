// The `doorway` command: the textbook's socket programs, done properly, as one command.
// - tcp-server: serveLines() over serve() (tcp/serve_lines.ts, tcp/serve.ts): many clients, limits, idle
//   timeout; SIGINT/SIGTERM shut down gracefully, a second signal closes every connection now. --tls serves TLS
//   (listen()'s `tls`, PEM read from --cert and --key), --unix a Unix socket (listen()'s `path`).
// - tcp-client: LineClient (tcp/line_client.ts) pipelines stdin's lines over one connection and matches replies
//   in order; connect() with a timeout (tcp/connect.ts), over TLS with --tls (verification on unless --insecure:
//   the same `verify: false` that Deno refuses with EUNSUPPORTED), or to a Unix socket with --unix.
// - Files named on the command line (--cert, --key, --ca) are read before any socket is opened: a file that
//   cannot be read is one line naming it, exit 1, as a port that cannot be bound is; exit 2 is for what the
//   command line alone shows to be wrong.
// - udp-server: serveDatagrams() (udp/serve_datagrams.ts), which nothing a client sends can stop.
// - udp-client: request() (udp/request.ts) waits --timeout ms and resends --retries times, from a socket of its
//   own for each line, so that a late reply to one line is never taken for the next line's.
// - ping: the pinger of examples/udp_ping.ts, same wire format (`Ping SEQ MILLIS`), over one socket (bind(),
//   udp/datagram_socket.ts); request()'s `accept` matches the sequence number, so a late reply is never taken for
//   the next ping's.
// - HOST may be a name: looked up once (runtime/), as TCP does; the servers' --hostname too.
// - Errors: SocketError's message names the action and the address (socket_error.ts): one line on stderr, exit 1.
//   Bad arguments: one line on stderr, exit 2.
// - The services: uppercase() (protocol/uppercase.ts), or echo.

/**
 * The `doorway` command: TCP, TLS, Unix socket and UDP servers, clients and a pinger, the same on Deno, Bun and
 * Node.
 *
 * ```sh
 * deno run --allow-net jsr:@doorway/sockets/cli tcp-server --port 12000     # Listening on tcp 0.0.0.0:12000 …
 * printf 'hello\nworld\n' | bun cli.ts tcp-client 127.0.0.1 12000            # HELLO, WORLD
 * node --import tsx cli.ts tcp-server --tls --cert cert.pem --key key.pem --port 12443
 * printf 'hello\n' | bun cli.ts tcp-client localhost 12443 --tls --ca ca.pem   # HELLO
 * deno run --allow-net --allow-read --allow-write cli.ts tcp-server --unix /tmp/doorway.sock
 * node --import tsx cli.ts udp-server --service echo --port 12001
 * deno run --allow-net cli.ts ping 127.0.0.1 12001 --count 4                 # … 4 received, 0% packet loss
 * ```
 *
 * Commands: `tcp-server`, `udp-server` (`--hostname`, `--port`, `--service upper|echo`), `tcp-client HOST PORT`,
 * `udp-client HOST PORT` (each line of stdin out, each reply on stdout), `ping HOST PORT` (`--count`,
 * `--timeout`, `--interval`, `--json`). `tcp-server` and `tcp-client` speak TLS with `--tls` (the server with
 * `--cert` and `--key`, the client with `--ca`, `--servername`, `--insecure`), and use a Unix socket with
 * `--unix PATH`. `doorway --help` and `doorway <command> --help` say more.
 *
 * Deno needs `--allow-read` for the certificate files, and `--allow-read --allow-write` for `--unix`; it cannot
 * turn verification off (`--insecure`) nor speak TLS over a Unix socket, and says so (`EUNSUPPORTED`, exit 1).
 *
 * Exit status: 0 on success, 1 when the network fails or a file cannot be read (the error's message on stderr),
 * 2 for bad arguments.
 *
 * Importing this module runs nothing: {@linkcode main} runs the command for an argument list.
 *
 * @module
 */

import { readFileSync, realpathSync } from "node:fs";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs, type ParseArgsConfig } from "node:util";
import {
  bind,
  type ConnectOptions,
  formatAddress,
  LineClient,
  request,
  serveDatagrams,
  serveLines,
  SocketError,
  type TlsConnectOptions,
  type TlsListenOptions,
  type UnixConnectOptions,
  uppercase,
} from "./mod.ts";
import { currentRuntime } from "./runtime/select.ts";
import { lookupHost as lookupName } from "./udp/_lookup.ts";
import { explainArgsError } from "./_args_error.ts";
import { ErrorLog } from "./_error_log.ts";
import { reportRejections } from "./_rejection_log.ts";

/** The version, the same as deno.json's (a test checks): the CLI reads no file at run time. */
export const VERSION = "0.1.0";

const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
const MAX_INT = 2 ** 31 - 1;
// The TCP client's pipelining window: replies owed at most, before it waits.
const MAX_IN_FLIGHT = 1024;
const PROMPT = "Input lowercase sentence: ";

/** Bad arguments: the message is printed as is, and the exit code is 2. */
class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig["options"]>;

const decoder = new TextDecoder();

const SERVICES = {
  upper: { line: uppercase, datagram: (data: Uint8Array): Uint8Array | string => uppercase(decoder.decode(data)) },
  echo: { line: (line: string): string => line, datagram: (data: Uint8Array): Uint8Array | string => data },
};
type ServiceName = keyof typeof SERVICES;

const HELP = `doorway ${VERSION}: TCP, TLS, Unix and UDP sockets, the same on Deno, Bun and Node

Usage: doorway <command> [options]

Commands:
  tcp-server              serve lines over TCP, TLS (--tls) or a Unix socket (--unix): each line gets a reply
                          line (uppercase or echo)
  udp-server              answer datagrams over UDP (uppercase or echo)
  tcp-client HOST PORT    send each line of stdin over one TCP or TLS (--tls) connection; print each reply
  tcp-client --unix PATH  the same over a Unix socket
  udp-client HOST PORT    send each line of stdin as a datagram; print each reply
  ping HOST PORT          ping a UDP server (udp-server, or the textbook's pinger server)

Options:
  -h, --help              show this help; doorway <command> --help shows a command's
  -V, --version           print the version

Exit status: 0 on success, 1 when the network fails (refused, timed out, certificate not trusted) or a file
cannot be read, 2 for bad arguments.
Run with: deno run --allow-net cli.ts …, bun cli.ts … or node --import tsx cli.ts … (Deno also needs
--allow-read for certificate files, and --allow-read --allow-write for --unix)`;

const SERVER_HELP = `  --hostname ADDR         the address to listen on (default: 0.0.0.0; :: for IPv6)
  --port N                the port, 0 for any free one (default: 12000)
  --service upper|echo    reply with what was sent uppercased, or as is (default: upper)`;

const COMMAND_HELP = {
  "tcp-server": `Usage: doorway tcp-server [options]

Serves a line protocol over TCP: every line a client sends gets one reply line, many clients at once.
Prints "Listening on tcp ADDR:PORT (service: NAME)", with the real port when --port is 0; with --tls
"Listening on tls ADDR:PORT (…)"; with --unix "Listening on unix PATH (…)", and "Listening on tls+unix PATH (…)"
with both.
Ctrl-C or SIGTERM stops it gracefully (lines received get their replies); a second one closes every connection now.

Options:
${SERVER_HELP}
  --unix PATH             listen on a Unix socket at PATH instead of --hostname and --port; a socket file left
                          there by a server that is gone is replaced, and the file is removed on exit
  --tls                   serve TLS, with --cert and --key; clients that fail the handshake are logged on stderr
  --cert FILE             the certificate chain (PEM), the server's own certificate first
  --key FILE              its private key (PEM)
  --max-connections N     connections served at once; more get an end of stream at once, and counted on
                          stderr at most once a second (default: 16384)
  --max-line-bytes N      the longest line accepted; a longer one is refused and its connection closed
                          (default: 65536)
  --idle-timeout MS       close a connection after this long with no traffic; 0 never (default: 0)
  --graceful-timeout MS   on shutdown, how long connections get to finish before being closed (default: 10000)
  -h, --help              show this help

A file that cannot be read is one line on stderr and exit 1. Deno needs --allow-read to read --cert and --key,
and --allow-read --allow-write for --unix; it cannot serve TLS over a Unix socket, and says so (exit 1).`,
  "udp-server": `Usage: doorway udp-server [options]

Answers every datagram with one datagram. Prints "Listening on udp ADDR:PORT (service: NAME)", with the real
port when --port is 0. Ctrl-C or SIGTERM stops it.

Options:
${SERVER_HELP}
  -h, --help              show this help`,
  "tcp-client": `Usage: doorway tcp-client HOST PORT [options]
       doorway tcp-client --unix PATH [options]

Sends each line of stdin over one TCP connection and prints each reply line, in order. Lines are pipelined:
many are in flight at once. On a terminal it prompts for each line, like the textbook's client.

Options:
  --unix PATH             connect to the Unix socket at PATH instead of HOST and PORT
  --tls                   connect over TLS, like openssl s_client: the server's certificate must be signed by
                          one of the runtime's default CAs (or --ca's) and valid for HOST (or --servername)
  --ca FILE               trust the CA certificates in this PEM file instead of the default ones (with --tls)
  --servername NAME       the name sent to the server (SNI) and verified, instead of HOST; required for --tls
                          with --unix
  --insecure              accept any certificate for any name, for tests only (with --tls); Deno cannot
  --timeout MS            give up connecting, or waiting for a reply, after this long (default: 5000)
  -h, --help              show this help

A certificate that fails verification is one line and exit 1: "Cannot connect to HOST:PORT: certificate not
trusted" (or "certificate not valid for this name", "certificate expired or not yet valid"). A --ca file that cannot be read is
one line, exit 1. Deno needs --allow-read for --ca, and --allow-read --allow-write for --unix; it cannot do
--insecure, nor TLS over a Unix socket, and says so (exit 1).`,
  "udp-client": `Usage: doorway udp-client HOST PORT [options]

Sends each line of stdin as one datagram and prints each reply, one line at a time. HOST is an IP address or a name.
On a terminal it prompts for each line, like the textbook's client.

Options:
  --timeout MS            how long each try waits for the reply (default: 1000)
  --retries N             how many times to resend when a try times out (default: 2)
  -h, --help              show this help`,
  "ping": `Usage: doorway ping HOST PORT [options]

Pings a UDP server that answers each datagram with the same text, or uppercased: doorway udp-server, or the
textbook's UDP pinger server. Prints one line per ping, then a summary like ping's. HOST is an IP address or a name.
Exits 0 when any reply came, 1 when none did. Ctrl-C stops early, with the summary.

Options:
  --count N               how many pings (default: 4)
  --timeout MS            how long each ping waits for its reply (default: 1000)
  --interval MS           the time from one ping to the next (default: 1000)
  --json                  print one JSON object instead: { host, port, count, received, loss (percent),
                          rtt: { min, avg, max } or null, pings: [{ seq, time (ms) or null }] }
  -h, --help              show this help`,
};
type CommandName = keyof typeof COMMAND_HELP;

const HELP_OPTION = { help: { type: "boolean", short: "h" } } as const;

const GLOBAL_OPTIONS = { ...HELP_OPTION, version: { type: "boolean", short: "V" } } as const;

const SERVER_OPTIONS = {
  hostname: { type: "string", default: "0.0.0.0" },
  port: { type: "string", default: "12000" },
  service: { type: "string", default: "upper" },
  ...HELP_OPTION,
} as const;

// --hostname and --port without defaults here: given with --unix, they are a mistake to report.
const TCP_SERVER_OPTIONS = {
  ...SERVER_OPTIONS,
  hostname: { type: "string" },
  port: { type: "string" },
  "max-connections": { type: "string", default: "16384" },
  "max-line-bytes": { type: "string", default: "65536" },
  "idle-timeout": { type: "string", default: "0" },
  "graceful-timeout": { type: "string", default: "10000" },
  unix: { type: "string" },
  tls: { type: "boolean", default: false },
  cert: { type: "string" },
  key: { type: "string" },
} as const;

const TCP_CLIENT_OPTIONS = {
  timeout: { type: "string", default: "5000" },
  unix: { type: "string" },
  tls: { type: "boolean", default: false },
  ca: { type: "string" },
  servername: { type: "string" },
  insecure: { type: "boolean", default: false },
  ...HELP_OPTION,
} as const;

const UDP_CLIENT_OPTIONS = {
  timeout: { type: "string", default: "1000" },
  retries: { type: "string", default: "2" },
  ...HELP_OPTION,
} as const;

const PING_OPTIONS = {
  count: { type: "string", default: "4" },
  timeout: { type: "string", default: "1000" },
  interval: { type: "string", default: "1000" },
  json: { type: "boolean", default: false },
  ...HELP_OPTION,
} as const;

const COMMANDS: Record<CommandName, (args: string[]) => Promise<number>> = {
  "tcp-server": tcpServer,
  "udp-server": udpServer,
  "tcp-client": tcpClient,
  "udp-client": udpClient,
  "ping": ping,
};

// Settles once everything written so far has reached stdout. Bun calls a write's callback only once its bytes
// are out, but an empty write's at once, and process.exit() drops what is still queued: main awaits this.
let flushed: Promise<void> = Promise.resolve();

function write(text: string): void {
  flushed = new Promise((resolve) => process.stdout.write(text, () => resolve()));
}

function print(line: string): void {
  write(line + "\n");
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Parses strictly; a mistake becomes a {@linkcode UsageError} naming the culprit. */
function parse<T extends Options>(command: string, options: T, args: string[]) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(`${explainArgsError(err, { options, args })}; see ${command} --help`);
  }
}

function expectPositionals(command: CommandName, names: string[], given: string[]): string[] {
  if (given.length > names.length) {
    throw new UsageError(`Unexpected argument "${given[names.length]}"; see doorway ${command} --help`);
  }
  if (given.length < names.length) {
    throw new UsageError(`Missing ${names.slice(given.length).join(" and ")}; see doorway ${command} --help`);
  }
  return given;
}

function integer(name: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) {
    throw new UsageError(`Invalid ${name} "${text}": must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** A port to listen on may be 0 (any free one); one to send to may not. */
function portOf(text: string, min: 0 | 1): number {
  return integer("port", text, min, 65535);
}

function serviceOf(text: string): ServiceName {
  if (text === "upper" || text === "echo") return text;
  throw new UsageError(`Invalid --service "${text}": must be upper or echo`);
}

/** `--first` given with `--second`, which it excludes, is a mistake. */
function exclude(command: CommandName, first: [string, unknown], second: [string, unknown]): void {
  if (first[1] === undefined || first[1] === false || second[1] === undefined || second[1] === false) return;
  throw new UsageError(
    `Options "--${first[0]}" and "--${second[0]}" exclude each other; see doorway ${command} --help`,
  );
}

/** `--name`, given, needs `--tls`. */
function needTls(command: CommandName, tls: boolean, given: Record<string, unknown>): void {
  if (tls) return;
  for (const [name, value] of Object.entries(given)) {
    if (value !== undefined && value !== false) {
      throw new UsageError(`Option "--${name}" needs --tls; see doorway ${command} --help`);
    }
  }
}

// Why a file could not be read, in the words of socket_error.ts's reasons.
const READ_REASONS: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EISDIR: "is a directory",
};

/**
 * The PEM text of the file `--option` names, read before any socket is opened. A file that cannot be read, or
 * holds no PEM, is one line naming it (exit 1, like an address that cannot be bound).
 */
function readPem(option: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const { name, code } = err as { name?: unknown; code?: unknown };
    // Deno's own permission check throws NotCapable, with no errno code.
    const reason = name === "NotCapable"
      ? "permission denied (run Deno with --allow-read)"
      : READ_REASONS[String(code)] ?? (typeof code === "string" ? code : messageOf(err).split("\n")[0]);
    throw new Error(`Cannot read --${option} ${path}: ${reason}`);
  }
  if (!text.includes("-----BEGIN ")) throw new Error(`Cannot read --${option} ${path}: not PEM text`);
  return text;
}

/** Calls `stop(force)` on SIGINT and SIGTERM, `force` from the second signal on; returns the unsubscribe. */
function onStopSignals(stop: (force: boolean) => void): () => void {
  let signals = 0;
  const handler = () => stop(signals++ > 0);
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}

/** The wildcard address of `host`'s family, for a UDP socket that sends to it. */
function wildcardFor(host: string): string {
  return host.includes(":") ? "::" : "0.0.0.0";
}

/**
 * The IP address a UDP client's HOST stands for, looked up once, as TCP would (the hosts file included): every
 * datagram then goes to, and every reply is matched against, that one address.
 */
async function lookupHost(hostname: string, port: number): Promise<string> {
  return await lookupName(await currentRuntime(), hostname, { action: "request from", port });
}

async function tcpServer(args: string[]): Promise<number> {
  const { values, positionals } = parse("doorway tcp-server", TCP_SERVER_OPTIONS, args);
  if (values.help) return help(COMMAND_HELP["tcp-server"]);
  expectPositionals("tcp-server", [], positionals);
  exclude("tcp-server", ["unix", values.unix], ["hostname", values.hostname]);
  exclude("tcp-server", ["unix", values.unix], ["port", values.port]);
  needTls("tcp-server", values.tls, { cert: values.cert, key: values.key });
  if (values.tls && (values.cert === undefined || values.key === undefined)) {
    const missing = [values.cert === undefined && "--cert FILE", values.key === undefined && "--key FILE"];
    const needs = missing.filter((option) => option !== false).join(" and ");
    throw new UsageError(`Option "--tls" needs ${needs}; see doorway tcp-server --help`);
  }
  const service = serviceOf(values.service);
  const where = values.unix !== undefined
    ? { path: values.unix }
    : { hostname: values.hostname ?? "0.0.0.0", port: portOf(values.port ?? "12000", 0) };
  const maxConnections = integer("--max-connections", values["max-connections"], 1, MAX_INT);
  const limits = {
    maxConnections,
    maxLineBytes: integer("--max-line-bytes", values["max-line-bytes"], 1, MAX_INT),
    idleTimeout: integer("--idle-timeout", values["idle-timeout"], 0, MAX_INT),
    gracefulTimeout: integer("--graceful-timeout", values["graceful-timeout"], 0, MAX_INT),
  };
  // Read once every argument is known good: a usage error never waits on a file.
  const tls: TlsListenOptions | undefined = values.tls
    ? { cert: readPem("cert", values.cert!), key: readPem("key", values.key!) }
    : undefined;
  const errors = new ErrorLog((line) => console.error(line));
  const server = await serveLines({
    ...where,
    ...limits,
    tls,
    onError: (err: unknown) => {
      // Peers that reset or go away mid-reply are part of serving: a line each would flood the log.
      if (err instanceof SocketError && (err.code === "ECONNRESET" || err.code === "EPIPE")) return;
      errors.report(err);
    },
  }, SERVICES[service].line);
  const stopReporting = reportRejections(server, { maxConnections, write: (line) => console.error(line) });
  const unsubscribe = onStopSignals((force) => {
    const { open } = server.stats;
    if (!force && open > 0) {
      console.error(`Stopping: finishing ${open} open connection(s); signal again to close them now`);
    }
    // Failures surface through `finished`, awaited below.
    server.close({ force }).catch(() => {});
  });
  // Only once a signal would stop it cleanly: whoever reads this line may send one at once.
  const transport = "path" in server.addr ? (tls ? "tls+unix" : "unix") : (tls ? "tls" : "tcp");
  print(`Listening on ${transport} ${formatAddress(server.addr)} (service: ${service})`);
  try {
    await server.finished;
  } finally {
    unsubscribe();
    stopReporting();
    errors.flush();
  }
  return 0;
}

async function udpServer(args: string[]): Promise<number> {
  const { values, positionals } = parse("doorway udp-server", SERVER_OPTIONS, args);
  if (values.help) return help(COMMAND_HELP["udp-server"]);
  expectPositionals("udp-server", [], positionals);
  const service = serviceOf(values.service);
  const errors = new ErrorLog((line) => console.error(line));
  const server = await serveDatagrams({
    hostname: values.hostname,
    port: portOf(values.port, 0),
    // A peer can make every datagram fail (a reply too large to send): at most a line a second.
    onError: (err) => errors.report(err),
  }, SERVICES[service].datagram);
  const unsubscribe = onStopSignals(() => server.close());
  print(`Listening on udp ${formatAddress(server.addr)} (service: ${service})`);
  try {
    await server.finished;
  } finally {
    unsubscribe();
    errors.flush();
  }
  return 0;
}

function stdinLines() {
  return createInterface({ input: process.stdin, crlfDelay: Infinity });
}

async function tcpClient(args: string[]): Promise<number> {
  const { values, positionals } = parse("doorway tcp-client", TCP_CLIENT_OPTIONS, args);
  if (values.help) return help(COMMAND_HELP["tcp-client"]);
  const path = values.unix;
  const [hostname, portText] = expectPositionals("tcp-client", path === undefined ? ["HOST", "PORT"] : [], positionals);
  const port = path === undefined ? portOf(portText, 1) : 0;
  needTls("tcp-client", values.tls, { ca: values.ca, servername: values.servername, insecure: values.insecure });
  exclude("tcp-client", ["ca", values.ca], ["insecure", values.insecure]);
  if (values.servername === "") throw new UsageError('Invalid --servername "": must not be empty');
  if (values.tls && path !== undefined && values.servername === undefined) {
    throw new UsageError('Option "--tls" with --unix needs --servername NAME; see doorway tcp-client --help');
  }
  const timeout = integer("--timeout", values.timeout, 1, MAX_INT);
  let tls: TlsConnectOptions | undefined;
  if (values.tls) {
    tls = { serverName: values.servername };
    if (values.ca !== undefined) tls.caCerts = [readPem("ca", values.ca)];
    if (values.insecure) tls.verify = false;
  }
  const options: ConnectOptions | UnixConnectOptions = path === undefined
    ? { hostname, port, timeout, tls }
    : { path, timeout, tls };
  // Connect first: a refused connection, or a certificate not trusted, is reported before any input is read.
  const client = await LineClient.connect(options);
  const input = stdinLines();
  try {
    if (process.stdin.isTTY) {
      // One at a time, as typed: prompt, send, print the reply.
      write(PROMPT);
      for await (const line of input) {
        print(`From Server: ${await client.request(line, { timeout })}`);
        write(PROMPT);
      }
      write("\n");
      return 0;
    }
    // Piped: every line goes out as soon as read; replies are printed in order as they come.
    let fail!: (err: unknown) => void;
    const failed = new Promise<never>((_, reject) => (fail = reject));
    failed.catch(() => {});
    let printed: Promise<void> = Promise.resolve();
    const window: Promise<void>[] = [];
    const lines = input[Symbol.asyncIterator]();
    for (;;) {
      const next = await Promise.race([lines.next(), failed]);
      if (next.done) break;
      const reply = client.request(next.value, { timeout });
      reply.catch(() => {}); // Awaited in turn, below.
      printed = printed.then(() => reply).then(print);
      printed.catch(fail);
      window.push(printed);
      if (window.length >= MAX_IN_FLIGHT) await window.shift();
    }
    await printed;
    return 0;
  } finally {
    input.close();
    client.close();
  }
}

async function udpClient(args: string[]): Promise<number> {
  const { values, positionals } = parse("doorway udp-client", UDP_CLIENT_OPTIONS, args);
  if (values.help) return help(COMMAND_HELP["udp-client"]);
  const [hostname, portText] = expectPositionals("udp-client", ["HOST", "PORT"], positionals);
  const port = portOf(portText, 1);
  const timeout = integer("--timeout", values.timeout, 1, MAX_INT);
  const retries = integer("--retries", values.retries, 0, MAX_INT);
  const interactive = process.stdin.isTTY === true;
  const to = { hostname: await lookupHost(hostname, port), port };
  const input = stdinLines();
  try {
    if (interactive) write(PROMPT);
    for await (const line of input) {
      // No socket: request() binds one for this line alone, so that replies to earlier lines, however late,
      // go to sockets already closed. One socket for all would take them for this line's reply.
      const reply = decoder.decode((await request(line, { to, timeout, retries })).data);
      print(interactive ? `From Server: ${reply}` : reply);
      if (interactive) write(PROMPT);
    }
    if (interactive) write("\n");
    return 0;
  } finally {
    input.close();
  }
}

/** One ping's outcome: its round-trip time in ms, or null when no reply came in time. */
interface PingResult {
  seq: number;
  time: number | null;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

const round3 = (ms: number) => Math.round(ms * 1000) / 1000;

async function ping(args: string[]): Promise<number> {
  const { values, positionals } = parse("doorway ping", PING_OPTIONS, args);
  if (values.help) return help(COMMAND_HELP.ping);
  const [hostname, portText] = expectPositionals("ping", ["HOST", "PORT"], positionals);
  const port = portOf(portText, 1);
  const count = integer("--count", values.count, 1, MAX_INT);
  const timeout = integer("--timeout", values.timeout, 1, MAX_INT);
  const interval = integer("--interval", values.interval, 0, MAX_INT);
  const json = values.json;

  const stopped = new AbortController();
  const unsubscribe = onStopSignals(() => stopped.abort());
  const results: PingResult[] = [];
  try {
    const to = { hostname: await lookupHost(hostname, port), port };
    await using socket = await bind({ hostname: wildcardFor(to.hostname) });
    for (let seq = 1; seq <= count && !stopped.signal.aborted; seq++) {
      const sentAt = performance.now();
      let time: number | null = null;
      let from = hostname;
      try {
        // The same wire format as examples/udp_ping.ts; the reply may be uppercased.
        const reply = await request(`Ping ${seq} ${Date.now()}`, {
          socket,
          to,
          timeout,
          retries: 0,
          signal: stopped.signal,
          accept: (reply) => decoder.decode(reply.data).split(" ")[1] === String(seq),
        });
        time = performance.now() - sentAt;
        from = reply.remote.hostname;
      } catch (err) {
        if (!(err instanceof SocketError)) throw err;
        // Interrupted: this ping was sent, and gets no line of its own (as with ping).
        if (err.code === "EABORTED") {
          results.push({ seq, time: null });
          break;
        }
        if (err.code !== "ETIMEDOUT") throw err;
      }
      results.push({ seq, time });
      const line = time === null
        ? `Request timed out: seq=${seq}`
        : `Reply from ${from}: seq=${seq} time=${time.toFixed(2)} ms`;
      if (!json) print(line);
      if (seq < count) await sleep(interval - (performance.now() - sentAt), stopped.signal);
    }
  } finally {
    unsubscribe();
  }

  const sent = results.length;
  const rtts = results.flatMap(({ time }) => time === null ? [] : [time]);
  const received = rtts.length;
  const loss = sent === 0 ? 0 : Math.round(((sent - received) / sent) * 1000) / 10;
  const rtt = received === 0 ? null : {
    min: Math.min(...rtts),
    avg: rtts.reduce((sum, time) => sum + time, 0) / received,
    max: Math.max(...rtts),
  };
  if (json) {
    print(JSON.stringify({
      host: hostname,
      port,
      count: sent,
      received,
      loss,
      rtt: rtt && { min: round3(rtt.min), avg: round3(rtt.avg), max: round3(rtt.max) },
      pings: results.map(({ seq, time }) => ({ seq, time: time === null ? null : round3(time) })),
    }));
  } else {
    print(`--- ${hostname} ping statistics ---`);
    print(`${sent} packets transmitted, ${received} received, ${loss}% packet loss`);
    if (rtt) print(`rtt min/avg/max = ${rtt.min.toFixed(2)}/${rtt.avg.toFixed(2)}/${rtt.max.toFixed(2)} ms`);
  }
  // Like ping: failure when no reply came at all.
  return received > 0 ? 0 : EXIT_FAILURE;
}

function help(text: string): number {
  print(text);
  return 0;
}

async function run(args: string[]): Promise<number> {
  const [first, ...rest] = args;
  if (first === undefined) throw new UsageError("Missing command; see doorway --help");
  if (first.startsWith("-")) {
    const { values, positionals } = parse("doorway", GLOBAL_OPTIONS, args);
    if (positionals.length > 0) throw new UsageError(`Unexpected argument "${positionals[0]}"; see doorway --help`);
    if (values.version) return help(`doorway ${VERSION}`);
    if (values.help) return help(HELP);
    throw new UsageError("Missing command; see doorway --help");
  }
  if (!Object.hasOwn(COMMANDS, first)) throw new UsageError(`Unknown command "${first}"; see doorway --help`);
  return await COMMANDS[first as CommandName](rest);
}

/**
 * Runs the `doorway` command with `args` (the arguments after the command's name) and resolves with its exit
 * status once what it printed is flushed: 0 for success, 1 for a network failure, 2 for bad arguments. Errors
 * are printed as one line on stderr, never thrown.
 *
 * @example Printing the version
 * ```ts
 * import { main } from "./cli.ts";
 *
 * if ((await main(["--version"])) !== 0) throw new Error("no version");
 * ```
 */
export async function main(args: string[]): Promise<number> {
  // A reader that went away (`doorway … | head -1`) is no failure worth a stack trace.
  const onStdoutError = (err: Error & { code?: string }) => {
    if (err.code === "EPIPE") process.exit(0);
  };
  process.stdout.on("error", onStdoutError);
  let code: number;
  try {
    code = await run(args);
  } catch (err) {
    console.error(messageOf(err));
    // EINVAL is an argument out of range.
    code = err instanceof UsageError || (err instanceof SocketError && err.code === "EINVAL")
      ? EXIT_USAGE
      : EXIT_FAILURE;
  }
  await flushed;
  process.stdout.off("error", onStdoutError);
  return code;
}

/** Whether this module is the program being run, rather than imported. */
function isEntryPoint(): boolean {
  // Deno and Bun say so; Node says so from 24.2 (22.18) on.
  const { main: isMain } = import.meta as { main?: boolean };
  if (typeof isMain === "boolean") return isMain;
  // Older Node (with tsx): the script named on the command line, symlinks resolved as the loader does.
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

// No top-level await: the module stays loadable where that is unsupported (CommonJS output).
if (isEntryPoint()) void main(process.argv.slice(2)).then((code) => process.exit(code));
