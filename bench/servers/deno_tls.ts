// The Deno.listenTls line server a competent user writes: deno_lines.ts over
// TLS. A 64 KiB read buffer per connection, every line answered, and the
// replies to all the complete lines of a read sent in one write (written in
// full). TCP_NODELAY stays off: Deno.TlsConn has no setNoDelay()
// (denoland/deno#13617), and Deno's TLS listener does not set it (strace).
// Usage: deno_tls.ts PORT CERT KEY (PEM files); needs --allow-net --allow-read.
const [port, certFile, keyFile] = Deno.args;
const listener = Deno.listenTls({
  hostname: "127.0.0.1",
  port: Number(port ?? 0),
  cert: Deno.readTextFileSync(certFile),
  key: Deno.readTextFileSync(keyFile),
});
console.log(listener.addr.port);

async function handle(conn: Deno.TlsConn): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let pending = "";
  try {
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      const text = pending + decoder.decode(buffer.subarray(0, n), { stream: true });
      const last = text.lastIndexOf("\n");
      if (last < 0) {
        pending = text;
        continue;
      }
      pending = text.slice(last + 1);
      const lines = text.slice(0, last).split("\n");
      let reply = "";
      for (let i = 0; i < lines.length; i++) reply += lines[i].toUpperCase() + "\n";
      const bytes = encoder.encode(reply);
      for (let written = 0; written < bytes.length;) written += await conn.write(bytes.subarray(written));
    }
  } catch {
    // The peer went away, or its handshake failed.
  } finally {
    conn.close();
  }
}

for await (const conn of listener) handle(conn);
