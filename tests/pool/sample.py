# sample.py PID OUT [INTERVAL_MS [MAX_SECONDS]]: the number of live (not
# zombie) children of PID, one line in OUT every INTERVAL_MS (20), until
# PID is gone, OUT.stop appears or MAX_SECONDS (120) have passed. One
# process that forks nothing, so that sampling every 20 ms costs little on
# a loaded machine, where a shell loop would fork three processes a
# sample. Every child it sees is appended, with its start time, to the
# file TRACK names (lib.sh's .pids: the test file kills those still
# running at exit, and only when they are still the same process).
import os
import sys
import time

pid = int(sys.argv[1])
out = sys.argv[2]
interval = (int(sys.argv[3]) if len(sys.argv) > 3 else 20) / 1000.0
limit = float(sys.argv[4]) if len(sys.argv) > 4 else 120.0
track = os.environ.get("TRACK")


def stat_of(p):
    """State letter, parent pid and start time of p, or None."""
    try:
        with open("/proc/%d/stat" % p) as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()
    if len(rest) < 20:
        return None
    return rest[0], int(rest[1]), rest[19]


def children(p):
    """Pids whose parent is p: the kernel's list where it keeps one,
    else a pass over /proc."""
    try:
        with open("/proc/%d/task/%d/children" % (p, p)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        pass
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = stat_of(int(name))
            if st is not None and st[1] == p:
                found.append(int(name))
    return found


seen = set()
end = time.monotonic() + limit
with open(out, "w") as f:
    while time.monotonic() < end and not os.path.exists(out + ".stop"):
        me = stat_of(pid)
        if me is None or me[0] in ("Z", "X"):
            break
        n = 0
        for c in children(pid):
            st = stat_of(c)
            if st is None or st[0] in ("Z", "X") or st[1] != pid:
                continue
            n += 1
            if (c, st[2]) not in seen:
                seen.add((c, st[2]))
                if track:
                    with open(track, "a") as t:
                        t.write("%d %s\n" % (c, st[2]))
        f.write("%d\n" % n)
        f.flush()
        time.sleep(interval)
