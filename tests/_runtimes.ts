// How to start a program under each runtime, for the cross-runtime tests.
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** The three runtimes doorway supports. */
export const RUNTIMES = ["deno", "bun", "node"] as const;
export type RuntimeId = typeof RUNTIMES[number];

/**
 * The command that runs `file` (relative to the repository root) under
 * `runtime`, as the README tells users to run it.
 */
export function runtimeCommand(runtime: RuntimeId, file: string, args: string[] = []): [string, string[]] {
  switch (runtime) {
    case "deno":
      return [`${ROOT}node_modules/.bin/deno`, ["run", "--allow-net", file, ...args]];
    case "bun":
      return [`${ROOT}node_modules/.bin/bun`, [file, ...args]];
    case "node":
      return ["node", ["--import", "tsx", file, ...args]];
  }
}

/** Whether this suite runs under Node: the slow cross-runtime matrices run once, there. */
export const UNDER_NODE: boolean = !("Deno" in globalThis) && !("Bun" in globalThis) && !!process.versions.node;
