// doorway's uppercase server, exactly as the README shows it: serveLines().
// Runs unchanged on Deno, Bun and Node. Usage: doorway_lines.ts PORT (0: any).
import process from "node:process";
import { serveLines, uppercase } from "../../mod.ts";

const server = await serveLines({ hostname: "127.0.0.1", port: Number(process.argv[2] ?? 0) }, uppercase);
console.log(server.addr.port);
