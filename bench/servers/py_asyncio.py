# A line server on asyncio streams, as a competent user writes it: every line
# answered, and the replies to all the complete lines of a read sent in one
# write, then drained. asyncio turns TCP_NODELAY on for every TCP transport.
# Usage: python3 py_asyncio.py PORT (0: any).
import asyncio
import sys


async def handle(reader, writer):
    pending = b""
    try:
        while data := await reader.read(65536):
            pending += data
            last = pending.rfind(b"\n")
            if last < 0:
                continue
            # A newline byte is never part of a multi-byte UTF-8 character.
            lines = pending[:last].decode().split("\n")
            pending = pending[last + 1 :]
            writer.write("".join(line.upper() + "\n" for line in lines).encode())
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
