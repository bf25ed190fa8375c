// doorway's uppercase server on a Unix socket: serveLines() with `path`.
// Runs unchanged on Deno, Bun and Node. Prints the path once it listens.
// Usage: doorway_unix.ts PATH.
import process from "node:process";
import { serveLines, uppercase } from "../../mod.ts";

const server = await serveLines({ path: process.argv[2] }, uppercase);
console.log(server.addr.path);
