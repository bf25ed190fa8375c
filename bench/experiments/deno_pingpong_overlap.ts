// An experiment, not a contender: bench/servers/deno_raw.ts with the next read
// started as the write is issued, before Deno settles it, into a second
// buffer. Paired with deno_raw.ts, which reads again only once the write has
// settled, it tells whether a pump that waits for the write costs a round
// trip at one request in flight (bench/PROFILES.md, "The misses").
// Usage: deno run --allow-net deno_pingpong_overlap.ts PORT (0: any).
const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args.at(-1) ?? 0) });
console.log(listener.addr.port);

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.byteLength;) written += await conn.write(bytes.subarray(written));
}

async function handle(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  // The buffer being written is never the one being read into.
  const buffers = [new Uint8Array(64 * 1024), new Uint8Array(64 * 1024)];
  let which = 0;
  let writing: Promise<void> | undefined;
  try {
    let reading = conn.read(buffers[which]);
    for (let n = await reading; n !== null; n = await reading) {
      const buffer = buffers[which];
      for (let i = 0; i < n; i++) {
        const b = buffer[i];
        if (b >= 97 && b <= 122) buffer[i] = b - 32;
      }
      await writing;
      writing = writeAll(conn, buffer.subarray(0, n));
      // Handled here too: it may fail while the read is awaited.
      writing.catch(() => {});
      which ^= 1;
      reading = conn.read(buffers[which]);
    }
    await writing;
  } catch {
    // The peer went away.
  } finally {
    conn.close();
  }
}

for await (const conn of listener) handle(conn);
