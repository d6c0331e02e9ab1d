#!/usr/bin/env python3
"""kmp_peer.py: an independent KMP peer that attacks lethe-kmp from outside.

    kmp_peer.py spoof CLIENT_PORT SERVER_PORT PRINCIPAL REALM
    kmp_peer.py relay LISTEN_PORT SERVER_PORT CLIENT_PORT LOG [--drop-kmmid K]
    kmp_peer.py flood SERVER_PORT FROM_PORT RELAY_LOG COUNT DONE_FILE

spoof: plays the server a lethe-kmp client is configured with (it binds
127.0.0.1:SERVER_PORT, the client's server address) and sends it Wake Ups it
must not act on: naming krbtgt/REALM@REALM, a user, another service, the
right PRINCIPAL with the reserved nonce 0, and the right PRINCIPAL from
127.0.0.2 (another source address). Then a genuine one (nonce N1): the first
datagram back must be an AP Request carrying N1, nothing may reach
127.0.0.2. A second Wake Up (N2) while that exchange is in progress must
not be answered: Wake Ups with N3 are sent every 0.3 s until one is
answered, and that answer must carry N3, never N2.

relay: forwards every datagram between the lethe-kmp server at SERVER_PORT
and the client at CLIENT_PORT through one socket at LISTEN_PORT (the address
each side is configured with), logging one line per datagram to LOG:
"c2s|s2c KMMID HEX" (or "drop ..." for a client datagram of KMMID K, which
is not forwarded). Runs until SIGTERM.

flood: from 127.0.0.1:FROM_PORT (the address the server woke) sends the
first AP Request recorded in RELAY_LOG unchanged (its nonce is from an old
Wake Up), then COUNT copies with random nonces (never the nonce of the last
Wake Up in RELAY_LOG), and COUNT more from 127.0.0.3 (an address never
woken). Prints "sent=N", then waits (at most 60 s) for DONE_FILE, which the
caller creates once the server counted them; then every datagram that came
back must be a Wake Up (retransmissions of the outstanding one).

Each prints "ok: ..." lines, exits 0 on success, 1 on a failed check, 2 for a
usage error. Only 127.0.0.0/8 is ever contacted; every wait is bounded.
"""
import os
import random
import select
import signal
import socket
import struct
import sys
import time

WAKE_UP, AP_REQUEST = 1, 2
DOI_IPSEC, VERSION = 1, 0x10


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def udp(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    return s


def wake_up(nonce, principal):
    return bytes([WAKE_UP, DOI_IPSEC, VERSION]) + struct.pack(">I", nonce) + \
        principal.encode() + b"\0"


def der_end(msg, off):
    """Offset just past the DER element starting at msg[off]."""
    n = msg[off + 1]
    if n < 0x80:
        return off + 2 + n
    k = n & 0x7F
    return off + 2 + k + int.from_bytes(msg[off + 2:off + 2 + k], "big")


def request_nonce(msg):
    """The server nonce of an AP Request: right after the DER AP-REQ."""
    end = der_end(msg, 3)
    return struct.unpack(">I", msg[end:end + 4])[0]


def with_nonce(msg, nonce):
    end = der_end(msg, 3)
    return msg[:end] + struct.pack(">I", nonce) + msg[end + 4:]


def socket_queue(port):
    """(rx_queue bytes, drops) of the UDP socket bound to 127.0.0.1:port."""
    want = "0100007F:%04X" % port
    with open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == want:
                return int(fields[4].split(":")[1], 16), int(fields[-1])
    fail("no UDP socket on port %d" % port)


def wait_drained(port):
    """Wait (at most 20 s) until the server read every queued datagram."""
    deadline = time.monotonic() + 20
    while socket_queue(port)[0] > 0:
        if time.monotonic() >= deadline:
            fail("the server does not read its socket")
        time.sleep(0.001)


def recv_until(socks, deadline):
    """(sock, data) of the next datagram on any of socks, or None at deadline."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        r, _, _ = select.select(socks, [], [], left)
        if r:
            data, _ = r[0].recvfrom(65536)
            return r[0], data


def spoof(args):
    client_port, server_port = int(args[0]), int(args[1])
    principal, realm = args[2], args[3]
    s = udp("127.0.0.1", server_port)
    other = udp("127.0.0.2", server_port)
    client = ("127.0.0.1", client_port)
    bad = [
        (0x11111111, "krbtgt/%s@%s" % (realm, realm), "krbtgt"),
        (0x22222222, "mta1@%s" % realm, "a user"),
        (0x33333333, "host/other.lethe.test@%s" % realm, "another service"),
        (0, principal, "the reserved nonce 0"),
    ]
    for nonce, name, _ in bad:
        s.sendto(wake_up(nonce, name), client)
    other.sendto(wake_up(0x44444444, principal), client)
    n1, n2, n3 = 0x0A0A0A01, 0x0A0A0A02, 0x0A0A0A03
    s.sendto(wake_up(n1, principal), client)
    got = recv_until([s, other], time.monotonic() + 15)
    if got is None:
        fail("no AP Request for the genuine Wake Up")
    sock, data = got
    if sock is other:
        fail("answered a Wake Up from another source address")
    if data[0] != AP_REQUEST or request_nonce(data) != n1:
        fail("first answer is kmmid %d nonce %#x, not the AP Request for %#x: a "
             "spoofed Wake Up was acted on" % (data[0], request_nonce(data)
                                              if data[0] == AP_REQUEST else 0, n1))
    print("ok: only the genuine Wake Up answered (krbtgt, a user, another "
          "service, nonce 0, another source address ignored)", flush=True)
    # N2 during the exchange; then N3 until answered (the exchange lapses after 1 s).
    s.sendto(wake_up(n2, principal), client)
    deadline = time.monotonic() + 15
    while True:
        s.sendto(wake_up(n3, principal), client)
        got = recv_until([s, other], min(deadline, time.monotonic() + 0.3))
        if got is not None:
            sock, data = got
            if sock is other or data[0] != AP_REQUEST:
                fail("unexpected datagram kmmid %d" % data[0])
            nonce = request_nonce(data)
            if nonce == n2:
                fail("a Wake Up cancelled the exchange in progress (answered N2)")
            if nonce == n3:
                break
            fail("AP Request with unexpected nonce %#x" % nonce)
        if time.monotonic() >= deadline:
            fail("no answer to Wake Up N3")
    print("ok: a Wake Up during an exchange was ignored; the next one after it "
          "lapsed was answered", flush=True)


def relay(args):
    listen, server_port, client_port = int(args[0]), int(args[1]), int(args[2])
    log = open(args[3], "a", buffering=1)
    drop = int(args[5]) if len(args) > 5 and args[4] == "--drop-kmmid" else None
    server, client = ("127.0.0.1", server_port), ("127.0.0.1", client_port)
    s = udp("127.0.0.1", listen)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        data, src = s.recvfrom(65536)
        if src == server:
            log.write("s2c %d %s\n" % (data[0], data.hex()))
            s.sendto(data, client)
        elif src == client:
            if drop is not None and data[0] == drop:
                log.write("drop %d %s\n" % (data[0], data.hex()))
                continue
            log.write("c2s %d %s\n" % (data[0], data.hex()))
            s.sendto(data, server)


def flood(args):
    server_port, from_port = int(args[0]), int(args[1])
    relay_log, count, done = args[2], int(args[3]), args[4]
    captured, outstanding = None, None
    with open(relay_log) as f:
        for line in f:
            way, kmmid, hexdata = line.split()
            if way == "c2s" and int(kmmid) == AP_REQUEST and captured is None:
                captured = bytes.fromhex(hexdata)
            if way == "s2c" and int(kmmid) == WAKE_UP:
                outstanding = struct.unpack(">I", bytes.fromhex(hexdata)[3:7])[0]
    if captured is None or outstanding is None:
        fail("no AP Request or Wake Up in " + relay_log)
    if request_nonce(captured) == outstanding:
        fail("the captured AP Request carries the outstanding nonce")
    woken = udp("127.0.0.1", from_port)
    stranger = udp("127.0.0.3", 0)
    server = ("127.0.0.1", server_port)
    rnd = random.SystemRandom()
    sent = 0
    woken.sendto(captured, server)          # the replay, old nonce
    sent += 1
    for sock in (woken, stranger):
        for i in range(count):
            nonce = rnd.getrandbits(32)
            while nonce in (outstanding, 0):
                nonce = rnd.getrandbits(32)
            sock.sendto(with_nonce(captured, nonce), server)
            sent += 1
            if i % 32 == 31:
                wait_drained(server_port)   # never overflow its socket
    wait_drained(server_port)
    drops = socket_queue(server_port)[1]
    if drops != 0:
        fail("the server's socket dropped %d datagrams" % drops)
    print("sent=%d" % sent, flush=True)
    deadline = time.monotonic() + 60
    while not os.path.exists(done):
        if time.monotonic() >= deadline:
            fail("the caller never created " + done)
        time.sleep(0.05)
    wakeups = 0
    while True:
        got = recv_until([woken, stranger], time.monotonic())
        if got is None:
            break
        sock, data = got
        if sock is stranger or data[0] != WAKE_UP:
            fail("the server answered a flooded AP Request (kmmid %d)" % data[0])
        wakeups += 1
    print("ok: nothing came back but %d Wake Up retransmissions" % wakeups, flush=True)


def main():
    cmds = {"spoof": (spoof, 4), "relay": (relay, 4), "flood": (flood, 5)}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds or \
            len(sys.argv) - 2 < cmds[sys.argv[1]][1]:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    cmds[sys.argv[1]][0](sys.argv[2:])


if __name__ == "__main__":
    main()
