"""Stalled SSE clients for the bench's slow-client scenario.

Opens one stream per spec (JSON list of {path, headers} on stdin's first line), reads the
response head, then never reads again. A small receive buffer and a small MSS keep the kernels
from absorbing megabytes on loopback (Node cannot set either), so the server itself has to hold
or drop what these clients do not take. Prints "ready <n>" once every stream is open, then waits
until stdin closes. Python, because Node exposes neither SO_RCVBUF nor TCP_MAXSEG for TCP.
"""
import json
import socket
import sys

port = int(sys.argv[1])
specs = json.loads(sys.stdin.readline())
sockets = []
for i, spec in enumerate(specs):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1000)
    s.bind(("127.0.0.%d" % (10 + i % 4), 0))
    s.connect(("127.0.0.1", port))
    head = "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/event-stream\r\n" % (spec["path"], port)
    head += "".join("%s: %s\r\n" % (k, v) for k, v in spec["headers"].items())
    s.sendall((head + "\r\n").encode())
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = s.recv(1024)
        if not chunk:
            sys.exit("stream %d closed before its head" % i)
        received += chunk
    if not received.startswith(b"HTTP/1.1 200"):
        sys.exit("stream %d refused: %r" % (i, received.split(b"\r\n")[0]))
    sockets.append(s)
print("ready %d" % len(sockets), flush=True)
sys.stdin.read()
