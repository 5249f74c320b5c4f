# withfd.py KIND TARGET FD PROGRAM [ARG...]: opens a listening socket of
# KIND (unix: TARGET is a path; tcp: TARGET is a port on 127.0.0.1), puts
# it on descriptor FD, non-blocking (spawn must hand it on blocking) and
# inheritable, and execs PROGRAM with it.
import os, socket, sys

kind, target, fd = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind == "unix":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(target)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(target)))
s.listen(64)
s.setblocking(False)
if s.fileno() != fd:
    os.dup2(s.fileno(), fd)
os.set_inheritable(fd, True)
os.execv(sys.argv[4], sys.argv[4:])
