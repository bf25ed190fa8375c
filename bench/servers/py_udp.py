# The textbook's UDPServer.py: one socket answers every client.
# Usage: python3 py_udp.py PORT (0: any).
import sys
from socket import AF_INET, SOCK_DGRAM, socket

serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0))
print(serverSocket.getsockname()[1], flush=True)
while True:
    message, clientAddress = serverSocket.recvfrom(2048)
    serverSocket.sendto(message.decode().upper().encode(), clientAddress)
