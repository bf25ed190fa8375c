// An experiment, not a contender: deno_pingpong_seq.ts with the next read
// started as the write is issued, before Deno settles it, into a second
// buffer. See deno_pingpong_seq.ts. A short write loses bytes: not a server
// to use. Usage: deno run --allow-net deno_pingpong_overlap.ts PORT (0: any).
import process from "node:process";

const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(process.argv[2] ?? 0) });
console.log(listener.addr.port);
for await (const conn of listener) serve(conn);

async function serve(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buffers = [new Uint8Array(65536), new Uint8Array(65536)];
  let which = 0;
  let reading = conn.read(buffers[which]);
  let writing: Promise<number> | undefined;
  for (let n = await reading; n !== null; n = await reading) {
    const out = buffers[which].slice(0, n);
    for (let i = 0; i < n; i++) if (out[i] >= 97 && out[i] <= 122) out[i] -= 32;
    if (writing !== undefined) await writing;
    writing = conn.write(out);
    which ^= 1;
    reading = conn.read(buffers[which]);
  }
  conn.close();
}
