# A line server on socketserver, one thread per connection, as a competent
# user writes it: TCP_NODELAY on, every line answered, and the replies to all
# the complete lines of a read sent in one sendall().
# Usage: python3 py_threaded.py PORT (0: any).
import socket
import socketserver
import sys


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pending = b""
        while data := self.request.recv(65536):
            pending += data
            last = pending.rfind(b"\n")
            if last < 0:
                continue
            # A newline byte is never part of a multi-byte UTF-8 character.
            lines = pending[:last].decode().split("\n")
            pending = pending[last + 1 :]
            self.request.sendall("".join(line.upper() + "\n" for line in lines).encode())


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The textbook's listen(1) would drop most connections of a burst.
    request_queue_size = 4096


server = Server(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
