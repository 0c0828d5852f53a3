#!/usr/bin/env python3
"""A slow HTTP/1.0 client for the recipes' checks: GET http://HOST:PORT/PATH, read the body at
RATE bytes per second (0: as fast as it comes) through a small receive buffer, print
"started" once START bytes have arrived, and at the end "received N of LENGTH bytes" and
"complete" or "cut". Exit 0 when the whole body arrived, 1 otherwise. Gives up after 60 s.

Usage: slow_get.py HOST PORT PATH RATE START
"""
import socket
import sys
import time


def main():
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rate, start = int(sys.argv[4]), int(sys.argv[5])
    deadline = time.monotonic() + 60
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A small window: the server's data waits on its side, not in this client's buffer.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.settimeout(30)
    s.connect((host, port))
    s.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            print(f"cut before the headers ended: {head!r}", flush=True)
            return 1
        head += chunk
    head, body = head.split(b"\r\n\r\n", 1)
    status = head.split(b"\r\n")[0].decode(errors="replace")
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    print(f"status: {status}, content-length {length}", flush=True)
    got, said = len(body), False
    t0 = time.monotonic()
    while time.monotonic() < deadline:
        if not said and got >= start:
            print("started", flush=True)
            said = True
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout) as e:
            print(f"error: {e!r}", flush=True)
            break
        if not chunk:
            break
        got += len(chunk)
        if rate:
            ahead = got / rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
    if not said:
        print("started", flush=True)
    complete = length is not None and got == length
    print(f"received {got} of {length} bytes", flush=True)
    print("complete" if complete else "cut", flush=True)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
