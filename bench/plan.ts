// What the bench measures: the servers, the scenarios, and the shapes of the
// results that run.ts records and report.ts renders.

/** The runtime a server runs on. */
export type RuntimeId = "deno" | "bun" | "node" | "python" | "c";

/** What a server is, for the comparisons. */
export type ServerKind = "doorway" | "base" | "native" | "nodenet" | "raw" | "python" | "ceiling";

export type ScenarioKind = "rr" | "bulk" | "cps" | "idle" | "udp";

/**
 * How a server is reached: TCP, UDP, TLS over TCP, or a Unix socket. A TLS
 * server gets its certificate's and key's PEM files after the port; a Unix
 * one a socket path instead of a port, which it prints once it listens.
 */
export type Proto = "tcp" | "udp" | "tls" | "unix";

/** One server program, started as `runtime file 0`. */
export interface ServerDef {
  id: string;
  label: string;
  runtime: RuntimeId;
  kind: ServerKind;
  proto: Proto;
  /** Relative to bench/servers/. */
  file: string;
  denoFlags?: string[];
  /** Scenario kinds this server sits out. */
  skip?: ScenarioKind[];
  /** Shown in the tables, but compared with nothing (an extra data point). */
  info?: boolean;
}

export interface Timing {
  /** Seconds of load per server and round that are checked but not counted. */
  warmup: number;
  /** Seconds measured per server and round. */
  duration: number;
  /** Seconds of load on a freshly started server before its first turn. */
  settle: number;
}

export interface Scenario {
  id: string;
  title: string;
  kind: ScenarioKind;
  proto: Proto;
  conns: number;
  depth: number;
  line: number;
  metric: "rps" | "mbps" | "cps" | "bytes";
  unit: string;
  higherIsBetter: boolean;
  quick: boolean;
  full: boolean;
  timing: Timing;
  quickTiming: Timing;
}

export interface Measurement {
  scenario: string;
  server: string;
  value: number;
  round?: number;
  p50_us?: number;
  p99_us?: number;
  loadgen_cpu?: number;
  /** The server's CPU time per request (bulk: per MB), user and system, in µs. */
  server_user_us?: number;
  server_sys_us?: number;
  /** CPUs' worth of other work on the machine during the measured window. */
  foreign_load?: number;
  /** How many times it was measured before the machine was quiet enough. */
  attempts?: number;
  rss_kib?: number;
  rss_before_kib?: number;
  rss_after_kib?: number;
  open_seconds?: number;
}

export interface RunInfo {
  mode: string;
  started: string;
  seconds: number;
  cpu: string;
  memory: string;
  kernel: string;
  /**
   * The guest's idle policy: cpuidle driver and, under haltpoll, how long an
   * idle vCPU polls before it halts. With no polling, most of a round trip at
   * one request in flight is spent outside the servers' work
   * (docs/performance.md, "How the bench measures"). Absent in runs made
   * before it was recorded.
   */
  idle?: string;
  versions: Record<string, string>;
  load: string;
  loadAfter?: string;
}

export interface Catalog {
  info: RunInfo;
  scenarios: Scenario[];
  servers: ServerDef[];
  measurements: Measurement[];
}

function tcp(
  runtime: RuntimeId,
  kind: ServerKind,
  file: string,
  label: string,
  extra: Partial<ServerDef> = {},
): ServerDef {
  return { id: `${runtime}-${kind}`, label, runtime, kind, proto: "tcp", file, ...extra };
}

function udp(
  runtime: RuntimeId,
  kind: ServerKind,
  file: string,
  label: string,
  extra: Partial<ServerDef> = {},
): ServerDef {
  return { id: `${runtime}-${kind}-udp`, label, runtime, kind, proto: "udp", file, ...extra };
}

function tls(runtime: RuntimeId, kind: ServerKind, file: string, label: string): ServerDef {
  // Deno reads the certificate and key.
  return { id: `${runtime}-${kind}-tls`, label, runtime, kind, proto: "tls", file, denoFlags: ["--allow-read"] };
}

function unix(runtime: RuntimeId): ServerDef {
  return {
    id: `${runtime}-doorway-unix`,
    label: "doorway serveLines on a Unix socket",
    runtime,
    kind: "doorway",
    proto: "unix",
    file: "doorway_unix.ts",
    denoFlags: ["--allow-read", "--allow-write"],
  };
}

const UNSTABLE_NET = ["--unstable-net"];

/**
 * The old core that the new one must keep up with: run.ts extracts the tree
 * at this commit into bench/out/base-BASE_COMMIT/ and runs its own doorway
 * servers next to today's, in the same rounds.
 */
export const BASE_COMMIT = "9a6b9e5";
const BASE_SERVERS = `../out/base-${BASE_COMMIT}/bench/servers/`;
// The old core is compared in request/reply and UDP only.
const BASE_SKIP: ScenarioKind[] = ["bulk", "cps", "idle"];

function base(runtime: RuntimeId, proto: "tcp" | "udp", extra: Partial<ServerDef> = {}): ServerDef {
  const [make, file, label] = proto === "tcp"
    ? [tcp, "doorway_lines.ts", "doorway serveLines"]
    : [udp, "doorway_udp.ts", "doorway serveDatagrams"];
  return make(runtime, "base", BASE_SERVERS + file, `${label}, old core (${BASE_COMMIT})`, {
    id: `${runtime}-doorway-base${proto === "udp" ? "-udp" : ""}`,
    skip: BASE_SKIP,
    ...extra,
  });
}

/** Every server, in the order the tables list them. */
export const SERVERS: ServerDef[] = [
  tcp("deno", "doorway", "doorway_lines.ts", "doorway serveLines"),
  base("deno", "tcp"),
  tcp("deno", "native", "deno_lines.ts", "Deno.listen, by hand"),
  tcp("deno", "nodenet", "node_lines.ts", "node:net, by hand"),
  tcp("deno", "raw", "deno_raw.ts", "Deno.listen, raw bytes"),
  unix("deno"),
  tcp("bun", "doorway", "doorway_lines.ts", "doorway serveLines"),
  base("bun", "tcp"),
  tcp("bun", "native", "bun_lines.ts", "Bun.listen, by hand"),
  tcp("bun", "nodenet", "node_lines.ts", "node:net, by hand"),
  tcp("bun", "raw", "bun_raw.ts", "Bun.listen, raw bytes"),
  unix("bun"),
  tcp("node", "doorway", "doorway_lines.ts", "doorway serveLines"),
  base("node", "tcp"),
  tcp("node", "native", "node_lines.ts", "node:net, by hand"),
  tcp("node", "raw", "node_raw.ts", "node:net, raw bytes"),
  unix("node"),
  tcp("python", "python", "py_threaded.py", "socketserver, threads", { id: "python-threaded" }),
  tcp("python", "python", "py_asyncio.py", "asyncio streams", { id: "python-asyncio" }),
  tcp("c", "ceiling", "c_raw", "C epoll, raw bytes (load generator ceiling)"),
  tls("deno", "doorway", "doorway_tls.ts", "doorway serveLines over TLS"),
  tls("deno", "native", "deno_tls.ts", "Deno.listenTls, by hand"),
  tls("bun", "doorway", "doorway_tls.ts", "doorway serveLines over TLS"),
  tls("bun", "native", "bun_tls.ts", "Bun.listen with tls, by hand"),
  tls("node", "doorway", "doorway_tls.ts", "doorway serveLines over TLS"),
  tls("node", "native", "node_tls.ts", "node:tls, by hand"),
  udp("deno", "doorway", "doorway_udp.ts", "doorway serveDatagrams (--unstable-net)", { denoFlags: UNSTABLE_NET }),
  base("deno", "udp", { denoFlags: UNSTABLE_NET }),
  udp("deno", "doorway", "doorway_udp.ts", "doorway serveDatagrams (no flag: node:dgram)", {
    id: "deno-doorway-udp-dgram",
    info: true,
  }),
  udp("deno", "raw", "deno_udp.ts", "Deno.listenDatagram, raw bytes", { denoFlags: UNSTABLE_NET }),
  udp("bun", "doorway", "doorway_udp.ts", "doorway serveDatagrams"),
  base("bun", "udp"),
  udp("bun", "raw", "bun_udp.ts", "Bun.udpSocket, raw bytes"),
  udp("node", "doorway", "doorway_udp.ts", "doorway serveDatagrams"),
  base("node", "udp"),
  udp("node", "raw", "node_udp.ts", "node:dgram, raw bytes"),
  udp("python", "python", "py_udp.py", "the textbook's UDPServer.py", { id: "python-udp" }),
  udp("c", "ceiling", "c_raw", "C recvfrom/sendto (load generator ceiling)"),
];

// A second of measured slices per server and round (see loadgen.c), six
// rounds per scenario (run.ts).
const RR_TIMING: Timing = { warmup: 0.25, duration: 1, settle: 1 };
const QUICK_TIMING: Timing = { warmup: 0.25, duration: 0.75, settle: 0.25 };

const OVER: Record<Proto, string> = { tcp: "", udp: "", tls: "over TLS, ", unix: "over a Unix socket, " };

function rr(conns: number, depth: number, quick: boolean, proto: Proto = "tcp"): Scenario {
  return {
    id: `${proto === "tcp" ? "" : `${proto}-`}rr-${conns}x${depth}`,
    title: `${OVER[proto]}${conns} connection${conns > 1 ? "s" : ""}, ${depth} in flight each`,
    kind: "rr",
    proto,
    conns,
    depth,
    line: 12,
    metric: "rps",
    unit: "req/s",
    higherIsBetter: true,
    quick,
    full: true,
    timing: { ...RR_TIMING },
    quickTiming: { ...QUICK_TIMING },
  };
}

function idle(conns: number, quick: boolean): Scenario {
  return {
    id: `idle-${conns}`,
    title: `memory per idle connection, ${conns.toLocaleString("en-US")} open`,
    kind: "idle",
    proto: "tcp",
    conns,
    depth: 1,
    line: 12,
    metric: "bytes",
    unit: "B/conn",
    higherIsBetter: false,
    quick,
    full: !quick,
    timing: { warmup: 0, duration: 0, settle: 0 },
    quickTiming: { warmup: 0, duration: 0, settle: 0 },
  };
}

function udpScenario(clients: number, quick: boolean): Scenario {
  return {
    id: `udp-${clients}`,
    title: `UDP, ${clients} client${clients > 1 ? "s" : ""}, 1 datagram in flight each`,
    kind: "udp",
    proto: "udp",
    conns: clients,
    depth: 1,
    line: 12,
    metric: "rps",
    unit: "req/s",
    higherIsBetter: true,
    quick,
    full: true,
    timing: { ...RR_TIMING },
    quickTiming: { ...QUICK_TIMING },
  };
}

/**
 * Whether a scenario loads a server. A Unix socket scenario loads doorway on
 * a Unix socket and doorway over TCP loopback, for their ratio.
 */
export function serves(s: Scenario, d: ServerDef): boolean {
  if (d.skip?.includes(s.kind)) return false;
  if (s.proto === "unix") return d.proto === "unix" || (d.proto === "tcp" && d.kind === "doorway");
  return d.proto === s.proto;
}

function bulk(proto: "tcp" | "tls"): Scenario {
  return {
    id: proto === "tcp" ? "bulk" : "tls-bulk",
    title: `${OVER[proto]}one connection streaming 1 KiB lines`,
    kind: "bulk",
    proto,
    conns: 1,
    depth: 0,
    line: 1024,
    metric: "mbps",
    unit: "MB/s",
    higherIsBetter: true,
    quick: false,
    full: true,
    timing: { ...RR_TIMING },
    quickTiming: { ...QUICK_TIMING },
  };
}

/** Every scenario, in the order they run. */
export const SCENARIOS: Scenario[] = [
  rr(1, 1, false),
  rr(1, 16, false),
  rr(32, 1, true),
  rr(32, 16, true),
  rr(256, 1, false),
  rr(256, 16, false),
  bulk("tcp"),
  {
    id: "cps",
    title: "connections per second (connect, one line, close), 32 at a time",
    kind: "cps",
    proto: "tcp",
    conns: 32,
    depth: 1,
    line: 12,
    metric: "cps",
    unit: "conn/s",
    higherIsBetter: true,
    quick: false,
    full: true,
    timing: { ...RR_TIMING },
    quickTiming: { ...QUICK_TIMING },
  },
  idle(10_000, false),
  idle(2_000, true),
  udpScenario(1, true),
  udpScenario(32, false),
  // TLS: doorway against the runtime's own TLS server by hand. Handshakes
  // happen before the load starts: these measure the record layer.
  rr(32, 1, false, "tls"),
  rr(32, 16, false, "tls"),
  bulk("tls"),
  rr(32, 16, false, "unix"),
];
