# SPDX-License-Identifier: Apache-2.0
"""A tiny DNS client for the dns suite (tests only): builds one query, sends it over UDP or TCP,
and decodes the reply's header and records (A, AAAA, SRV, CNAME, PTR, TXT, SOA, NS)."""

import random
import socket
import struct

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "TXT": 16, "AAAA": 28, "SRV": 33}
NAMES = {v: k for k, v in TYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def query(name, qtype, qid=None, edns=False):
    qid = random.randrange(65536) if qid is None else qid
    out = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 1 if edns else 0)
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    out += b"\0" + struct.pack(">HH", TYPES[qtype], 1)
    if edns:
        out += b"\0" + struct.pack(">HHIH", 41, 4096, 0, 0)
    return qid, out


def _name(msg, off):
    labels, jumped, end = [], False, None
    for _ in range(128):
        n = msg[off]
        if n == 0:
            off += 1
            break
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            jumped = True
            continue
        labels.append(msg[off + 1:off + 1 + n].decode("latin-1"))
        off += 1 + n
    return ".".join(labels) + ".", (end if jumped else off)


def _rdata(msg, t, off, ln):
    if t == 1:
        return socket.inet_ntop(socket.AF_INET, msg[off:off + 4])
    if t == 28:
        return socket.inet_ntop(socket.AF_INET6, msg[off:off + 16])
    if t in (2, 5, 12):
        return _name(msg, off)[0]
    if t == 33:
        pri, w, port = struct.unpack(">HHH", msg[off:off + 6])
        return (pri, w, port, _name(msg, off + 6)[0])
    if t == 16:
        return msg[off + 1:off + 1 + msg[off]].decode()
    if t == 6:
        m, o = _name(msg, off)
        r, o = _name(msg, o)
        return (m, r) + struct.unpack(">IIIII", msg[o:o + 20])
    return msg[off:off + ln]


def parse(msg):
    qid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", msg[:12])
    off = 12
    for _ in range(qd):
        _, off = _name(msg, off)
        off += 4
    secs = []
    for count in (an, ns, ar):
        rrs = []
        for _ in range(count):
            name, off = _name(msg, off)
            t, _c, ttl, ln = struct.unpack(">HHIH", msg[off:off + 10])
            off += 10
            rrs.append({"name": name, "type": NAMES.get(t, t), "ttl": ttl,
                        "data": _rdata(msg, t, off, ln)})
            off += ln
        secs.append(rrs)
    return {"id": qid, "rcode": RCODES.get(flags & 0xF, flags & 0xF), "aa": bool(flags & 0x400),
            "tc": bool(flags & 0x200), "answer": secs[0], "authority": secs[1],
            "additional": secs[2]}


def ask(server, port, name, qtype, tcp=False, timeout=3.0, edns=False):
    qid, q = query(name, qtype, edns=edns)
    if tcp:
        with socket.create_connection((server, port), timeout=timeout) as s:
            s.sendall(struct.pack(">H", len(q)) + q)
            hdr = b""
            while len(hdr) < 2:
                chunk = s.recv(2 - len(hdr))
                if not chunk:
                    raise OSError("connection closed")
                hdr += chunk
            ln = struct.unpack(">H", hdr)[0]
            msg = b""
            while len(msg) < ln:
                chunk = s.recv(ln - len(msg))
                if not chunk:
                    raise OSError("connection closed")
                msg += chunk
    else:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(q, (server, port))
            msg, _ = s.recvfrom(65535)
    r = parse(msg)
    if r["id"] != qid:
        raise OSError("reply id %d, asked %d" % (r["id"], qid))
    return r


def answer_reply(q, ip):
    """A reply to query bytes q with one A record (the fake upstream)."""
    qid = struct.unpack(">H", q[:2])[0]
    _, off = _name(q, 12)
    question = q[12:off + 4]
    return (struct.pack(">HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question +
            b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(ip))
