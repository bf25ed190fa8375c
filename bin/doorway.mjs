#!/usr/bin/env node
// npm's `doorway` command. The package ships TypeScript, and Node runs none inside node_modules (its type
// stripping refuses it): tsx's loader must be installed next to doorway. Deno and Bun run cli.ts directly.
import process from "node:process";

if (!("Deno" in globalThis) && !("Bun" in globalThis)) {
  let api;
  try {
    api = await import("tsx/esm/api");
  } catch (err) {
    if (err?.code !== "ERR_MODULE_NOT_FOUND") throw err;
    console.error("Cannot run doorway on Node: it needs tsx (npm install tsx)");
    process.exit(1);
  }
  api.register();
}
const { main } = await import("../cli.ts");
process.exit(await main(process.argv.slice(2)));
