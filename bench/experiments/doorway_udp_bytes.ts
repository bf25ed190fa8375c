// Probe for PROFILES.md: doorway's serveDatagrams() with the raw servers' own
// handler (uppercase the ASCII bytes in place, send them back), so that the
// difference to the raw server is doorway's loop alone.
// Usage: doorway_udp_bytes.ts PORT (0: any).
import process from "node:process";
import { serveDatagrams } from "../../mod.ts";

const server = await serveDatagrams(
  { hostname: "127.0.0.1", port: Number(process.argv[2] ?? 0) },
  (data) => {
    for (let i = 0; i < data.length; i++) {
      const b = data[i];
      if (b >= 97 && b <= 122) data[i] = b - 32;
    }
    return data;
  },
);
console.log(server.addr.port);
