// tests/conformance/ holds what a user of the package can rely on, so its files reach doorway through the public entry
// points only: an internal import there would test something no user can call.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

// Not from the fixtures: they load the library, and this test reads files only.
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** What a conformance file may import, as repository-relative paths: the package's exports, examples and fixtures. */
const PUBLIC = ["mod.ts", "tcp/mod.ts", "udp/mod.ts", "protocol/mod.ts", "cli.ts"];
const FIXTURES = ["tests/_helpers.ts", "tests/_runtimes.ts", "tests/_certs.ts", "tests/_tls_peers.ts"];

/** The imports of `source` (at repository-relative `file`) that a conformance file may not have. */
function nonPublicImports(file: string, source: string): string[] {
  const specifiers = [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g)].map((m) => m[1]);
  return specifiers.filter((specifier) => {
    if (specifier.startsWith("node:")) return false;
    if (!specifier.startsWith(".")) return true;
    const path = new URL(specifier, `file:///${file}`).pathname.slice(1);
    return !(PUBLIC.includes(path) || FIXTURES.includes(path) || path.startsWith("examples/"));
  });
}

describe("the conformance suite's imports", () => {
  test("tests/conformance/ reaches doorway through its public entry points only", () => {
    const dir = "tests/conformance/";
    const files = readdirSync(`${ROOT}${dir}`).filter((name) => name.endsWith(".ts"));
    assert.ok(files.length > 0);
    const found = files.flatMap((name) =>
      nonPublicImports(dir + name, readFileSync(`${ROOT}${dir}${name}`, "utf8")).map((s) => `${dir}${name}: ${s}`)
    );
    assert.deepEqual(found, []);
  });

  test("the rule catches what it is meant to", () => {
    const file = "tests/conformance/x.test.ts";
    const source = [
      'import { connect } from "../../mod.ts";',
      'import { bind } from "../../udp/mod.ts";',
      'import { main } from "../../cli.ts";',
      'import { startServer } from "../_helpers.ts";',
      'import assert from "node:assert/strict";',
      'import { runtimeName } from "../../runtime/select.ts";',
      'import { request } from "../../udp/request.ts";',
      'const late = await import("../../tcp/_tcp_conn.ts");',
      'import fc from "fast-check";',
    ].join("\n");
    assert.deepEqual(nonPublicImports(file, source), [
      "../../runtime/select.ts",
      "../../udp/request.ts",
      "../../tcp/_tcp_conn.ts",
      "fast-check",
    ]);
  });
});
