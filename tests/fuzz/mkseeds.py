#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/<harness>/.

The seeds are committed; this script only says how they were made and
regenerates them (python3 tests/fuzz/mkseeds.py). Each seed is a small,
meaningful input: a real request stream as nginx sends it, a GET_VALUES
query, pairs split across records, a command line from the man page.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

BEGIN, ABORT, END, PARAMS, STDIN, STDOUT, STDERR, DATA, GET_VALUES = range(1, 10)
RESPONDER, AUTHORIZER, FILTER = 1, 2, 3
KEEP = 1


def record(rtype, rid, content=b"", pad=None, version=1):
    if pad is None:
        pad = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBB", version, rtype, rid, len(content), pad, 0) \
        + content + b"\0" * pad


def length(n, long_form=False):
    if n < 128 and not long_form:
        return bytes([n])
    return struct.pack(">I", n | 0x80000000)


def pair(name, value, long_form=False):
    name, value = name.encode(), value.encode()
    return length(len(name), long_form) + length(len(value), long_form) \
        + name + value


def begin(rid, role=RESPONDER, flags=0):
    return record(BEGIN, rid, struct.pack(">HB5x", role, flags))


NGINX = [
    ("QUERY_STRING", "a=1&b=2"), ("REQUEST_METHOD", "GET"),
    ("CONTENT_TYPE", ""), ("CONTENT_LENGTH", ""),
    ("SCRIPT_NAME", "/cgi-bin/hello.cgi"),
    ("REQUEST_URI", "/cgi-bin/hello.cgi?a=1&b=2"),
    ("DOCUMENT_URI", "/cgi-bin/hello.cgi"), ("DOCUMENT_ROOT", "/srv/www"),
    ("SERVER_PROTOCOL", "HTTP/1.1"), ("REQUEST_SCHEME", "http"),
    ("GATEWAY_INTERFACE", "CGI/1.1"), ("SERVER_SOFTWARE", "nginx/1.22.1"),
    ("REMOTE_ADDR", "127.0.0.1"), ("REMOTE_PORT", "51234"),
    ("SERVER_ADDR", "127.0.0.1"), ("SERVER_PORT", "80"),
    ("SERVER_NAME", "localhost"), ("REDIRECT_STATUS", "200"),
    ("SCRIPT_FILENAME", "/nonexistent-fuzz-dir/hello.cgi"),
    ("HTTP_HOST", "localhost"), ("HTTP_USER_AGENT", "curl/7.88.1"),
    ("HTTP_ACCEPT", "*/*"),
]


def params(pairs, rid=1, split=None):
    body = b"".join(pair(n, v) for n, v in pairs)
    if split is None:
        return record(PARAMS, rid, body) + record(PARAMS, rid)
    out = b""
    for a, b in zip([0] + split, split + [len(body)]):
        out += record(PARAMS, rid, body[a:b])
    return out + record(PARAMS, rid)


def request(rid=1, pairs=NGINX, body=b"", flags=0, split=None):
    out = begin(rid, RESPONDER, flags) + params(pairs, rid, split)
    if body:
        out += record(STDIN, rid, body)
    return out + record(STDIN, rid)


def get_values():
    q = pair("FCGI_MAX_CONNS", "") + pair("FCGI_MAX_REQS", "") + \
        pair("FCGI_MPXS_CONNS", "")
    return record(GET_VALUES, 0, q, pad=0) + record(GET_VALUES, 0)


def cgi_request_seeds():
    # Two bytes first: how the stream is cut (0x00 whole, 0x40-0x7f 1..8
    # bytes, 0x80-0xbf 1..64, 0xc0-0xff 1..4096), how it ends (low 2 bits:
    # client EOF, timeout, drain, worker close) and --cgi-max (the rest).
    post = [(n, v) for n, v in NGINX if n not in ("REQUEST_METHOD",
            "CONTENT_LENGTH", "CONTENT_TYPE")] + [
        ("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "7"),
        ("CONTENT_TYPE", "application/x-www-form-urlencoded")]
    outside = [(n, v) for n, v in NGINX if n != "SCRIPT_FILENAME"] + [
        ("SCRIPT_FILENAME", "/etc/passwd")]
    return {
        "nginx-get": b"\x00\x00" + request(),
        "nginx-get-bytewise": b"\x41\x00" + request(),
        "nginx-post-keepalive-twice": b"\xc5\x04" +
            request(1, post, b"a=1&b=2", KEEP) + request(2, NGINX, b"", KEEP),
        "get-values": b"\x00\x00" + get_values(),
        "get-values-then-request": b"\x90\x01" + get_values() + request(),
        "params-split-mid-pair": b"\x80\x02" +
            request(split=[1, 3, 17, 18, 40, 41, 300]),
        "params-long-lengths": b"\x00\x03" + begin(1) + record(PARAMS, 1,
            b"".join(pair(n, v, True) for n, v in NGINX)) +
            record(PARAMS, 1) + record(STDIN, 1),
        "unknown-role-and-busy": b"\x00\x00" + begin(1, AUTHORIZER, KEEP) +
            begin(2, RESPONDER, KEEP) + begin(3) + params(NGINX, 2) +
            record(STDIN, 2),
        "abort-during-params": b"\x00\x00" + begin(7, RESPONDER, KEEP) +
            record(PARAMS, 7, pair("A", "b")) + record(ABORT, 7) +
            request(8),
        "unknown-type-and-padding": b"\x00\x02" + record(12, 0, b"x" * 9,
            pad=255) + record(DATA, 1, b"d") + record(END, 0, b"\0" * 8) +
            request(),
        "params-claim-over-limit": b"\x00\x00" + begin(1) + record(PARAMS, 1,
            length(4) + length(200000, True) + b"NAME"),
        "bad-version": b"\x00\x00" + record(BEGIN, 1, b"\0\1" + b"\0" * 6,
            version=2),
        "begin-wrong-length": b"\x00\x01" + record(BEGIN, 1, b"\0\1\0"),
        "script-outside-dir": b"\x00\x00" + request(pairs=outside),
        "empty-params-stdin-order": b"\x80\x02" + begin(1, RESPONDER, KEEP) +
            record(STDIN, 1, b"early") + record(PARAMS, 1) + record(STDIN, 1) +
            request(2),
    }


def fcgi_seeds():
    # The record and pair parsers take the same streams, without the two
    # control bytes.
    out = {}
    for name, data in cgi_request_seeds().items():
        if data[2:] not in out.values():
            out[name] = data[2:]
    out["pairs-only"] = b"".join(pair(n, v) for n, v in NGINX)
    out["pairs-long"] = pair("X" * 200, "y" * 300) + pair("a", "", True)
    out["end-request"] = record(END, 1, struct.pack(">IB3x", 255, 0))
    return out


def cgi_header_seeds():
    return {
        "content-type-crlf": b"Content-Type: text/html\r\n\r\n<p>hi</p>\n",
        "content-type-lf": b"Content-type: text/plain\n\nhello\n",
        "nph": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nbody",
        "nph-404": b"HTTP/1.0 404 Not Found\nContent-Type: text/plain\n\n",
        "status-only": b"Status: 304 Not Modified\r\n\r\n",
        "location": b"Location: /elsewhere\n\n",
        "no-required-header": b"X-Powered-By: sh\r\n\r\nbody",
        "no-blank-line": b"Content-Type: text/plain\r\nbody",
        "bad-status": b"Status: 99 Low\r\nContent-Type: text/plain\r\n\r\n",
        "bad-nph": b"HTTP/1.1 20\r\n\r\n",
        "empty": b"\r\n",
        "space-in-name": b"Content Type: text/plain\n\n",
        "mixed-endings": b"Status: 200 OK\nContent-Type: a/b\r\n\n",
    }


def cgi_env_seeds():
    # PARAMS streams as build_envp gets them: what nginx sends, what the
    # policy must drop, a duplicate of an -e name, NUL and '=' inside.
    def stream(pairs):
        return b"".join(pair(n, v) for n, v in pairs)
    return {
        "nginx": stream(NGINX),
        "denied": stream([("HTTP_PROXY", "http://evil"), ("LD_PRELOAD",
            "/tmp/x.so"), ("PATH", "/tmp"), ("BASH_FUNC_x%%", "() { :; }"),
            ("PYTHONPATH", "/tmp"), ("HTTP_X", "ok")]),
        "admin-names": stream([("HTTP_HOST", "client"), ("QUERY_STRING",
            "a"), ("REMOTE_USER", "mallory")]),
        "odd-bytes": stream([("A=B", "c"), ("", "empty"), ("N", "v\0w"),
            ("X\0Y", "z"), ("LONG", "v" * 300)]),
    }


def cgi_addrs_seeds():
    # FCGI_WEB_SERVER_ADDRS values: what libfcgi takes, blanks, junk, more
    # than the 32 the bridge keeps.
    many = ",".join("10.0.0.%d" % i for i in range(40))
    return {
        "one": b"127.0.0.1",
        "v4-v6": b"127.0.0.1,::1",
        "blanks-junk": b" 10.0.0.1 ,\t192.0.2.5,bogus,,fe80::1,",
        "mapped": b"::ffff:192.0.2.1",
        "many": many.encode(),
        "control": b"1.2.3.4\n,5.6.7.8\x01",
    }


def argv(*words):
    return b"\0".join(w.encode() for w in words)


def args_seeds():
    return {
        "socket-children": argv("-s", "/tmp/x", "-F", "4", "--", "/bin/true"),
        "port-php": argv("-a", "127.0.0.1", "-p", "9000", "-C", "2", "-u",
            "www-data", "-g", "www-data", "-P", "/run/php.pid", "--",
            "/usr/bin/php-cgi"),
        "cgi-dir": argv("--cgi-dir=/srv/cgi", "-s", "/run/cgi.sock", "-w",
            "--cgi-timeout", "30", "--cgi-max=8"),
        "cgi-program": argv("--cgi", "-s", "/run/git.sock", "-F", "2", "-e",
            "GIT_PROJECT_ROOT=/srv/git", "-e", "GIT_HTTP_EXPORT_ALL", "--",
            "/usr/lib/git-core/git-http-backend"),
        "probe": argv("--probe", "/run/php.sock", "--check-timeout", "500"),
        "env-limits": argv("-E", "-e", "A=1", "-e", "B", "--limit",
            "nofile=1024", "--limit=core=unlimited", "--limit", "nproc=64",
            "-s", "/s", "prog"),
        "respawn": argv("-wr", "--retries", "3", "--stop-signal", "SIGQUIT",
            "--stop-timeout=3", "--subreaper", "--min-uptime", "200", "-s",
            "x", "prog", "arg"),
        "chroot": argv("-n", "-c", "/srv/jail", "-S", "-d", "/", "-u",
            "nobody", "-s", "/jail.sock", "-M", "0660", "-U", "www-data",
            "-G", "www-data", "prog"),
        "fd-backlog": argv("--fd", "3", "-b", "100", "prog"),
        "shell": argv("-f", "php-cgi -b 127.0.0.1:9000", "-p", "9000"),
        "privs": argv("--nice", "-5", "--umask", "022", "--output",
            "/tmp/o.log", "--no-new-privs", "-w", "-s", "x", "p"),
        "needs-value": argv("-F"),
        "unknown": argv("--bogus=1", "x"),
        "newline-value": argv("-F", "1\n2", "p"),
        "check": argv("--check", "--check-timeout=100", "--fd-name=web", "p"),
    }


def values_seeds():
    words = ["42", "-20", "0660", "777", "SIGTERM", "hup", "15",
             "nofile=1024", "core=unlimited", "127.0.0.1", "::1", "[::1]",
             "::ffff:10.0.0.1", "/run/php.sock", "127.0.0.1:9000",
             "[::1]:9000", "localhost:80", "9223372036854775807",
             "-9223372036854775808", "./rel.sock", "fe80::1%lo"]
    return {"v%02d" % i: w.encode() for i, w in enumerate(words)}


def grammar_seeds():
    # Bytes the args_grammar harness reads as word choices.
    return {"g%02d" % i: bytes(s) for i, s in enumerate([
        [5, 45, 5, 46, 6, 37, 6, 38, 7, 62, 7, 70],
        [0, 2, 50, 0, 7, 4, 7, 64],
        [16, 39, 57, 8, 40, 5, 7, 68],
        [24, 30, 52, 0, 31, 0],
    ])}


def write(harness, seeds):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def main():
    write("cgi_request", cgi_request_seeds())
    write("fcgi", fcgi_seeds())
    write("cgi_header", cgi_header_seeds())
    write("args", args_seeds())
    write("values", values_seeds())
    write("args_grammar", grammar_seeds())
    write("cgi_env", cgi_env_seeds())
    write("cgi_addrs", cgi_addrs_seeds())
    return 0


if __name__ == "__main__":
    sys.exit(main())
