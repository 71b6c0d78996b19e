# Opens N TCP connections from SOURCE to the daemon's echo service (10.77.0.2:7) and holds them:
# touches READY/SOURCE once all are open, waits for READY/go, then checks every 500th still echoes,
# closes them all and prints the count of echo failures. Used by connections-at-scale.sh and
# status-page-wrk.sh, one process per source address (a process holds at most its descriptor limit).
# Usage: python3 perf/idle-connections.py SOURCE N READY
import os
import resource
import socket
import sys
import time

src, n, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
socks = []
for _ in range(n):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(10)
    s.connect(("10.77.0.2", 7))
    socks.append(s)
open(os.path.join(ready, src), "w").close()
while not os.path.exists(os.path.join(ready, "go")):
    time.sleep(0.1)
bad = 0
for s in socks[::500]:
    s.sendall(b"still here")
    bad += s.recv(100) != b"still here"
for s in socks:
    s.close()
print(src, n, "echo failures", bad)
