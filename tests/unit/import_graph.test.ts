// The layering, read from the import graph as Deno resolves it (`deno info --json`), so that it cannot drift from
// what the README says: data flows runtime/ → tcp/, udp/ → servers; protocol/ stays pure; only runtime/ touches a
// runtime's sockets, and only runtime/runtime.ts picks an adapter.
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

const ADAPTERS = ["runtime/deno.ts", "runtime/bun.ts", "runtime/node.ts"];
const SOCKET_MODULES = ["node:net", "node:dgram", "node:dns", "node:tls"];

/** Why an edge breaks the layering, or `undefined`. */
function violation([from, to]: [string, string]): string | undefined {
  const under = (dir: string, path: string) => path.startsWith(dir);
  if (["examples/", "tests/", "bench/"].some((dir) => under(dir, to))) return "library code imports a non-library file";
  if (under("protocol/", from) && !(under("protocol/", to) || to === "socket_error.ts")) {
    return "protocol/ imports beyond protocol/ and socket_error.ts";
  }
  if (under("runtime/", from) && !(under("runtime/", to) || to === "socket_error.ts" || to.startsWith("node:"))) {
    return "runtime/ imports a layer above it";
  }
  if (!under("runtime/", from) && SOCKET_MODULES.includes(to)) return "a runtime's sockets used outside runtime/";
  if (ADAPTERS.includes(to) && !under("runtime/", from)) return "an adapter imported outside runtime/";
  return undefined;
}

describe("the import graph", () => {
  test("follows the layering: runtime/ → tcp/, udp/; protocol/ pure; sockets and adapters only in runtime/", () => {
    const edges = importEdges(["mod.ts", "cli.ts"]);
    // The graph is really there: the adapters are reached, through runtime.ts.
    for (const adapter of ADAPTERS) {
      assert.ok(edges.some(([from, to]) => from === "runtime/runtime.ts" && to === adapter));
    }
    const broken = edges.flatMap((edge) => {
      const why = violation(edge);
      return why === undefined ? [] : [`${edge[0]} → ${edge[1]}: ${why}`];
    });
    assert.deepEqual(broken, []);
  });

  test("the rules catch what they are meant to", () => {
    assert.equal(violation(["tcp/conn.ts", "runtime/node.ts"]), "an adapter imported outside runtime/");
    assert.equal(violation(["udp/request.ts", "node:dgram"]), "a runtime's sockets used outside runtime/");
    assert.equal(
      violation(["protocol/line_decoder.ts", "tcp/conn.ts"]),
      "protocol/ imports beyond protocol/ and socket_error.ts",
    );
    assert.equal(violation(["runtime/node.ts", "tcp/conn.ts"]), "runtime/ imports a layer above it");
    assert.equal(violation(["cli.ts", "examples/_args.ts"]), "library code imports a non-library file");
    assert.equal(violation(["tcp/connect.ts", "runtime/runtime.ts"]), undefined);
  });
});
