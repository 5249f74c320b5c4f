# freeport.py ADDR: prints a TCP port that is free on ADDR (127.0.0.1 or
# ::1) right now, as the kernel picks one for port 0; exits 1 when ADDR
# cannot be bound at all (no IPv6).
import socket, sys

addr = sys.argv[1]
family = socket.AF_INET6 if ":" in addr else socket.AF_INET
try:
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((addr, 0))
except OSError:
    sys.exit(1)
print(s.getsockname()[1])
