# notify.py ADDR OUT READY [MAX_SECONDS]: a systemd notify listener. Binds
# the datagram socket ADDR (a path, or @name for the abstract namespace),
# creates READY, and writes every datagram it receives to OUT as one line,
# its own newlines turned into tabs (a STATUS= text has spaces). Ends after
# a datagram with STOPPING=1, or after MAX_SECONDS (60).
import socket
import sys
import time

addr, out, ready = sys.argv[1], sys.argv[2], sys.argv[3]
limit = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
open(ready, "w").close()
deadline = time.monotonic() + limit
with open(out, "a") as f:
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        text = d.decode("utf-8", "replace").strip("\n").replace("\n", "\t")
        f.write(text + "\n")
        f.flush()
        if "STOPPING=1" in text.split("\t"):
            break
