#!/usr/bin/python3
"""Runs each attack of attacks.py against a running tunstack daemon with the legitimate client
beside it, and prints one Markdown table row per attack (after a baseline row: the client alone).

  table.py --netns NS --pid PID --control SOCKET [--seconds S] [ATTACK ...]

Started by perf/attacks-under-load.sh, which starts the daemon in a namespace of its own first.
Per attack: the packets sent and their rate, the daemon's CPU (percent of one core) and largest
RSS while the attack ran, the client's bulk echo throughput and request/response latency in the
same window (and the throughput against the baseline), and the counters that rose the most,
read from the daemon's control socket before and after (`stats -z`, as `tunstack stats` asks).
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ATTACKS = os.path.join(HERE, "attacks.py")
# Counters that rise with any traffic: left out of the "what rose" column.
GENERIC = {
    "LinkReceived", "LinkSent", "Ipv4Received", "Ipv4Delivered", "Ipv4Sent", "Ipv6Received", "Ipv6Delivered",
    "Ipv6Sent", "TcpReceived", "TcpSent", "LinkSuperSegmentsReceived", "LinkSuperSegmentsSent",
    "TcpSegmentsCoalesced", "TcpCoalesceRefused", "TcpReceiveBufferGrowths", "TcpSendBufferGrowths",
}


def counters(control):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(control)
        s.sendall(b"stats -z\n")
        data = b""
        while True:
            piece = s.recv(65536)
            if not piece:
                break
            data += piece
    lines = data.decode().splitlines()
    if not lines or not lines[0].startswith("ok "):
        raise SystemExit(f"control socket answered {lines[:1]}")
    values = {}
    for line in lines[1:]:
        fields = line.split()
        if len(fields) >= 2 and not line.startswith("#") and fields[1].isdigit():
            values[fields[0]] = int(fields[1])
    return values


class Sampler:
    """The daemon's CPU time and RSS, every 50 ms, with CLOCK_MONOTONIC times."""

    def __init__(self, pid):
        self.pid, self.samples, self.running = pid, [], True
        self.ticks = os.sysconf("SC_CLK_TCK")
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def read(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / self.ticks
        rss = 0
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
        return time.monotonic(), cpu, rss

    def run(self):
        while self.running:
            self.samples.append(self.read())
            time.sleep(0.05)

    def window(self, start, end):
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return 0.0, max((s[2] for s in self.samples), default=0)
        cpu = (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0]) * 100
        return cpu, max(s[2] for s in inside)


def in_netns(netns, *command):
    return subprocess.Popen(["ip", "netns", "exec", netns, "/usr/bin/python3", ATTACKS, *command],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def expect(process, word, what):
    """Reads PROCESS's output up to the line WORD (its "connected" or "ready")."""
    while True:
        line = process.stdout.readline()
        if not line:
            raise SystemExit(f"{what} ended before '{word}': {process.stderr.read().strip()[-2000:]}")
        if line.strip() == word:
            return


def go(process):
    process.stdin.write("go\n")
    process.stdin.flush()


def finish(process, what):
    out, err = process.communicate(timeout=120)
    lines = [l for l in out.splitlines() if l.startswith("{")]
    if not lines:
        raise SystemExit(f"{what} printed no result: {err.strip()[-2000:]}")
    return json.loads(lines[-1])


def client_window(result, start, end):
    """Bulk throughput (Mbit/s) and request/response p50/p99 (ms) between START and END."""
    progress = result.get("progress", [])

    def bytes_at(t):
        before = [b for (when, b) in progress if when <= t]
        return before[-1] if before else 0

    mbit = (bytes_at(end) - bytes_at(start)) * 8 / (end - start) / 1e6
    latencies = sorted(l for (when, l) in result.get("answers", []) if start <= when <= end)
    p50 = latencies[len(latencies) // 2] * 1000 if latencies else float("nan")
    p99 = latencies[min(len(latencies) - 1, len(latencies) * 99 // 100)] * 1000 if latencies else float("nan")
    return mbit, p50, p99, len(latencies)


def rose(before, after):
    deltas = [(after[k] - before.get(k, 0), k) for k in after if k not in GENERIC and after[k] > before.get(k, 0)]
    deltas.sort(reverse=True)
    return ", ".join(f"{k} +{d:,}" for d, k in deltas[:5]) or "none"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--netns", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("attacks", nargs="*")
    args = parser.parse_args()
    names = args.attacks or subprocess.run(["/usr/bin/python3", ATTACKS, "list"], capture_output=True, text=True, check=True).stdout.split()
    sampler = Sampler(args.pid)
    print(f"attacks under load: {args.seconds:g} s each, the client's bulk echo and request/response beside each attack", flush=True)
    print("| attack | packets sent | packets/s | daemon CPU | daemon RSS | client bulk echo | vs baseline | client RR p50 / p99 | client exact | counters that rose most |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |", flush=True)

    client = in_netns(args.netns, "client", "--seconds", str(args.seconds + 1), "--samples")
    result = finish(client, "the baseline client")
    first = result["progress"][0][0] if result.get("progress") else time.monotonic()
    start, end = first + 0.5, first + 0.5 + args.seconds
    baseline, p50, p99, _ = client_window(result, start, end)
    cpu, rss = sampler.window(start, end)
    print(f"| none (baseline) | 0 | 0 | {cpu:.0f}% | {rss / 2**20:.0f} MiB | {baseline:,.0f} Mbit/s | 100% | {p50:.2f} / {p99:.2f} ms | "
          f"{'yes' if result['exact'] else 'NO: ' + '; '.join(result['errors'])} | |", flush=True)

    for name in names:
        time.sleep(1)
        before = counters(args.control)
        # The client connects, the attacker builds its packets (seeing the client's connections),
        # and only then do both start: the client first, the attack half a second later, ending a
        # second before the client does.
        client = in_netns(args.netns, "client", "--seconds", str(args.seconds + 1.5), "--samples", "--wait")
        expect(client, "connected", "the client")
        attacker = in_netns(args.netns, "attack", name, "--seconds", str(args.seconds), "--wait")
        expect(attacker, "ready", f"attack {name}")
        go(client)
        time.sleep(0.5)
        go(attacker)
        attack = finish(attacker, f"attack {name}")
        result = finish(client, "the client")
        after = counters(args.control)
        start, end = attack["start"], attack["end"]
        mbit, p50, p99, answers = client_window(result, start, end)
        cpu, rss = sampler.window(start, end)
        exact = "yes" if result["exact"] else "NO: " + "; ".join(result["errors"])
        print(f"| {name} | {attack['packets']:,} | {attack['packets_per_second']:,} | {cpu:.0f}% | {rss / 2**20:.0f} MiB | "
              f"{mbit:,.0f} Mbit/s | {mbit / baseline * 100 if baseline else 0:.0f}% | {p50:.2f} / {p99:.2f} ms | {exact} | {rose(before, after)} |", flush=True)
    sampler.running = False
    return 0


if __name__ == "__main__":
    sys.exit(main())
