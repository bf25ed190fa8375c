// The README's API tour as a user copies it: every ```ts block of the "API tour" section, written as is to a
// file in the repository root (the blocks import "./mod.ts") and run under this runtime. Each must exit 0
// with nothing on stderr, and print what its `console.log(...); // X` comments say. Then the tour's server
// pattern, taken from the README as it stands, is hit by clients that reset mid-line: the process must live
// on and keep answering.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import {
  CURRENT_RUNTIME,
  killHard,
  type PeerMode,
  type Proc,
  ROOT,
  runPeer,
  runToEnd,
  spawnProc,
  START_MS,
  tcpExchange,
  TEST_TIMEOUT,
} from "./_field.ts";

const README = readFileSync(`${ROOT}README.md`, "utf8");

/** The ```ts blocks of the README's "## API tour" section, up to the next "## " heading. */
function tourBlocks(): string[] {
  const start = README.indexOf("\n## API tour\n");
  assert.ok(start >= 0, 'README.md has no "## API tour" section');
  const end = README.indexOf("\n## ", start + 1);
  const section = README.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * What a block must print, as one regular expression over its whole stdout, from the comments after its
 * `console.log(...)` calls, in order: `// "HELLO"` is the line HELLO, `// null: ...` or `// PING` the bare
 * value, `// { open, accepted }` an object with those numeric fields (after a first value, if any), however
 * the runtime lays it out.
 */
function expectedOutput(block: string): RegExp {
  const parts: string[] = [];
  for (const line of block.split("\n")) {
    if (!line.includes("console.log(")) continue;
    const comment = /\);\s*\/\/\s*(.*)$/.exec(line)?.[1];
    assert.ok(comment !== undefined, `no comment says what this prints: ${line.trim()}`);
    const quoted = /^"([^"]*)"/.exec(comment);
    const bare = /^(null|undefined|true|false|-?\d+|[A-Z][A-Z0-9_]*)\b/.exec(comment);
    const shape = /^\{ ([\w, ]+) \}/.exec(comment);
    if (quoted) parts.push(escapeRegExp(quoted[1]));
    else if (bare) parts.push(escapeRegExp(bare[1]));
    else if (shape) {
      const fields = shape[1].split(", ").map((key) => `${key}: \\d+`).join(",\\s*");
      parts.push(`(?:\\S+ )?\\{\\s*${fields},?\\s*\\}`);
    } else assert.fail(`cannot tell what this prints: ${line.trim()}`);
  }
  return new RegExp(`^${parts.map((part) => `${part}\n`).join("")}$`);
}

/** How the runtime running this file runs a TypeScript file of the repository root: all permissions for Deno. */
function runFile(file: string, cwd = ROOT): Proc {
  const path = `${ROOT}${file}`;
  switch (CURRENT_RUNTIME) {
    case "deno":
      return spawnProc(`${ROOT}node_modules/.bin/deno`, ["run", "-A", path], { cwd });
    case "bun":
      return spawnProc(`${ROOT}node_modules/.bin/bun`, [path], { cwd });
    case "node":
      // tsx by path: Node resolves --import from the working directory.
      return spawnProc("node", ["--import", `${ROOT}node_modules/tsx/dist/loader.mjs`, path], { cwd });
  }
}

/**
 * A directory to run a block in: with the `cert.pem` and `key.pem` that the README's own `openssl` command
 * makes, for a block that reads them.
 */
function blockDir(block: string): string {
  const dir = mkdtempSync(join(tmpdir(), "doorway-readme-"));
  if (block.includes("cert.pem")) {
    const command = /^openssl req .*$/m.exec(README)?.[0];
    assert.ok(command !== undefined, "the README has no openssl command that makes cert.pem");
    execFileSync("sh", ["-c", command], { cwd: dir, stdio: "ignore" });
  }
  return dir;
}

/** Writes `source` to a file of the repository root for as long as `use` runs, and removes it after. */
async function withRootFile<T>(name: string, source: string, use: (file: string) => Promise<T>): Promise<T> {
  const file = `_field_${name}_${process.pid}.ts`;
  writeFileSync(`${ROOT}${file}`, source);
  try {
    return await use(file);
  } finally {
    rmSync(`${ROOT}${file}`, { force: true });
  }
}

const BLOCKS = tourBlocks();

describe(`the README's API tour under ${CURRENT_RUNTIME}`, () => {
  it("has ts blocks to run", () => {
    assert.ok(BLOCKS.length > 0, "no ```ts block in the API tour");
  });

  BLOCKS.forEach((block, i) => {
    // Named by what it imports, such as "serveLines, uppercase".
    const imports = /^import \{ ([^}]*) \}/m.exec(block)?.[1] ?? "no imports";
    it(`block ${i + 1} (${imports}) runs and prints what its comments say`, TEST_TIMEOUT, async () => {
      const expected = expectedOutput(block);
      const dir = blockDir(block);
      await withRootFile(`readme_block_${i + 1}`, block, async (file) => {
        const proc = runFile(file, dir);
        const result = await runToEnd(proc, 20_000).finally(() => rmSync(dir, { recursive: true, force: true }));
        assert.equal(result.status, 0, proc.describe());
        assert.equal(result.stderr, "", proc.describe());
        assert.match(result.stdout, expected, proc.describe());
      });
    });
  });

  it("the tour's server pattern lives on when clients reset mid-line", TEST_TIMEOUT, async () => {
    // The tour's first block up to the end of its accept loop: the server as a user would copy it.
    const block = BLOCKS[0];
    const loop = block.indexOf("for await (const conn of listener)");
    const end = block.indexOf("\n})();\n", loop);
    assert.ok(loop >= 0 && end >= 0, `the first block has no accept loop ending in "})();":\n${block}`);
    const server = [
      'import process from "node:process";',
      block.slice(0, end + "\n})();\n".length),
      "console.log(`Listening on 127.0.0.1:${listener.addr.port}`);",
      "// Serves until the test closes stdin.",
      "for await (const _chunk of process.stdin);",
      "",
    ].join("\n");
    await withRootFile("readme_server", server, async (file) => {
      const proc = runFile(file);
      try {
        const port = Number((await proc.waitFor("stdout", /^Listening on 127\.0\.0\.1:(\d+)$/m, START_MS))[1]);
        const stages: PeerMode[] = ["partial", "pipeline", "connect", "partial"];
        for (const stage of stages) {
          await runPeer("127.0.0.1", port, stage);
          let reply;
          try {
            reply = await tcpExchange("127.0.0.1", port, "hello\n");
          } catch (err) {
            // The server's own account, once it has had a moment to print it.
            await proc.waitExit(2000).catch(() => {});
            throw new Error(`after a ${stage} reset: ${err instanceof Error ? err.message : err}\n${proc.describe()}`);
          }
          assert.equal(reply, "HELLO\n", proc.describe());
          assert.equal(proc.status(), undefined, `the server died after a ${stage} reset\n${proc.describe()}`);
        }
        proc.endInput();
        assert.equal(await proc.waitExit(10_000), 0, proc.describe());
      } finally {
        await killHard(proc);
      }
    });
  });
});
