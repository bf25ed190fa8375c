// doorway's UDP uppercase server, as examples/udp_server.ts writes it:
// serveDatagrams() with a text handler. Usage: doorway_udp.ts PORT (0: any).
import process from "node:process";
import { serveDatagrams, uppercase } from "../../mod.ts";

const decoder = new TextDecoder();
const server = await serveDatagrams(
  { hostname: "127.0.0.1", port: Number(process.argv[2] ?? 0) },
  (data) => uppercase(decoder.decode(data)),
);
console.log(server.addr.port);
