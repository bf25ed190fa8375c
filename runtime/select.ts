/**
 * Runtime detection, in one place. Adapters load lazily so that a runtime
 * never evaluates another runtime's adapter.
 *
 * @module
 */

import type { Runtime } from "./contract.ts";

/**
 * Names the runtime this code runs on. Deno and Bun both provide `process`
 * for Node compatibility, so their own globals are tested first.
 *
 * @example Naming the runtime
 * ```ts
 * import { runtimeName } from "./select.ts";
 *
 * if (!["deno", "bun", "node"].includes(runtimeName())) throw new Error("unknown runtime");
 * ```
 */
export function runtimeName(): Runtime["name"] {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (typeof g.Deno === "object" && g.Deno !== null) return "deno";
  if (typeof g.Bun === "object" && g.Bun !== null) return "bun";
  return "node";
}

let current: Promise<Runtime> | undefined;

/**
 * The adapter for the runtime this code runs on, loaded on first use.
 *
 * @example Getting the adapter
 * ```ts
 * import { currentRuntime } from "./select.ts";
 *
 * const runtime = await currentRuntime();
 * if (typeof runtime.listen !== "function") throw new Error("no listen");
 * ```
 */
export function currentRuntime(): Promise<Runtime> {
  current ??= loadRuntime(runtimeName());
  return current;
}

async function loadRuntime(name: Runtime["name"]): Promise<Runtime> {
  switch (name) {
    case "deno":
      return (await import("./deno/mod.ts")).runtime;
    case "bun":
      return (await import("./bun/mod.ts")).runtime;
    case "node":
      return (await import("./node/mod.ts")).runtime;
  }
}
