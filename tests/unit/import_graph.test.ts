// The layering, read from the import graph as Deno resolves it (`deno info --json`), so that it cannot drift from
// what the README says: adapters (runtime/<runtime>/) implement runtime/contract.ts, and data flows from them through
// tcp/, udp/ to the servers; protocol/ stays pure; only runtime/ touches a runtime's sockets, only runtime/select.ts
// picks an adapter, and only the servers use push mode.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import process from "node:process";
import { describe, test } from "node:test";
import { ROOT } from "../_runtimes.ts";

interface Module {
  specifier: string;
  dependencies?: { specifier: string; code?: { specifier: string }; type?: { specifier: string } }[];
}

/** Every import edge reachable from `roots`, as [from, to]: repository-relative paths, or `node:` names. */
function importEdges(roots: string[]): [string, string][] {
  const edges: [string, string][] = [];
  for (const root of roots) {
    const out = execFileSync(`${ROOT}node_modules/.bin/deno`, ["info", "--json", root], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
    });
    const { modules } = JSON.parse(out) as { modules: Module[] };
    const local = (specifier: string) =>
      specifier.startsWith("file://") ? new URL(specifier).pathname.slice(ROOT.length) : specifier;
    for (const module of modules) {
      if (!module.specifier.startsWith("file://")) continue;
      for (const dependency of module.dependencies ?? []) {
        for (const target of [dependency.code?.specifier, dependency.type?.specifier]) {
          if (target !== undefined) edges.push([local(module.specifier), local(target)]);
        }
      }
    }
  }
  return edges;
}

const RUNTIMES = ["deno", "bun", "node"];
const SOCKET_MODULES = ["node:net", "node:dgram", "node:dns", "node:tls"];
// What an adapter may import besides its own folder and the runtime's modules.
const ADAPTER_IMPORTS = ["runtime/contract.ts", "socket_error.ts", "addr.ts"];
// The places one runtime's adapter borrows another's, each for a reason
// written where it happens: Bun's cancellable connect, plain or TLS, is
// node:net's and node:tls's, Bun's socket files are handled through node:fs,
// and Deno without --unstable-net has UDP only through node:dgram.
const BORROWED = [
  "runtime/bun/tcp.ts → runtime/node/tcp.ts",
  "runtime/bun/tls.ts → runtime/node/tls.ts",
  "runtime/bun/tcp.ts → runtime/node/unix.ts",
  "runtime/bun/mod.ts → runtime/node/unix.ts",
  "runtime/deno/udp.ts → runtime/node/udp.ts",
];
// Push mode (tcp/_push.ts) is offered by the connection and the listener, and used by the servers only.
const PUSH_USERS = ["tcp/_tcp_conn.ts", "tcp/_tcp_listener.ts", "tcp/_tcp_server.ts", "tcp/_answer_lines.ts"];

/** Why an edge breaks the layering, or `undefined`. */
function violation([from, to]: [string, string]): string | undefined {
  const under = (dir: string, path: string) => path.startsWith(dir);
  const adapterOf = (path: string) => RUNTIMES.find((rt) => under(`runtime/${rt}/`, path));
  if (["examples/", "tests/", "bench/"].some((dir) => under(dir, to))) return "library code imports a non-library file";
  if (under("protocol/", from) && !(under("protocol/", to) || to === "socket_error.ts")) {
    return "protocol/ imports beyond protocol/ and socket_error.ts";
  }
  const adapter = adapterOf(from);
  if (adapter !== undefined) {
    const allowed = to.startsWith("node:") || ADAPTER_IMPORTS.includes(to) || adapterOf(to) === adapter ||
      BORROWED.includes(`${from} → ${to}`);
    return allowed ? undefined : "an adapter imports beyond the contract";
  }
  if (under("runtime/", from) && !(under("runtime/", to) || ADAPTER_IMPORTS.includes(to))) {
    return "runtime/ imports a layer above it";
  }
  if (!under("runtime/", from) && SOCKET_MODULES.includes(to)) return "a runtime's sockets used outside runtime/";
  if (!under("runtime/", from) && under("runtime/", to) && !["runtime/contract.ts", "runtime/select.ts"].includes(to)) {
    return "an adapter imported outside runtime/";
  }
  if (to === "tcp/_push.ts" && !PUSH_USERS.includes(from)) return "push mode used outside the servers";
  if ((under("tcp/", from) && under("udp/", to)) || (under("udp/", from) && under("tcp/", to))) {
    return "tcp/ and udp/ import each other";
  }
  return undefined;
}

describe("the import graph", () => {
  test("follows the layering: adapters → contract → tcp/, udp/ → servers; protocol/ pure", () => {
    const edges = importEdges(["mod.ts", "cli.ts"]);
    // The graph is really there: the adapters are reached, through select.ts.
    for (const runtime of RUNTIMES) {
      assert.ok(edges.some(([from, to]) => from === "runtime/select.ts" && to === `runtime/${runtime}/mod.ts`));
    }
    const broken = edges.flatMap((edge) => {
      const why = violation(edge);
      return why === undefined ? [] : [`${edge[0]} → ${edge[1]}: ${why}`];
    });
    assert.deepEqual(broken, []);
  });

  test("the rules catch what they are meant to", () => {
    assert.equal(violation(["tcp/conn.ts", "runtime/node/tcp.ts"]), "an adapter imported outside runtime/");
    assert.equal(violation(["runtime/node/tcp.ts", "runtime/deno/tcp.ts"]), "an adapter imports beyond the contract");
    assert.equal(violation(["runtime/bun/tcp.ts", "runtime/node/tcp.ts"]), undefined);
    assert.equal(violation(["tcp/connect.ts", "tcp/_push.ts"]), "push mode used outside the servers");
    assert.equal(violation(["udp/request.ts", "tcp/conn.ts"]), "tcp/ and udp/ import each other");
    assert.equal(violation(["udp/request.ts", "node:dgram"]), "a runtime's sockets used outside runtime/");
    assert.equal(
      violation(["protocol/line_decoder.ts", "tcp/conn.ts"]),
      "protocol/ imports beyond protocol/ and socket_error.ts",
    );
    assert.equal(violation(["runtime/node/tcp.ts", "tcp/conn.ts"]), "an adapter imports beyond the contract");
    assert.equal(violation(["runtime/select.ts", "tcp/conn.ts"]), "runtime/ imports a layer above it");
    assert.equal(violation(["cli.ts", "examples/_args.ts"]), "library code imports a non-library file");
    assert.equal(violation(["tcp/connect.ts", "runtime/select.ts"]), undefined);
  });
});
