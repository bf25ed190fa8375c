# Hostile TCP peers for the field suite: each connection ends in a reset (SO_LINGER 0, then close), at a
# chosen stage of a line-protocol exchange with an uppercase server.
#
#   python3 _peer.py HOST PORT MODE COUNT [SEED]
#
# MODE, for each of COUNT connections in turn:
#   connect   connect and reset at once (racing the server's accept)
#   partial   one round trip, then half a line ("hel"), then reset
#   pipeline  one round trip, then 10,000 lines without reading; reset once replies have started to arrive
#   bulk      one round trip, then up to 8 MiB of lines without reading until the server stops taking
#             them (its replies fill the buffers); reset
#   hold      one round trip, then 10,000 lines without reading; prints "ready", waits for a line on stdin,
#             then resets
#   mixed     each connection draws connect, partial or pipeline from SEED
# Prints "done COUNT" and exits 0; exits 1 with a message when the server misbehaves before the reset.
import random
import select
import socket
import struct
import sys

LINES = b"".join(b"line %06d\n" % i for i in range(10_000))
BULK = 8 * 1024 * 1024


def fail(message):
    print(message, file=sys.stderr, flush=True)
    sys.exit(1)


def roundtrip(s):
    s.sendall(b"ping\n")
    got = b""
    while len(got) < 5:
        chunk = s.recv(5 - len(got))
        if not chunk:
            fail("round trip: the server closed after %r" % got)
        got += chunk
    if got != b"PING\n":
        fail("round trip: expected b'PING\\n', got %r" % got)


def wait_readable(s, what):
    readable, _, _ = select.select([s], [], [], 10)
    if not readable:
        fail(what + ": no reply within 10 s")


def bulk(s):
    # Not reading, so the server's replies fill both ends' buffers and it stops reading: sending stalls. No
    # progress for 300 ms is taken as stalled; either way the reset then lands during the server's writes.
    line = b"line %06d\n"
    data = b"".join(line % (i % 1_000_000) for i in range(BULK // len(line % 0)))
    s.setblocking(False)
    sent = 0
    while sent < len(data):
        _, writable, _ = select.select([], [s], [], 0.3)
        if not writable:
            break
        try:
            sent += s.send(data[sent:sent + 65536])
        except BlockingIOError:
            pass
    if sent == 0:
        fail("bulk: the server took nothing")


def main():
    host, port, mode, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    rng = random.Random(int(sys.argv[5]) if len(sys.argv) > 5 else 0)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for i in range(count):
        stage = rng.choice(["connect", "partial", "pipeline"]) if mode == "mixed" else mode
        try:
            one(host, port, family, stage)
        except OSError as err:
            fail("connection %d of %d (%s): %s" % (i + 1, count, stage, err))
    print("done %d" % count, flush=True)


def one(host, port, family, stage):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.settimeout(10)
    try:
        s.connect((host, port))
        if stage != "connect":
            roundtrip(s)
        if stage == "partial":
            s.sendall(b"hel")
        elif stage == "pipeline":
            s.sendall(LINES)
            wait_readable(s, "pipeline")
        elif stage == "bulk":
            bulk(s)
        elif stage == "hold":
            s.sendall(LINES)
            wait_readable(s, "hold")
            print("ready", flush=True)
            sys.stdin.readline()
        elif stage != "connect":
            fail("unknown mode " + stage)
    finally:
        s.close()


main()
