# The textbook's TCPServer.py made concurrent with asyncio streams.
# Usage: python3 py_asyncio.py PORT (0: any).
import asyncio
import sys


async def handle(reader, writer):
    try:
        while line := await reader.readline():
            writer.write(line.decode().upper().encode())
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
