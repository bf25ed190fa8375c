# A TLS peer for the conformance suite, written against Python's ssl module, so that doorway's TLS meets an
# implementation it did not write. The textbook protocol: the client sends a line, the server answers it uppercased.
#
#   python3 _tls_peer.py server [--host H | --unix PATH] [--mode MODE] [--tls] [--cert F --key F]
#                               [--client-ca F] [--alpn A,B]
#   python3 _tls_peer.py client (--host H --port P | --unix PATH) [--tls] [--starttls] [--ca F] [--server-name N]
#                               [--cert F --key F] [--alpn A,B] [--send LINE]... [--reset] [--silent-close]
#                               [--stall-handshake]
#
# The server listens on port 0 (or on PATH), prints "ready PORT" (or "ready PATH"), and serves every connection in
# a thread of its own until its stdin ends; then it exits 0. For each connection it prints one line:
#   "tls VERSION ALPN PEER"  a handshake is done (ALPN and PEER, the client certificate's CN, "-" for none)
#   "handshake-error REASON" a handshake failed (REASON: the ssl module's reason, such as NO_CERTIFICATE...)
#   "plain"                  a plaintext connection was accepted (modes lines without --tls, starttls...)
# MODE:
#   lines            (the default) uppercase every line, over TLS with --tls
#   starttls         plaintext lines; "STARTTLS" is answered "OK STARTTLS", then TLS starts, server side
#   starttls-extra   a broken server: answers "STARTTLS" with "OK STARTTLS\nEXTRA plaintext\n" in one send, so
#                    the client has plaintext unread when it would start TLS, then goes on in plaintext
#   close-in-handshake  reads what the client sends first (its ClientHello), then ends its stream (FIN)
#   plaintext-reply  answers whatever arrives first with "ERROR not a command", then closes once the client does
#   close-after-line reads one line, then closes its socket outright
#
# The client connects, over TLS with --tls (at once) or --starttls (after a plaintext round trip: it sends
# "before", expects "BEFORE", sends "STARTTLS", expects "OK STARTTLS", then starts TLS), prints
# "tls VERSION ALPN PEER" once TLS is up (PEER: the server certificate's CN), then, for each --send LINE, sends it and
# prints "reply " and the answer. It exits 0, or prints "error REASON" and exits 1. With --reset it ends with a reset
# instead of a close. With --silent-close it runs TLS by hand, reads to the server's close (see silent_close()), and
# never sends a close_notify of its own. With --stall-handshake it sends a ClientHello and nothing more (but a byte
# when told to on stdin), and says when the server answered and when it closed (see stall_handshake()).
import argparse
import os
import select
import socket
import ssl
import struct
import sys
import threading


def parse():
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["server", "client"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--unix")
    parser.add_argument("--mode", default="lines")
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--starttls", action="store_true")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--ca")
    parser.add_argument("--client-ca")
    parser.add_argument("--server-name", default="localhost")
    parser.add_argument("--alpn")
    parser.add_argument("--send", action="append", default=[])
    parser.add_argument("--reset", action="store_true")
    parser.add_argument("--silent-close", action="store_true")
    parser.add_argument("--stall-handshake", action="store_true")
    return parser.parse_args()


def say(text):
    print(text, flush=True)


def common_name(cert):
    if not cert:
        return "-"
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return "?"


def describe(tls):
    return "tls %s %s %s" % (tls.version(), tls.selected_alpn_protocol() or "-", common_name(tls.getpeercert()))


class Lines:
    """Reads lines from a socket, keeping what comes after the last one."""

    def __init__(self, sock):
        self.sock = sock
        self.rest = b""

    def read(self):
        while b"\n" not in self.rest:
            chunk = self.sock.recv(65536)
            if not chunk:
                line, self.rest = self.rest, b""
                return line if line else None
            self.rest += chunk
        line, self.rest = self.rest.split(b"\n", 1)
        return line.rstrip(b"\r")


def server_context(args):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    if args.client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(args.client_ca)
    if args.alpn:
        context.set_alpn_protocols(args.alpn.split(","))
    return context


def uppercase_lines(lines, sock):
    while True:
        line = lines.read()
        if line is None:
            return
        sock.sendall(line.decode().upper().encode() + b"\n")


def serve_tls(context, conn):
    """Takes the server side of a handshake on conn, says how it went, then uppercases lines over TLS."""
    try:
        tls = context.wrap_socket(conn, server_side=True)
    except (ssl.SSLError, OSError) as err:
        say("handshake-error %s" % (getattr(err, "reason", None) or type(err).__name__))
        return
    # The TLS socket now owns the connection: the caller's close() of conn no longer reaches it.
    try:
        say(describe(tls))
        uppercase_lines(Lines(tls), tls)
    finally:
        tls.close()


def serve_one(args, context, conn):
    try:
        if args.mode == "close-in-handshake":
            # An end of stream, not a reset: everything the client sent is read.
            conn.recv(65536)
            conn.shutdown(socket.SHUT_WR)
            while conn.recv(65536):
                pass
            return
        if args.mode == "plaintext-reply":
            conn.recv(65536)
            conn.sendall(b"ERROR not a command\n")
            while conn.recv(65536):
                pass
            return
        if args.mode == "close-after-line":
            Lines(conn).read()
            return
        if args.mode == "lines" and args.tls:
            serve_tls(context, conn)
            return
        say("plain")
        lines = Lines(conn)
        while True:
            line = lines.read()
            if line is None:
                return
            if args.mode == "starttls-extra" and line == b"STARTTLS":
                # Never starts TLS: goes on in plaintext, as the client must once it has refused to.
                conn.sendall(b"OK STARTTLS\nEXTRA plaintext\n")
                continue
            if args.mode == "starttls" and line == b"STARTTLS":
                conn.sendall(b"OK STARTTLS\n")
                serve_tls(context, conn)
                return
            conn.sendall(line.decode().upper().encode() + b"\n")
    except OSError:
        pass
    finally:
        conn.close()


def server(args):
    context = server_context(args) if args.cert else None
    if args.unix:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(args.unix)
    else:
        family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.bind((args.host, args.port))
    listener.listen(64)
    say("ready %s" % (args.unix or listener.getsockname()[1]))

    def accept():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve_one, args=(args, context, conn), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    sys.stdin.read()
    listener.close()
    if args.unix:
        os.unlink(args.unix)
    sys.stdout.flush()
    os._exit(0)


def silent_close(context, sock, server_name):
    """TLS over the socket by hand, reading to the server's close and never answering a close_notify: prints what came
    ("read N bytes, the last line LINE"), then "fin" if the server's FIN follows its close_notify, "no fin" if none
    comes within 5 s, "fin without close_notify" for a FIN that came first, or "error REASON"."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=server_name)
    sock.settimeout(10)
    received = b""
    notified = False
    while not notified:
        try:
            if tls.version() is None:
                tls.do_handshake()
            # One record per read(): every record that has arrived, before waiting for more. Python reads a
            # close_notify as no bytes, or raises for it.
            while not notified:
                data = tls.read(65536)
                notified = data == b""
                received += data
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        except ssl.SSLZeroReturnError:
            notified = True
        if outgoing.pending:
            sock.sendall(outgoing.read())
        if notified:
            break
        chunk = sock.recv(65536)
        if not chunk:
            break
        incoming.write(chunk)
    lines = received.splitlines()
    say("read %d bytes, the last line %s" % (len(received), lines[-1].decode() if lines else "-"))
    if not notified:
        say("fin without close_notify")
        return
    sock.settimeout(5)
    try:
        rest = sock.recv(65536)
        say("fin" if rest == b"" else "error %d bytes after close_notify" % len(rest))
    except socket.timeout:
        say("no fin")


def stall_handshake(context, sock, server_name):
    """Sends a ClientHello and never answers what the server sends back: prints "server answered" once its first bytes
    came, then "closed" when the server closes the connection (a FIN or a reset), or "still open" if nothing has come
    for 20 s. A line "poke" on stdin sends the server one byte that is no TLS."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=server_name)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    sock.sendall(outgoing.read())
    sock.setblocking(False)
    watched = [sock, sys.stdin]
    answered = False
    while True:
        readable, _, _ = select.select(watched, [], [], 20)
        if not readable:
            say("still open")
            return
        if sys.stdin in readable:
            if sys.stdin.readline().strip() == "poke":
                sock.sendall(b"x")
            else:
                watched.remove(sys.stdin)
        if sock in readable:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                say("closed")
                return
            if not answered:
                answered = True
                say("server answered")


def client(args):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if args.ca:
        context.load_verify_locations(args.ca)
    if args.cert:
        context.load_cert_chain(args.cert, args.key)
    if args.alpn:
        context.set_alpn_protocols(args.alpn.split(","))
    if args.unix:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(10)
        sock.connect(args.unix)
    else:
        sock = socket.create_connection((args.host, args.port), timeout=10)
    try:
        lines = Lines(sock)
        if args.starttls:
            for send, expect in ((b"before", b"BEFORE"), (b"STARTTLS", b"OK STARTTLS")):
                sock.sendall(send + b"\n")
                got = lines.read()
                if got != expect:
                    say("error expected %r, got %r" % (expect, got))
                    sys.exit(1)
        if args.silent_close:
            silent_close(context, sock, args.server_name)
            sock.close()
            return
        if args.stall_handshake:
            stall_handshake(context, sock, args.server_name)
            sock.close()
            return
        if args.tls or args.starttls:
            sock = context.wrap_socket(sock, server_hostname=args.server_name)
            lines = Lines(sock)
            say(describe(sock))
        for line in args.send:
            sock.sendall(line.encode() + b"\n")
            reply = lines.read()
            say("reply %s" % (reply.decode() if reply is not None else "<end of stream>"))
    except (ssl.SSLError, OSError) as err:
        say("error %s" % (getattr(err, "reason", None) or type(err).__name__))
        sys.exit(1)
    if args.reset:
        # A zero linger time: close() sends a reset, not a FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def main():
    args = parse()
    if args.role == "server":
        server(args)
    else:
        client(args)


main()
