#!/usr/bin/env python3
"""dos_tool.py: bounded resource-exhaustion attacks on 127.0.0.x, for dos.sh.

    dos_tool.py hold PORT COUNT READY [--from A,B,...] [--send N] [--seconds S]
    dos_tool.py udp-silence PORT

hold: opens COUNT TCP connections to 127.0.0.1:PORT, binding them round-robin
to the source addresses given (127.0.0.x only; default 127.0.0.1), sends N
zero bytes on each (default 0: idle), writes "connected=N" to READY when all
were tried, then keeps them open until SIGTERM or S seconds (default 60).
Exit 0.

udp-silence: sends datagrams that do not decode as a KDC-REQ (1 byte with the
AS-REQ tag, the TGS-REQ tag, a truncated AS-REQ, a zero byte, HTTP, 200 bytes
after the AS-REQ tag) and waits 0.5 s for an answer to each. Prints one line
per datagram; exit 0 when none was answered, 1 otherwise.
"""
import resource
import signal
import socket
import sys
import time


def only_loopback(addr):
    if not addr.startswith("127."):
        sys.exit("dos_tool: %s is not a loopback address" % addr)


def hold(port, count, ready, sources, send, seconds):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 64), hard))
    socks, failed = [], 0
    for i in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.bind((sources[i % len(sources)], 0))
            s.connect(("127.0.0.1", port))
            if send:
                s.sendall(b"\0" * send)
            socks.append(s)
        except OSError:
            failed += 1
            s.close()
    with open(ready, "w") as f:
        f.write("connected=%d failed=%d\n" % (len(socks), failed))
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    end = time.monotonic() + seconds
    while not stop[0] and time.monotonic() < end:
        time.sleep(0.1)
    for s in socks:
        s.close()
    return 0


def udp_silence(port):
    probes = [
        ("1 byte AS-REQ tag", b"\x6a"),
        ("1 byte TGS-REQ tag", b"\x6c"),
        ("truncated AS-REQ", b"\x6a\x81\x90\x30\x81\x8d\xa1\x03\x02\x01\x05"),
        ("zero byte", b"\x00"),
        ("HTTP", b"GET / HTTP/1.0\r\n\r\n"),
        ("AS-REQ tag and 200 bytes of junk", b"\x6a\x81\xc8" + bytes(range(200))),
    ]
    answered = 0
    for name, data in probes:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.5)
        s.connect(("127.0.0.1", port))
        s.send(data)
        try:
            reply = s.recv(65536)
            answered += 1
            print("%s (%d bytes): answered with %d bytes" % (name, len(data), len(reply)))
        except socket.timeout:
            print("%s (%d bytes): no answer" % (name, len(data)))
        except ConnectionRefusedError:
            sys.exit("dos_tool: nothing listens on udp %d" % port)
        s.close()
    return 1 if answered else 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "hold":
        port, count, ready = int(argv[2]), int(argv[3]), argv[4]
        sources, send, seconds = ["127.0.0.1"], 0, 60.0
        rest = argv[5:]
        while rest:
            opt, val, rest = rest[0], rest[1], rest[2:]
            if opt == "--from":
                sources = val.split(",")
            elif opt == "--send":
                send = int(val)
            elif opt == "--seconds":
                seconds = float(val)
            else:
                sys.exit("dos_tool: unknown option " + opt)
        for a in sources:
            only_loopback(a)
        if not 0 < count <= 2000 or not 0 < seconds <= 300:
            sys.exit("dos_tool: COUNT 1..2000, S 1..300")
        return hold(port, count, ready, sources, send, seconds)
    if len(argv) == 3 and argv[1] == "udp-silence":
        return udp_silence(int(argv[2]))
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
