#!/usr/bin/python3
"""Builds the known-good packets the wire tests check against, with scapy as the independent
oracle: scapy computes every length and checksum, and the expected field values come from
scapy's own dissection of the bytes. Regenerate with:  /usr/bin/python3 make_vectors.py > packets.json
The output is checked in; tests never run scapy."""
import json
from scapy.all import (IP, IPv6, UDP, TCP, ICMP, Raw, IPOption_Router_Alert, IPv6ExtHdrHopByHop,
                       IPv6ExtHdrFragment, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting, RouterAlert,
                       ICMPv6EchoRequest, ICMPv6ND_RS, ICMPv6MLReport2, ICMPv6DestUnreach, fragment, fragment6)

A4, B4 = "10.0.0.1", "10.0.0.2"
A6, B6 = "fd00::1", "fd00::2"

def fields(pkt):
    out = {}
    if IP in pkt:
        ip = pkt[IP]
        out["ip"] = dict(version=4, ihl=ip.ihl, len=ip.len, id=ip.id, flags=int(ip.flags), frag=ip.frag * 8,
                         ttl=ip.ttl, proto=ip.proto, chksum=ip.chksum, src=ip.src, dst=ip.dst)
    if IPv6 in pkt:
        ip = pkt[IPv6]
        out["ip"] = dict(version=6, tc=ip.tc, fl=ip.fl, plen=ip.plen, nh=ip.nh, hlim=ip.hlim, src=ip.src, dst=ip.dst)
    if IPv6ExtHdrFragment in pkt:
        f = pkt[IPv6ExtHdrFragment]
        out["frag6"] = dict(nh=f.nh, offset=f.offset * 8, m=f.m, id=f.id)
    if UDP in pkt and not (IPv6ExtHdrFragment in pkt and pkt[IPv6ExtHdrFragment].offset) and not (IP in pkt and pkt[IP].frag):
        u = pkt[UDP]
        out["udp"] = dict(sport=u.sport, dport=u.dport, len=u.len, chksum=u.chksum)
    if TCP in pkt:
        t = pkt[TCP]
        opts = {}
        for name, value in t.options:
            if name == "MSS": opts["mss"] = value
            elif name == "WScale": opts["wscale"] = value
            elif name == "SAckOK": opts["sackok"] = True
            elif name == "Timestamp": opts["tsval"], opts["tsecr"] = value
            elif name == "SAck": opts["sack"] = list(value)
        out["tcp"] = dict(sport=t.sport, dport=t.dport, seq=t.seq, ack=t.ack, dataofs=t.dataofs * 4,
                          flags=int(t.flags), window=t.window, chksum=t.chksum, urgptr=t.urgptr, options=opts,
                          payload_len=len(t.payload))
    if ICMP in pkt:
        i = pkt[ICMP]
        out["icmp"] = dict(type=i.type, code=i.code, chksum=i.chksum)
    return out

def vector(name, pkt):
    raw = bytes(pkt)
    again = pkt.__class__(raw)  # dissect the built bytes: scapy's view of the wire
    return dict(name=name, hex=raw.hex(), fields=fields(again))

v = []
v.append(vector("ipv4_udp", IP(src=A4, dst=B4, id=0x1234, ttl=64) / UDP(sport=5000, dport=53) / b"hello, udp"))
v.append(vector("ipv4_udp_zero_checksum", IP(src=A4, dst=B4, id=7) / UDP(sport=7, dport=7, chksum=0) / b"no checksum"))
v.append(vector("ipv4_udp_empty", IP(src=A4, dst=B4, id=8) / UDP(sport=1000, dport=2000)))
v.append(vector("ipv4_tcp_syn_options", IP(src=A4, dst=B4, id=1, flags="DF") / TCP(sport=40000, dport=80, seq=0xFFFFFFF0, flags="S", window=64240,
                 options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (123456, 0)), ("NOP", None), ("WScale", 7)])))
v.append(vector("ipv4_tcp_sack_data", IP(src=B4, dst=A4, id=2) / TCP(sport=80, dport=40000, seq=1000, ack=5000, flags="PA", window=502,
                 options=[("NOP", None), ("NOP", None), ("SAck", (6000, 7000, 8000, 9000))]) / (b"x" * 100)))
v.append(vector("ipv4_options_router_alert_icmp", IP(src=A4, dst=B4, id=3, options=[IPOption_Router_Alert()]) / ICMP(type=8, id=0x42, seq=1) / b"ping"))
v.append(vector("ipv4_icmp_echo", IP(src=A4, dst=B4, id=4) / ICMP(type=8, id=0x1111, seq=7) / (b"0123456789" * 5)))
quoted = IP(src=B4, dst=A4, id=5) / UDP(sport=5000, dport=9999) / b"quoted"
v.append(vector("ipv4_icmp_port_unreachable", IP(src=A4, dst=B4, id=6) / ICMP(type=3, code=3) / bytes(quoted)))
frags = fragment(IP(src=A4, dst=B4, id=0x2222) / UDP(sport=6000, dport=6001) / (b"F" * 3000), fragsize=1480)
for i, f in enumerate(frags):
    v.append(vector(f"ipv4_udp_fragment_{i}", f))
v.append(vector("ipv6_udp", IPv6(src=A6, dst=B6, hlim=64, fl=0x12345) / UDP(sport=5000, dport=53) / b"hello, v6"))
v.append(vector("ipv6_icmpv6_echo", IPv6(src=A6, dst=B6) / ICMPv6EchoRequest(id=0x77, seq=3, data=b"abcdefgh")))
v.append(vector("ipv6_hbh_router_alert_mldv2", IPv6(src="fe80::1", dst="ff02::16", hlim=1) / IPv6ExtHdrHopByHop(options=[RouterAlert()]) / ICMPv6MLReport2()))
v.append(vector("ipv6_router_solicitation", IPv6(src="fe80::1", dst="ff02::2", hlim=255) / ICMPv6ND_RS()))
v.append(vector("ipv6_destopt_routing_udp", IPv6(src=A6, dst=B6) / IPv6ExtHdrDestOpt() / IPv6ExtHdrRouting(segleft=0) / UDP(sport=1, dport=2) / b"ext"))
v.append(vector("ipv6_tcp_syn_options", IPv6(src=A6, dst=B6) / TCP(sport=40001, dport=443, seq=1, flags="S", window=65535,
                 options=[("MSS", 1440), ("NOP", None), ("WScale", 14), ("SAckOK", b""), ("Timestamp", (1, 2))])))
v.append(vector("ipv6_icmpv6_port_unreachable", IPv6(src=A6, dst=B6) / ICMPv6DestUnreach(code=4) / bytes(IPv6(src=B6, dst=A6) / UDP(sport=5000, dport=9999) / b"q")))
frags6 = fragment6(IPv6(src=A6, dst=B6) / IPv6ExtHdrFragment(id=0xABCDEF) / UDP(sport=7000, dport=7001) / (b"G" * 3000), 1280)
for i, f in enumerate(frags6):
    v.append(vector(f"ipv6_udp_fragment_{i}", f))

print(json.dumps(v, indent=1))
