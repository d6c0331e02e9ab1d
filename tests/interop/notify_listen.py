#!/usr/bin/env python3
"""notify_listen.py SOCKET LOG PORT[/tcp]: play systemd's side of sd_notify.

Binds a datagram socket at SOCKET (what NOTIFY_SOCKET names) with
SO_PASSCRED and appends one line per message to LOG:

    pid=PID READY=1;STATUS=serving port_bound=yes

The state fields are joined with ';'. For each READY=1 it tries to bind
127.0.0.1:PORT over UDP and over TCP itself: port_bound=yes when both are
taken (the daemon's sockets exist at that instant), no otherwise; with
PORT/tcp only TCP is tried. Exits
after STOPPING=1, or after 600 s without one.
"""
import errno
import os
import socket
import struct
import sys
import time


def port_taken(port: int, kinds) -> bool:
    for kind in kinds:
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise
        else:
            return False
        finally:
            s.close()
    return True


def main() -> int:
    path, log_path, port = sys.argv[1], sys.argv[2], sys.argv[3]
    kinds = (socket.SOCK_DGRAM, socket.SOCK_STREAM)
    if port.endswith("/tcp"):
        port, kinds = port[:-4], (socket.SOCK_STREAM,)
    port = int(port)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    sock.bind(path)
    sock.settimeout(1.0)
    ucred = struct.calcsize("3i")
    deadline = time.monotonic() + 600
    with open(log_path, "a", encoding="utf-8") as log:
        while time.monotonic() < deadline:
            try:
                msg, anc, _, _ = sock.recvmsg(4096, socket.CMSG_SPACE(ucred))
            except socket.timeout:
                continue
            pid = "?"
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = str(struct.unpack("3i", data[:ucred])[0])
            fields = msg.decode("utf-8", "replace").strip("\n").split("\n")
            line = "pid=%s %s" % (pid, ";".join(fields))
            if "READY=1" in fields:
                line += " port_bound=%s" % ("yes" if port_taken(port, kinds) else "no")
            log.write(line + "\n")
            log.flush()
            if "STOPPING=1" in fields:
                return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
