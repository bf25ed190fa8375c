# The textbook's TCPServer.py made concurrent: socketserver, one thread per
# connection, one write per line. Usage: python3 py_threaded.py PORT (0: any).
import socketserver
import sys


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line.decode().upper().encode())


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The textbook's listen(1) would drop most connections of a burst.
    request_queue_size = 4096


server = Server(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
