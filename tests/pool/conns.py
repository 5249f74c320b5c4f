# conns.py PID OUT [MAX_SECONDS]: every 20 ms, the most connections any
# child of PID holds (its socket descriptors other than 0, the listening
# socket), one line in OUT, until OUT.stop appears, PID is gone or
# MAX_SECONDS (60) have passed. For the CGI bridge's workers, which should
# take no more connections than they may run scripts for (--cgi-max).
import os
import sys
import time

pid = int(sys.argv[1])
out = sys.argv[2]
limit = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0


def children(p):
    try:
        with open("/proc/%d/task/%d/children" % (p, p)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def held(c):
    n = 0
    try:
        fds = os.listdir("/proc/%d/fd" % c)
    except OSError:
        return 0
    for fd in fds:
        if fd == "0":
            continue
        try:
            if os.readlink("/proc/%d/fd/%s" % (c, fd)).startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


end = time.monotonic() + limit
with open(out, "w") as f:
    while time.monotonic() < end and not os.path.exists(out + ".stop"):
        if not os.path.exists("/proc/%d" % pid):
            break
        f.write("%d\n" % max([held(c) for c in children(pid)] or [0]))
        f.flush()
        time.sleep(0.02)
