#!/usr/bin/env python3
"""udp_record.py PORT_FILE KDC_PORT OUT_DIR SECONDS: a UDP relay on 127.0.0.1
that records what clients send to a KDC, as an eavesdropper on the path would.

It listens on a free loopback port (written to PORT_FILE once bound),
forwards each datagram to 127.0.0.1:KDC_PORT and the answer back to its
sender, and saves every request as OUT_DIR/req-N.der (N from 1, in order).
It exits after SECONDS (the caller may stop it sooner with SIGTERM).
"""
import os
import select
import socket
import sys
import time


def main():
    if len(sys.argv) != 5:
        sys.stderr.write("usage: udp_record.py PORT_FILE KDC_PORT OUT_DIR SECONDS\n")
        return 64
    port_file, kdc_port, out_dir, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    kdc = ("127.0.0.1", kdc_port)
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.1", 0))
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % front.getsockname()[1])
    os.rename(tmp, port_file)
    # One upstream socket per client address, so answers find their way back.
    upstream = {}
    clients = {}
    deadline = time.monotonic() + seconds
    n = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return 0
        ready, _, _ = select.select([front] + list(upstream.values()), [], [], left)
        for s in ready:
            data, addr = s.recvfrom(65535)
            if s is front:
                n += 1
                with open(os.path.join(out_dir, "req-%d.der" % n), "wb") as f:
                    f.write(data)
                up = upstream.get(addr)
                if up is None:
                    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    up.connect(kdc)
                    upstream[addr] = up
                    clients[up] = addr
                up.send(data)
            else:
                front.sendto(data, clients[s])


if __name__ == "__main__":
    sys.exit(main())
