/*
 * pool: the supervisor's view of the system for the dynamic pool (see
 * pool.h). Linux only: TCP_INFO and sock_diag for the listen queue,
 * /proc/PID/syscall and /proc/PID/status for the children.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/types.h>

#include "pool.h"

#ifdef __linux__

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * The sock_diag netlink ABI (linux/netlink.h, linux/sock_diag.h,
 * linux/unix_diag.h), spelled out here because musl-gcc does not see the
 * kernel's headers. These layouts and numbers are a stable kernel ABI.
 */
#define NL_SOCK_DIAG		4	/* NETLINK_SOCK_DIAG */
#define NL_F_REQUEST		0x1	/* NLM_F_REQUEST */
#define NL_ERROR		2	/* NLMSG_ERROR */
#define NL_BY_FAMILY		20	/* SOCK_DIAG_BY_FAMILY */
#define NL_SHOW_ICONS		0x08	/* UDIAG_SHOW_ICONS */
#define NL_SHOW_RQLEN		0x10	/* UDIAG_SHOW_RQLEN */
#define NL_ATTR_ICONS		3	/* UNIX_DIAG_ICONS */
#define NL_ATTR_RQLEN		4	/* UNIX_DIAG_RQLEN */
/* An attribute's type without its NLA_F_NESTED, NLA_F_NET_BYTEORDER bits. */
#define NL_ATTR_TYPE_MASK	0x3fff

struct nl_addr {			/* struct sockaddr_nl */
	sa_family_t	family;
	unsigned short	pad;
	uint32_t	pid;
	uint32_t	groups;
};

struct nl_hdr {				/* struct nlmsghdr */
	uint32_t	len;
	uint16_t	type;
	uint16_t	flags;
	uint32_t	seq;
	uint32_t	pid;
};

struct nl_unix_req {			/* struct unix_diag_req */
	uint8_t		family;
	uint8_t		protocol;
	uint16_t	pad;
	uint32_t	states;
	uint32_t	ino;
	uint32_t	show;
	uint32_t	cookie[2];
};

struct nl_unix_msg {			/* struct unix_diag_msg */
	uint8_t		family;
	uint8_t		type;
	uint8_t		state;
	uint8_t		pad;
	uint32_t	ino;
	uint32_t	cookie[2];
};

struct nl_attr {			/* struct rtattr / nlattr */
	uint16_t	len;
	uint16_t	type;
};

struct nl_rqlen {			/* struct unix_diag_rqlen */
	uint32_t	rqueue;
	uint32_t	wqueue;
};

struct nl_request {
	struct nl_hdr		hdr;
	struct nl_unix_req	req;
};

/* A wrong layout fails to compile here rather than confuse the kernel. */
typedef char pool_nl_hdr_is_16[sizeof(struct nl_hdr) == 16 ? 1 : -1];
typedef char pool_nl_unix_req_is_24[sizeof(struct nl_unix_req) == 24 ? 1 : -1];
typedef char pool_nl_unix_msg_is_16[sizeof(struct nl_unix_msg) == 16 ? 1 : -1];
typedef char pool_nl_request_is_40[sizeof(struct nl_request) == 40 ? 1 : -1];

#define NL_ALIGN(n)	(((n) + 3U) & ~(size_t)3U)

/*
 * The reply to a question about one socket is a few dozen bytes; netlink
 * advises a page-sized buffer, so nothing ever arrives cut short. A reply
 * from an earlier call that gave up waiting is told apart by its sequence
 * number and dropped.
 */
#define NL_BUFSIZE	8192
#define NL_WAIT_MS	100
#define NL_READS	8

/* The netlink socket, kept between calls: -1 until first used. */
static int nl_fd = -1;
static uint32_t nl_seq;

static int
tcp_queue(int sock, unsigned *cur, unsigned *max)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(sock, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return -1;
	if (len < offsetof(struct tcp_info, tcpi_sacked) +
	    sizeof(ti.tcpi_sacked))
		return -1;
	/*
	 * Only for a listener do these two fields mean the accept queue
	 * (sk_ack_backlog) and its bound (sk_max_ack_backlog); on a
	 * connection they count segments.
	 */
	if (ti.tcpi_state != TCP_LISTEN)
		return -1;
	*cur = ti.tcpi_unacked;
	*max = ti.tcpi_sacked;
	return 0;
}

static long long
now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return -1;
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The waiting connections' inodes, when asked for (UNIX_DIAG_ICONS): up
 * to icons_max of them into icons, their number into *icons_got.
 */
static uint32_t *icons;
static int icons_max, *icons_got;

static void
unix_icons(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i + 4 <= len && *icons_got < icons_max; i += 4)
		memcpy(&icons[(*icons_got)++], p + i, 4);
}

/*
 * One datagram from the kernel: 1 and *cur, *max set when it answers
 * question seq about inode ino; -1 when it answers it with an error or
 * with a socket that is not that listener; 0 when it answers something
 * else (a late reply to an earlier question).
 */
static int
unix_reply(const unsigned char *buf, size_t len, uint32_t seq, uint32_t ino,
    unsigned *cur, unsigned *max)
{
	struct nl_hdr h;
	struct nl_unix_msg m;
	struct nl_attr a;
	struct nl_rqlen rq;
	size_t off, end, at;
	int found = 0;

	for (off = 0; off < len && len - off >= sizeof(h);
	    off += NL_ALIGN(h.len)) {
		memcpy(&h, buf + off, sizeof(h));
		if (h.len < sizeof(h) || h.len > len - off)
			return 0;
		if (h.seq != seq)
			continue;
		if (h.type != NL_BY_FAMILY)
			return -1;
		end = off + h.len;
		at = off + sizeof(h);
		if (end - at < sizeof(m))
			return -1;
		memcpy(&m, buf + at, sizeof(m));
		if (m.family != AF_UNIX || m.ino != ino ||
		    m.state != TCP_LISTEN)
			return -1;
		for (at += NL_ALIGN(sizeof(m));
		    at < end && end - at >= sizeof(a); at += NL_ALIGN(a.len)) {
			memcpy(&a, buf + at, sizeof(a));
			if (a.len < sizeof(a) || a.len > end - at)
				return -1;
			if ((a.type & NL_ATTR_TYPE_MASK) == NL_ATTR_ICONS &&
			    icons != NULL)
				unix_icons(buf + at + sizeof(a), a.len - sizeof(a));
			if ((a.type & NL_ATTR_TYPE_MASK) != NL_ATTR_RQLEN)
				continue;
			if (a.len < sizeof(a) + sizeof(rq))
				return -1;
			memcpy(&rq, buf + at + sizeof(a), sizeof(rq));
			*cur = rq.rqueue;
			*max = rq.wqueue;
			found = 1;
		}
		return found ? 1 : -1;
	}
	return 0;
}

/*
 * sock_diag answers a question about one unix socket, named by its inode,
 * from within sendto(): the reply is queued before sendto() returns, so
 * the first recv() normally finds it and poll() is only a safety net.
 */
static int
unix_queue(int sock, unsigned *cur, unsigned *max)
{
	unsigned char buf[NL_BUFSIZE];
	struct nl_request rq;
	struct nl_addr kernel, from;
	struct stat st;
	struct pollfd pfd;
	socklen_t fromlen;
	long long deadline = -1, left;
	uint32_t ino;
	ssize_t n;
	int i, r;

	if (fstat(sock, &st) == -1 || !S_ISSOCK(st.st_mode))
		return -1;
	/* sock_diag names a socket by a 32-bit inode number. */
	ino = (uint32_t)st.st_ino;
	if (ino == 0 || ino != st.st_ino)
		return -1;
	if (nl_fd == -1) {
		nl_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
		    NL_SOCK_DIAG);
		if (nl_fd == -1)
			return -1;
	}

	memset(&kernel, 0, sizeof(kernel));
	kernel.family = AF_NETLINK;
	memset(&rq, 0, sizeof(rq));
	rq.hdr.len = sizeof(rq);
	rq.hdr.type = NL_BY_FAMILY;
	rq.hdr.flags = NL_F_REQUEST;
	rq.hdr.seq = ++nl_seq;
	rq.req.family = AF_UNIX;
	rq.req.states = 1U << TCP_LISTEN;
	rq.req.ino = ino;
	rq.req.show = NL_SHOW_RQLEN | (icons != NULL ? NL_SHOW_ICONS : 0);
	/* All ones: no cookie to check (INET_DIAG_NOCOOKIE). */
	rq.req.cookie[0] = rq.req.cookie[1] = ~(uint32_t)0;
	do
		n = sendto(nl_fd, &rq, sizeof(rq), 0,
		    (const struct sockaddr *)&kernel, sizeof(kernel));
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(rq)) {
		/*
		 * A descriptor that is no longer ours (closed behind our
		 * back) is forgotten, not closed: its number may be someone
		 * else's by now.
		 */
		if (n == -1 && (errno == EBADF || errno == ENOTSOCK))
			nl_fd = -1;
		return -1;
	}

	for (i = 0; i < NL_READS; i++) {
		fromlen = sizeof(from);
		memset(&from, 0, sizeof(from));
		/* MSG_TRUNC: the datagram's whole length, to see a cut. */
		n = recvfrom(nl_fd, buf, sizeof(buf),
		    MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from,
		    &fromlen);
		if (n >= 0) {
			/* Only the kernel (port 0) answers; drop the rest. */
			if ((size_t)n > sizeof(buf) || from.pid != 0)
				continue;
			r = unix_reply(buf, (size_t)n, rq.hdr.seq, ino,
			    cur, max);
			if (r != 0)
				return r == 1 ? 0 : -1;
			continue;
		}
		/* ENOBUFS: some earlier reply was dropped; read on. */
		if (errno == EINTR || errno == ENOBUFS)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (deadline == -1) {
			if ((deadline = now_ms()) == -1)
				return -1;
			deadline += NL_WAIT_MS;
		}
		if ((left = deadline - now_ms()) <= 0)
			return -1;
		pfd.fd = nl_fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)left) == 0)
			return -1;
	}
	return -1;
}

int
pool_listen_queue(int sock, unsigned *cur, unsigned *max)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	*cur = 0;
	*max = 0;
	memset(&ss, 0, sizeof(ss));
	if (getsockname(sock, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	switch (ss.ss_family) {
	case AF_INET:
	case AF_INET6:
		return tcp_queue(sock, cur, max);
	case AF_UNIX:
		return unix_queue(sock, cur, max);
	default:
		return -1;
	}
}

void
pool_release(void)
{
	if (nl_fd != -1)
		close(nl_fd);
	nl_fd = -1;
}

int
pool_listen_waiting(int sock, uint32_t *ino, int nino, unsigned *cur)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned max;
	int got = 0, r;

	*cur = 0;
	memset(&ss, 0, sizeof(ss));
	if (getsockname(sock, (struct sockaddr *)&ss, &len) == -1 ||
	    ss.ss_family != AF_UNIX)
		return -1;
	icons = ino;
	icons_max = nino;
	icons_got = &got;
	r = unix_queue(sock, cur, &max);
	icons = NULL;
	icons_got = NULL;
	return r == 0 ? got : -1;
}

/* "/proc/PID/leaf" into buf, which holds at least 64 bytes. */
static void
proc_path(char *buf, pid_t pid, const char *leaf)
{
	char digits[24];
	size_t n = 0, at;
	unsigned long v = (unsigned long)pid;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0 && n < sizeof(digits));
	memcpy(buf, "/proc/", 6);
	at = 6;
	while (n > 0)
		buf[at++] = digits[--n];
	buf[at++] = '/';
	while (*leaf != '\0' && at < 63)
		buf[at++] = *leaf++;
	buf[at] = '\0';
}

/*
 * The first line of a small /proc file into buf (NUL-terminated), or -1.
 * The kernel hands over a whole line in one read(); stopping at the
 * newline saves the read() that would only see the end of the file.
 */
static ssize_t
proc_read(pid_t pid, const char *leaf, char *buf, size_t size)
{
	char path[64];
	size_t have = 0;
	ssize_t n;
	int fd;

	proc_path(path, pid, leaf);
	do
		fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd == -1 && errno == EINTR);
	if (fd == -1)
		return -1;
	while (have < size - 1) {
		n = read(fd, buf + have, size - 1 - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		if (buf[have - 1] == '\n')
			break;
	}
	close(fd);
	buf[have] = '\0';
	return (ssize_t)have;
}

/* A decimal number at *s (an optional '-'), or 0 with *ok cleared. */
static long long
parse_dec(const char **s, int *ok)
{
	const char *p = *s;
	long long v = 0;
	int neg = 0;

	if (*p == '-') {
		neg = 1;
		p++;
	}
	if (*p < '0' || *p > '9') {
		*ok = 0;
		return 0;
	}
	while (*p >= '0' && *p <= '9' && v < 100000000000000000LL)
		v = v * 10 + (*p++ - '0');
	*s = p;
	return neg ? -v : v;
}

int
pool_in_accept(pid_t pid, int fd)
{
	/* Nine numbers of at most 19 characters each and spaces. */
	char buf[256];
	const char *p;
	unsigned long long arg = 0;
	long long nr;
	int ok = 1, hit = 0, digits = 0;

	if (pid <= 0 || fd < 0)
		return -1;
	if (proc_read(pid, "syscall", buf, sizeof(buf)) <= 0)
		return -1;
	if (strncmp(buf, "running", 7) == 0)
		return 0;
	p = buf;
	nr = parse_dec(&p, &ok);
	if (!ok || *p != ' ')
		return -1;
	/*
	 * Negative: blocked outside any system call (a page fault, say),
	 * followed by the stack and instruction pointers; both are 0 when
	 * there is no user context left, as in a zombie.
	 */
	if (nr < 0)
		return strcmp(p, " 0x0 0x0\n") == 0 ? -1 : 0;
#ifdef SYS_socketcall
	/*
	 * accept() through socketcall(2) keeps its descriptor in user
	 * memory, out of sight of this file.
	 */
	if (nr == SYS_socketcall)
		return -1;
#endif
#ifdef SYS_accept
	if (nr == SYS_accept)
		hit = 1;
#endif
#ifdef SYS_accept4
	if (nr == SYS_accept4)
		hit = 1;
#endif
#if !defined(SYS_accept) && !defined(SYS_accept4)
	return -1;
#endif
	if (!hit)
		return 0;
	p++;
	if (p[0] != '0' || p[1] != 'x')
		return -1;
	for (p += 2; digits < 16; p++, digits++) {
		if (*p >= '0' && *p <= '9')
			arg = arg << 4 | (unsigned)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			arg = arg << 4 | (unsigned)(*p - 'a' + 10);
		else
			break;
	}
	if (digits == 0)
		return -1;
	/* The kernel reads an int descriptor from the register's low half. */
	return (uint32_t)arg == (uint32_t)fd;
}

/* One line of /proc/PID/status: adds a context switch count it holds. */
static void
status_line(const char *line, size_t len, long long *sum, int *seen)
{
	static const char vol[] = "voluntary_ctxt_switches:";
	static const char nonvol[] = "nonvoluntary_ctxt_switches:";
	char num[32];
	const char *p;
	size_t skip, n;
	long long v;
	int bit, ok = 1;

	if (len > sizeof(vol) - 1 && memcmp(line, vol, sizeof(vol) - 1) == 0) {
		skip = sizeof(vol) - 1;
		bit = 1;
	} else if (len > sizeof(nonvol) - 1 &&
	    memcmp(line, nonvol, sizeof(nonvol) - 1) == 0) {
		skip = sizeof(nonvol) - 1;
		bit = 2;
	} else
		return;
	while (skip < len && (line[skip] == '\t' || line[skip] == ' '))
		skip++;
	n = len - skip;
	if (n == 0 || n >= sizeof(num))
		return;
	memcpy(num, line + skip, n);
	num[n] = '\0';
	p = num;
	v = parse_dec(&p, &ok);
	if (!ok || *p != '\0' || v < 0)
		return;
	*sum += v;
	*seen |= bit;
}

long long
pool_switches(pid_t pid)
{
	char path[64], buf[2048];
	const char *nl;
	size_t have = 0, start;
	long long sum = 0, total = 0;
	ssize_t n;
	int fd, seen = 0, skipping = 0;

	if (pid <= 0)
		return -1;
	proc_path(path, pid, "status");
	do
		fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd == -1 && errno == EINTR);
	if (fd == -1)
		return -1;
	/*
	 * Line by line through a fixed buffer, since a long Groups: or
	 * Cpus_allowed: line can make the file larger than any buffer
	 * worth keeping on the stack. The two lines wanted come last; the
	 * read stops there. A megabyte bounds it.
	 */
	while (seen != 3 && total < 1024 * 1024) {
		n = read(fd, buf + have, sizeof(buf) - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += n;
		have += (size_t)n;
		start = 0;
		while ((nl = memchr(buf + start, '\n', have - start)) != NULL) {
			if (!skipping)
				status_line(buf + start,
				    (size_t)(nl - (buf + start)), &sum, &seen);
			skipping = 0;
			start = (size_t)(nl - buf) + 1;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		/* A line longer than the buffer is none of the two wanted. */
		if (have == sizeof(buf)) {
			have = 0;
			skipping = 1;
		}
	}
	close(fd);
	return seen == 3 ? sum : -1;
}

#else /* !__linux__ */

void
pool_release(void)
{
}

int
pool_listen_waiting(int sock, uint32_t *ino, int nino, unsigned *cur)
{
	(void)sock;
	(void)ino;
	(void)nino;
	*cur = 0;
	return -1;
}

int
pool_listen_queue(int sock, unsigned *cur, unsigned *max)
{
	(void)sock;
	*cur = 0;
	*max = 0;
	return -1;
}

int
pool_in_accept(pid_t pid, int fd)
{
	(void)pid;
	(void)fd;
	return -1;
}

long long
pool_switches(pid_t pid)
{
	(void)pid;
	return -1;
}

#endif /* __linux__ */
