// An experiment, not a contender: a Deno.listen server that uppercases each
// chunk in place of a line server, reading again only once Deno has settled
// the write. Paired with deno_pingpong_overlap.ts, which starts the next read
// as it issues the write, it tells whether a pump that waits for the write
// costs a round trip at one request in flight (bench/PROFILES.md, "The
// misses"). A short write loses bytes: not a server to use.
// Usage: deno run --allow-net deno_pingpong_seq.ts PORT (0: any).
import process from "node:process";

const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(process.argv[2] ?? 0) });
console.log(listener.addr.port);
for await (const conn of listener) serve(conn);

async function serve(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buffer = new Uint8Array(65536);
  for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
    const out = buffer.slice(0, n);
    for (let i = 0; i < n; i++) if (out[i] >= 97 && out[i] <= 122) out[i] -= 32;
    await conn.write(out);
  }
  conn.close();
}
