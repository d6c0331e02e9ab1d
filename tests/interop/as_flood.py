#!/usr/bin/env python3
"""as_flood.py: a bounded burst of hand-encoded AS-REQs over UDP to 127.0.0.1.

    as_flood.py PORT REALM COUNT NAME|--unknown PREFIX [--inflight N] [--seconds S]

Sends COUNT AS-REQs (no padata, etype 18 17, a fresh nonce each) for client
NAME, or with --unknown PREFIX for COUNT distinct client names PREFIX000000,
PREFIX000001, ... which the caller makes sure do not exist. At most N requests
are in flight (default 32); a request unanswered for 2 s is sent again (at most
3 times). The whole run stops after S seconds (default 120) whatever is left.

Prints one line: "sent=N replies=N codes=CODE:COUNT,... seconds=F", where CODE
is the KRB-ERROR error-code of each reply (or AS-REP, or BAD for anything that
does not decode). Exit 0 when every request got a reply, 1 otherwise, 2 for
a usage error. Only 127.0.0.1 is ever contacted.
"""
import os
import select
import socket
import sys
import time


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, body):
    return bytes([tag]) + der_len(len(body)) + body


def ctx(n, body):  # [n] EXPLICIT, constructed
    return tlv(0xA0 | n, body)


def der_int(v):
    b = v.to_bytes((v.bit_length() + 8) // 8 or 1, "big", signed=True)
    return tlv(0x02, b)


def gstr(s):  # GeneralString (KerberosString, Realm)
    return tlv(0x1B, s.encode())


def seq(*items):
    return tlv(0x30, b"".join(items))


def principal(name_type, comps):
    return seq(ctx(0, der_int(name_type)), ctx(1, seq(*[gstr(c) for c in comps])))


def as_req(realm, client, nonce):
    body = seq(
        ctx(0, tlv(0x03, b"\x00\x40\x81\x00\x10")),  # forwardable renewable-ok ...
        ctx(1, principal(1, client.split("/"))),
        ctx(2, gstr(realm)),
        ctx(3, principal(2, ["krbtgt", realm])),
        ctx(5, tlv(0x18, b"20370913024805Z")),
        ctx(7, der_int(nonce)),
        ctx(8, seq(der_int(18), der_int(17))),
    )
    return tlv(0x6A, seq(ctx(1, der_int(5)), ctx(2, der_int(10)), ctx(4, body)))


def read_tlv(buf, pos):
    """(tag, body_start, body_end) of the TLV at pos; raises on bad DER."""
    tag = buf[pos]
    n = buf[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4:
            raise ValueError("bad length")
        n = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    if pos + n > len(buf):
        raise ValueError("truncated")
    return tag, pos, pos + n


def reply_code(msg):
    """'AS-REP', the KRB-ERROR error-code as text, or 'BAD'."""
    try:
        tag, s, e = read_tlv(msg, 0)
        if tag == 0x6B:
            return "AS-REP"
        if tag != 0x7E:
            return "BAD"
        tag, s, e = read_tlv(msg, s)
        if tag != 0x30:
            return "BAD"
        pos = s
        while pos < e:
            tag, bs, be = read_tlv(msg, pos)
            if tag == 0xA6:
                t2, is_, ie = read_tlv(msg, bs)
                return str(int.from_bytes(msg[is_:ie], "big", signed=True))
            pos = be
        return "BAD"
    except (IndexError, ValueError):
        return "BAD"


def main(argv):
    args = argv[1:]
    inflight, seconds = 32, 120.0
    try:
        while len(args) > 4 and args[-2] in ("--inflight", "--seconds"):
            if args[-2] == "--inflight":
                inflight = int(args[-1])
            else:
                seconds = float(args[-1])
            args = args[:-2]
        if len(args) == 5 and args[3] == "--unknown":
            port, realm, count, prefix = int(args[0]), args[1], int(args[2]), args[4]
            name_of = lambda i: "%s%06d" % (prefix, i)
        elif len(args) == 4:
            port, realm, count, fixed = int(args[0]), args[1], int(args[2]), args[3]
            name_of = lambda i: fixed
        else:
            raise ValueError
    except ValueError:
        print(__doc__, file=sys.stderr)
        return 2
    if not (0 < count <= 1_000_000 and 0 < inflight <= 1024 and 0 < seconds <= 600):
        print("as_flood.py: COUNT, --inflight or --seconds out of range", file=sys.stderr)
        return 2

    # One connected socket per slot: a reply answers that slot's request.
    slots = []
    poll = select.epoll()
    for k in range(min(inflight, count)):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("127.0.0.1", port))
        s.setblocking(False)
        poll.register(s.fileno(), select.EPOLLIN)
        slots.append({"sock": s, "req": None, "idx": -1, "at": 0.0, "tries": 0})
    by_fd = {sl["sock"].fileno(): sl for sl in slots}

    codes = {}
    sent = replies = lost = 0
    next_idx = 0
    start = time.monotonic()
    deadline = start + seconds

    def launch(sl):
        nonlocal next_idx, sent
        if next_idx >= count:
            sl["idx"] = -1
            return
        sl["idx"] = next_idx
        next_idx += 1
        nonce = int.from_bytes(os.urandom(4), "big") & 0x7FFFFFFF
        sl["req"] = as_req(realm, name_of(sl["idx"]), nonce)
        sl["tries"] = 1
        sl["at"] = time.monotonic()
        sl["sock"].send(sl["req"])
        sent += 1

    for sl in slots:
        launch(sl)
    while replies + lost < count:
        now = time.monotonic()
        if now >= deadline:
            break
        for fd, _ in poll.poll(0.05):
            sl = by_fd[fd]
            try:
                msg = sl["sock"].recv(65536)
            except (BlockingIOError, ConnectionRefusedError):
                continue
            if sl["idx"] < 0:
                continue
            c = reply_code(msg)
            codes[c] = codes.get(c, 0) + 1
            replies += 1
            launch(sl)
        now = time.monotonic()
        for sl in slots:
            if sl["idx"] >= 0 and now - sl["at"] > 2.0:
                if sl["tries"] >= 3:
                    lost += 1
                    launch(sl)
                else:
                    sl["tries"] += 1
                    sl["at"] = now
                    sl["sock"].send(sl["req"])
    elapsed = time.monotonic() - start
    text = ",".join("%s:%d" % (c, n) for c, n in sorted(codes.items()))
    print("sent=%d replies=%d lost=%d codes=%s seconds=%.2f" % (sent, replies, lost, text, elapsed))
    return 0 if replies == count else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
