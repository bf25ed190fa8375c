#!/usr/bin/env node
// npm's `doorway` command. Node (20) runs no TypeScript by itself: register tsx's
// loader, then run cli.ts. Deno and Bun run cli.ts directly.
import process from "node:process";
import { register } from "tsx/esm/api";

register();
const { main } = await import("../cli.ts");
process.exit(await main(process.argv.slice(2)));
