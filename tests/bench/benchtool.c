/*
 * benchtool: the timing and process chores of tests/bench/run.sh, done in C
 * so that a shell's own fork and exec do not land inside the measurements.
 *
 *   benchtool reap CMD ...            run CMD as a child subreaper; when it
 *                                     ends, kill and reap every orphan left
 *   benchtool trial MSFILE N CMD ...  time CMD (fork to exit) and append the
 *                                     milliseconds to MSFILE, then check that
 *                                     exactly N processes were left running,
 *                                     kill and reap them
 *   benchtool children PID            print PID's live children
 *   benchtool waitn PID N MS          wait until PID has N live children
 *   benchtool respawn PID FILE COUNT GAPMS
 *                                     COUNT times: SIGKILL PID's newest child
 *                                     (from FILE, written by sleeper) and
 *                                     print the microseconds until the new
 *                                     child's own clock reading in FILE
 *   benchtool reload PID N SIG MS     send SIG to PID and wait until all its
 *                                     children are new ones, N of them; print
 *                                     the milliseconds this took
 *   benchtool rolling PID N SIG MS    the same, sending SIG to PID's children
 *                                     one by one, each time waiting for PID
 *                                     to have N children again
 *   benchtool stop PID SIG MS         send SIG to PID and wait for it to die;
 *                                     after MS, SIGKILL it and its children
 *   benchtool cgiload SOCK CONNS MS SCRIPT [BODY [MAX [QUERY]]]
 *                                     keep CONNS FastCGI RESPONDER requests
 *                                     in flight at the unix socket SOCK for
 *                                     MS milliseconds (or until MAX have
 *                                     started and ended), each on a new
 *                                     connection, with SCRIPT as
 *                                     SCRIPT_FILENAME, QUERY as QUERY_STRING
 *                                     and a body of BODY zero bytes; print
 *                                     requests=N failed=N ms=N rps=N
 *                                     out_bytes=N body=FIRST-LINE (of the
 *                                     last good response's body)
 *   benchtool burst SOCK N MS [SCRIPT]
 *                                     send N such requests at once, each on
 *                                     its own connection, and print
 *                                     requests=N failed=N unanswered=N
 *                                     ms=N (from the first connect to the
 *                                     last answer) first_ms=N (to the first
 *                                     answer); requests not answered in MS
 *                                     count as unanswered
 *   benchtool accepting PID N MS      wait until PID has N live children,
 *                                     each blocked in accept() (Linux:
 *                                     /proc/CHILD/syscall)
 *
 * It only ever signals processes that it started itself or that are
 * children of a PID the caller started (checked in /proc before each kill).
 * A process in state Z counts as gone: it is dead, only not yet reaped.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fcgi.h"

#define MAXPROCS 8192

static pid_t cmdpid;

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Returns 1 if pid exists and is not a zombie, filling in its parent. */
static int
alive(pid_t pid, pid_t *ppid)
{
	char path[64], buf[512], *p, state;
	ssize_t n;
	int fd, pp;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %c %d", &state, &pp) != 2)
		return 0;
	if (ppid != NULL)
		*ppid = pp;
	return state != 'Z' && state != 'X';
}

/* The live children of parent, found by scanning /proc. */
static int
children(pid_t parent, pid_t *out, int max)
{
	struct dirent *d;
	DIR *dir;
	pid_t pid, pp;
	int n = 0;

	if ((dir = opendir("/proc")) == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL && n < max) {
		if ((pid = (pid_t)strtol(d->d_name, NULL, 10)) <= 0)
			continue;
		if (alive(pid, &pp) && pp == parent)
			out[n++] = pid;
	}
	closedir(dir);
	return n;
}

static int
is_child_of(pid_t pid, pid_t parent)
{
	pid_t pp;

	return alive(pid, &pp) && pp == parent;
}

/* Kills every child of ours, and the orphans that come after, and reaps. */
static void
kill_and_reap_all(void)
{
	static pid_t list[MAXPROCS];
	pid_t pid;
	int i, n;

	for (;;) {
		n = children(getpid(), list, MAXPROCS);
		for (i = 0; i < n; i++)
			kill(list[i], SIGKILL);
		pid = waitpid(-1, NULL, WNOHANG);
		if (pid == -1 && errno == ECHILD)
			return;
		if (pid <= 0)
			sleep_us(1000);
	}
}

static pid_t
run(char **argv, int quiet)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) == 0) {
		if (quiet && (fd = open("/dev/null", O_WRONLY)) != -1)
			dup2(fd, 1);
		execvp(argv[0], argv);
		fprintf(stderr, "benchtool: exec %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	return pid;
}

static void
forward(int sig)
{
	if (cmdpid > 0)
		kill(cmdpid, sig);
}

static int
cmd_reap(char **argv)
{
	struct sigaction sa;
	pid_t pid;
	int st, code = 1;

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = forward;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if ((cmdpid = run(argv, 0)) == -1)
		return 1;
	for (;;) {
		pid = waitpid(-1, &st, 0);
		if (pid == -1 && errno == EINTR)
			continue;
		if (pid == -1)
			break;
		if (pid == cmdpid) {
			code = WIFEXITED(st) ? WEXITSTATUS(st) :
			    128 + WTERMSIG(st);
			break;
		}
	}
	cmdpid = 0;
	kill_and_reap_all();
	return code;
}

static int
cmd_trial(const char *msfile, long want, char **argv)
{
	static pid_t list[MAXPROCS];
	long long t0, t1;
	FILE *f;
	pid_t pid;
	int st, i, n;

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	t0 = now_ns();
	pid = run(argv, 1);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	t1 = now_ns();
	n = children(getpid(), list, MAXPROCS);
	for (i = 0; i < n; i++)
		kill(list[i], SIGKILL);
	alarm(30);
	kill_and_reap_all();
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "benchtool: %s failed (status %d)\n", argv[0],
		    st);
		return 1;
	}
	if (n != want) {
		fprintf(stderr, "benchtool: %s left %d processes, not %ld\n",
		    argv[0], n, want);
		return 1;
	}
	if ((f = fopen(msfile, "a")) == NULL)
		return 1;
	fprintf(f, "%.3f\n", (t1 - t0) / 1e6);
	return fclose(f) == 0 ? 0 : 1;
}

static int
cmd_waitn(pid_t pid, int want, long ms)
{
	static pid_t list[MAXPROCS];
	long long end = now_ns() + ms * 1000000LL;

	while (children(pid, list, MAXPROCS) != want) {
		if (now_ns() > end || !alive(pid, NULL))
			return 1;
		sleep_us(2000);
	}
	return 0;
}

/*
 * Whether pid is blocked in accept() or accept4(), by the system call
 * number /proc/PID/syscall shows. Where the file cannot be read or the
 * numbers are unknown, it cannot tell and says yes, which leaves only the
 * count of children to wait for.
 */
static int
in_accept(pid_t pid)
{
	char path[64], buf[128];
	ssize_t n;
	long nr;
	int fd;

	snprintf(path, sizeof path, "/proc/%ld/syscall", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno != ENOENT;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	/* "running" while on a CPU: certainly not waiting in accept(). */
	if (sscanf(buf, "%ld", &nr) != 1)
		return 0;
#if defined(SYS_accept)
	if (nr == SYS_accept)
		return 1;
#endif
#if defined(SYS_accept4)
	if (nr == SYS_accept4)
		return 1;
#endif
#if defined(SYS_accept) || defined(SYS_accept4)
	return 0;
#else
	return 1;
#endif
}

/*
 * Waits until pid has want children and every one of them waits for a
 * connection, so that a measurement starts with the whole pool ready, not
 * with children still between fork and their first accept().
 */
static int
cmd_accepting(pid_t pid, int want, long ms)
{
	static pid_t list[MAXPROCS];
	long long end = now_ns() + ms * 1000000LL;
	int i, n;

	for (;;) {
		n = children(pid, list, MAXPROCS);
		for (i = 0; n == want && i < n; i++)
			if (!in_accept(list[i]))
				break;
		if (n == want && i == n)
			return 0;
		if (now_ns() > end || !alive(pid, NULL)) {
			fprintf(stderr, "benchtool: %ld has %d children, %d of "
			    "them in accept(), not %d\n", (long)pid, n,
			    n == want ? i : 0, want);
			return 1;
		}
		sleep_us(2000);
	}
}

/* Reads FILE; returns its line count and the pid and stamp of line k. */
static int
ready_lines(const char *file, int k, long *pid, long long *ns)
{
	static char buf[65536];
	char *p, *line;
	ssize_t n;
	int fd, count = 0;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (line = buf; (p = strchr(line, '\n')) != NULL; line = p + 1) {
		if (count == k || k < 0)
			sscanf(line, "%ld %lld", pid, ns);
		count++;
	}
	return count;
}

static int
cmd_respawn(pid_t super, const char *file, int count, long gap)
{
	long long t0, ns, end;
	long victim, pid;
	int i, n, m;

	end = now_ns() + 5000000000LL;
	while ((n = ready_lines(file, -1, &victim, &ns)) < 1) {
		if (now_ns() > end) {
			fprintf(stderr, "benchtool: no child wrote %s\n", file);
			return 1;
		}
		sleep_us(1000);
	}
	for (i = 0; i < count; i++) {
		sleep_us(gap * 1000);
		n = ready_lines(file, -1, &victim, &ns);
		if (!is_child_of((pid_t)victim, super)) {
			fprintf(stderr, "benchtool: %ld is not a live child "
			    "of %ld\n", victim, (long)super);
			return 1;
		}
		t0 = now_ns();
		kill((pid_t)victim, SIGKILL);
		end = t0 + 5000000000LL;
		while ((m = ready_lines(file, n, &pid, &ns)) <= n) {
			if (now_ns() > end) {
				fprintf(stderr, "benchtool: no new child "
				    "after 5 s\n");
				return 1;
			}
			sleep_us(200);
		}
		printf("%.1f\n", (ns - t0) / 1e3);
	}
	return 0;
}

/* Whether none of the n pids in old is still a live child of super. */
static int
all_replaced(pid_t super, const pid_t *old, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (is_child_of(old[i], super))
			return 0;
	return 1;
}

/*
 * Replaces super's children, either by sending sig to super (a reload) or,
 * with rolling set, by sending sig to each child in turn and waiting for
 * super to restart it. Prints the milliseconds until every old child was
 * gone and super had want children again.
 */
static int
cmd_replace(pid_t super, int want, int sig, long ms, int rolling)
{
	static pid_t old[MAXPROCS], now[MAXPROCS];
	long long t0, end;
	int i, n;

	n = children(super, old, MAXPROCS);
	t0 = now_ns();
	end = t0 + ms * 1000000LL;
	if (!rolling)
		kill(super, sig);
	for (i = 0; i < (rolling ? n : 1); i++) {
		if (rolling && is_child_of(old[i], super))
			kill(old[i], sig);
		for (;;) {
			if ((rolling ? !is_child_of(old[i], super) :
			    all_replaced(super, old, n)) &&
			    children(super, now, MAXPROCS) == want)
				break;
			if (now_ns() > end || !alive(super, NULL)) {
				fprintf(stderr, "benchtool: children of %ld "
				    "not replaced in %ld ms\n", (long)super, ms);
				return 1;
			}
			sleep_us(1000);
		}
	}
	printf("%.1f\n", (now_ns() - t0) / 1e6);
	return 0;
}

static int
cmd_stop(pid_t pid, int sig, long ms)
{
	static pid_t list[MAXPROCS];
	long long end = now_ns() + ms * 1000000LL;
	int i, n;

	n = children(pid, list, MAXPROCS);
	if (!alive(pid, NULL))
		return 0;
	kill(pid, sig);
	while (alive(pid, NULL)) {
		if (now_ns() > end) {
			kill(pid, SIGKILL);
			for (i = 0; i < n; i++)
				if (is_child_of(list[i], pid) ||
				    is_child_of(list[i], 1))
					kill(list[i], SIGKILL);
			return 1;
		}
		sleep_us(2000);
	}
	return 0;
}

/*
 * cgiload: the FastCGI load generator of part 5 (the CGI bridge). Every
 * connection sits in one poll loop and each request is written and read
 * at the same time, so that a server that answers before it has read the
 * whole body, or streams a large response, never stalls the client.
 * Records are built and parsed with the product's own fcgi.c.
 */

#define CHUNK 32768		/* request body bytes per STDIN record */
#define HEAD_MAX 4096		/* response bytes kept to check the header */
#define MAX_CONNS 1024
#define NREASONS 8
#define REQUEST_ID 1

enum conn_state { C_IDLE, C_WAIT, C_BUSY };

struct load {
	struct sockaddr_un sun;
	unsigned char prefix[8192];	/* BEGIN_REQUEST and PARAMS */
	size_t prefix_len;
	unsigned char chunk[FCGI_HEADER_LEN + CHUNK];
	unsigned char tail[FCGI_HEADER_LEN + CHUNK + 8];
	size_t tail_len;
	unsigned char stdin_end[FCGI_HEADER_LEN];
	long long body, max, started, ok, failed, out_bytes;
	long long first_end, last_end;	/* when requests ended (burst) */
	int burst;
	char last_body[80], first[160];
	const char *reason[NREASONS];
	long long nreason[NREASONS];
};

struct conn {
	enum conn_state state;
	int fd;
	long long retry_at;
	const unsigned char *out;	/* the piece being written */
	size_t out_len, out_off;
	long long body_left;
	int stdin_ended;
	unsigned char hdr[FCGI_HEADER_LEN];	/* the record being read */
	size_t hdr_have, content_left, pad_left;
	struct fcgi_header h;
	unsigned char end[8];
	size_t end_have;
	unsigned char head[HEAD_MAX];	/* the start of STDOUT */
	size_t head_len;
	long long out_bytes;
};

static void
add_pair(unsigned char *buf, size_t cap, size_t *len, const char *name,
    const char *value)
{
	*len += fcgi_encode_pair(buf + *len, cap - *len, name, strlen(name),
	    value, strlen(value));
}

/* The bytes every request sends, built once. */
static int
build_request(struct load *l, const char *script, const char *query)
{
	static const unsigned char zeros[CHUNK];
	unsigned char params[4096], begin[8] = { 0, FCGI_RESPONDER, 0 };
	char docroot[1024], clen[32], *slash;
	size_t plen = 0, n;

	snprintf(docroot, sizeof docroot, "%s", script);
	if ((slash = strrchr(docroot, '/')) != NULL)
		*slash = '\0';
	snprintf(clen, sizeof clen, "%lld", l->body);
	add_pair(params, sizeof params, &plen, "GATEWAY_INTERFACE", "CGI/1.1");
	add_pair(params, sizeof params, &plen, "SERVER_SOFTWARE", "benchtool");
	add_pair(params, sizeof params, &plen, "SERVER_PROTOCOL", "HTTP/1.1");
	add_pair(params, sizeof params, &plen, "SERVER_NAME", "localhost");
	add_pair(params, sizeof params, &plen, "SERVER_PORT", "80");
	add_pair(params, sizeof params, &plen, "REMOTE_ADDR", "127.0.0.1");
	add_pair(params, sizeof params, &plen, "REMOTE_PORT", "40000");
	add_pair(params, sizeof params, &plen, "REQUEST_METHOD",
	    l->body > 0 ? "POST" : "GET");
	add_pair(params, sizeof params, &plen, "REQUEST_URI", "/bench");
	add_pair(params, sizeof params, &plen, "SCRIPT_NAME", "/bench");
	add_pair(params, sizeof params, &plen, "QUERY_STRING", query);
	add_pair(params, sizeof params, &plen, "DOCUMENT_ROOT", docroot);
	add_pair(params, sizeof params, &plen, "SCRIPT_FILENAME", script);
	if (l->body > 0) {
		add_pair(params, sizeof params, &plen, "CONTENT_LENGTH", clen);
		add_pair(params, sizeof params, &plen, "CONTENT_TYPE",
		    "application/octet-stream");
	}
	n = fcgi_record(l->prefix, sizeof l->prefix, FCGI_BEGIN_REQUEST,
	    REQUEST_ID, begin, sizeof begin);
	n += fcgi_record(l->prefix + n, sizeof l->prefix - n, FCGI_PARAMS,
	    REQUEST_ID, params, plen);
	n += fcgi_record(l->prefix + n, sizeof l->prefix - n, FCGI_PARAMS,
	    REQUEST_ID, NULL, 0);
	fcgi_record(l->stdin_end, sizeof l->stdin_end, FCGI_STDIN, REQUEST_ID,
	    NULL, 0);
	/* Without a body, the whole request goes out in one write. */
	if (l->body == 0)
		n += fcgi_record(l->prefix + n, sizeof l->prefix - n,
		    FCGI_STDIN, REQUEST_ID, NULL, 0);
	l->prefix_len = n;
	/* The body: whole CHUNKs, then what is left, if anything. */
	fcgi_record(l->chunk, sizeof l->chunk, FCGI_STDIN, REQUEST_ID, zeros,
	    CHUNK);
	l->tail_len = fcgi_record(l->tail, sizeof l->tail, FCGI_STDIN,
	    REQUEST_ID, zeros, (size_t)(l->body % CHUNK));
	return plen > 0 && l->prefix_len > 3 * FCGI_HEADER_LEN ? 0 : -1;
}

static void
fail(struct load *l, const char *reason, const char *detail)
{
	int i;

	l->failed++;
	if (l->first[0] == '\0')
		snprintf(l->first, sizeof l->first, "%s%s%s", reason,
		    detail != NULL ? ": " : "", detail != NULL ? detail : "");
	for (i = 0; i < NREASONS; i++) {
		if (l->reason[i] == NULL)
			l->reason[i] = reason;
		if (strcmp(l->reason[i], reason) == 0) {
			l->nreason[i]++;
			return;
		}
	}
}

/* The next piece of the request to write, or none. */
static void
next_out(struct load *l, struct conn *c)
{
	c->out_off = 0;
	if (c->body_left >= CHUNK) {
		c->out = l->chunk;
		c->out_len = sizeof l->chunk;
		c->body_left -= CHUNK;
	} else if (c->body_left > 0) {
		c->out = l->tail;
		c->out_len = l->tail_len;
		c->body_left = 0;
	} else if (!c->stdin_ended) {
		c->out = l->stdin_end;
		c->out_len = sizeof l->stdin_end;
		c->stdin_ended = 1;
	} else {
		c->out = NULL;
		c->out_len = 0;
	}
}

static void
start_request(struct load *l, struct conn *c, long long now)
{
	int fd, busy;

	c->state = C_IDLE;
	if (l->max > 0 && l->started >= l->max)
		return;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		fail(l, "socket", strerror(errno));
		c->state = C_WAIT;
		c->retry_at = now + 1000000;
		return;
	}
	if (connect(fd, (struct sockaddr *)&l->sun, sizeof l->sun) == -1) {
		/*
		 * A full backlog refuses a non-blocking unix connect with
		 * EAGAIN: the server is busy, which is no failure. Either
		 * way, try again a little later instead of spinning.
		 */
		busy = errno == EAGAIN;
		if (!busy)
			fail(l, "connect", strerror(errno));
		close(fd);
		/* In a burst a refused request is over, not retried. */
		if (l->burst && !busy) {
			l->started++;
			return;
		}
		c->state = C_WAIT;
		c->retry_at = now + 1000000;
		return;
	}
	l->started++;
	memset(c, 0, sizeof *c);
	c->state = C_BUSY;
	c->fd = fd;
	c->out = l->prefix;
	c->out_len = l->prefix_len;
	c->body_left = l->body;
	c->stdin_ended = l->body == 0;
}

/*
 * Whether STDOUT began with a CGI header block: "Name: value" lines up to
 * an empty one, and a Status line, if any, of 2xx. On success the first
 * body line is kept in l->last_body.
 */
static const char *
check_head(struct load *l, struct conn *c, char *detail, size_t dlen)
{
	const char *p = (const char *)c->head, *end = p + c->head_len, *nl;
	const char *colon;
	size_t len;
	int first = 1;

	if (c->head_len == 0)
		return "empty STDOUT";
	for (;; first = 0) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return "no end of the header block in STDOUT";
		len = (size_t)(nl - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len == 0)
			break;
		colon = memchr(p, ':', len);
		if (colon == NULL || colon == p) {
			snprintf(detail, dlen, "%.*s", (int)(len < 60 ? len : 60),
			    p);
			return first ? "STDOUT does not begin with a header" :
			    "a line in the header block is no header";
		}
		if ((size_t)(colon - p) == 6 && strncasecmp(p, "Status", 6) == 0) {
			for (colon++; colon < p + len && *colon == ' '; colon++)
				;
			if (colon == p + len || *colon != '2') {
				snprintf(detail, dlen, "%.*s",
				    (int)(len < 60 ? len : 60), p);
				return "Status other than 2xx";
			}
		}
		p = nl + 1;
	}
	p = nl + 1;
	nl = memchr(p, '\n', (size_t)(end - p));
	len = (size_t)((nl != NULL ? nl : end) - p);
	snprintf(l->last_body, sizeof l->last_body, "%.*s",
	    (int)(len < sizeof l->last_body - 1 ? len :
	    sizeof l->last_body - 1), p);
	return NULL;
}

/* The request on c is over: counts it and closes the connection. */
static void
finish(struct load *l, struct conn *c, const char *why, const char *detail)
{
	char buf[96];
	unsigned long app;

	l->last_end = now_ns();
	if (l->first_end == 0)
		l->first_end = l->last_end;
	if (why == NULL) {
		app = (unsigned long)c->end[0] << 24 | (unsigned long)c->end[1] << 16 |
		    (unsigned long)c->end[2] << 8 | c->end[3];
		buf[0] = '\0';
		if (c->end[4] != FCGI_REQUEST_COMPLETE) {
			snprintf(buf, sizeof buf, "%d", c->end[4]);
			why = "END_REQUEST with a protocolStatus other than 0";
		} else if ((why = check_head(l, c, buf, sizeof buf)) == NULL &&
		    app != 0) {
			snprintf(buf, sizeof buf, "%lu", app);
			why = "END_REQUEST with an appStatus other than 0";
		}
		detail = buf[0] != '\0' ? buf : NULL;
	}
	if (why == NULL) {
		l->ok++;
		l->out_bytes += c->out_bytes;
	} else
		fail(l, why, detail);
	close(c->fd);
	c->fd = -1;
	c->state = C_IDLE;
}

/*
 * Feeds n bytes read from the server into c's record parser; sets *done
 * once END_REQUEST is complete. Returns NULL, or why the stream is bad.
 */
static const char *
feed(struct conn *c, const unsigned char *p, size_t n, int *done)
{
	size_t take;

	for (;;) {
		if (c->hdr_have == FCGI_HEADER_LEN && c->content_left == 0 &&
		    c->pad_left == 0) {
			if (c->h.type == FCGI_END_REQUEST) {
				*done = 1;
				return NULL;
			}
			c->hdr_have = 0;
		}
		if (n == 0)
			return NULL;
		if (c->hdr_have < FCGI_HEADER_LEN) {
			take = FCGI_HEADER_LEN - c->hdr_have;
			take = take < n ? take : n;
			memcpy(c->hdr + c->hdr_have, p, take);
			c->hdr_have += take;
			p += take;
			n -= take;
			if (c->hdr_have < FCGI_HEADER_LEN)
				continue;
			if (fcgi_decode_header(c->hdr, &c->h) == -1)
				return "a record with a version other than 1";
			if (c->h.request_id != REQUEST_ID)
				return "a record for another request id";
			if (c->h.type == FCGI_END_REQUEST &&
			    c->h.content_length != 8)
				return "an END_REQUEST record not 8 bytes long";
			if (c->h.type != FCGI_STDOUT && c->h.type != FCGI_STDERR &&
			    c->h.type != FCGI_END_REQUEST)
				return "a record of an unexpected type";
			c->content_left = (size_t)c->h.content_length;
			c->pad_left = (size_t)c->h.padding_length;
			continue;
		}
		if (c->content_left > 0) {
			take = c->content_left < n ? c->content_left : n;
			if (c->h.type == FCGI_STDOUT) {
				c->out_bytes += (long long)take;
				if (c->head_len < HEAD_MAX) {
					size_t k = HEAD_MAX - c->head_len;

					k = k < take ? k : take;
					memcpy(c->head + c->head_len, p, k);
					c->head_len += k;
				}
			} else if (c->h.type == FCGI_END_REQUEST) {
				memcpy(c->end + c->end_have, p, take);
				c->end_have += take;
			}
			c->content_left -= take;
		} else {
			take = c->pad_left < n ? c->pad_left : n;
			c->pad_left -= take;
		}
		p += take;
		n -= take;
	}
}

/* Moves the request on c along as far as it goes without blocking. */
static void
step(struct load *l, struct conn *c, short revents)
{
	static unsigned char buf[65536];
	const char *why;
	ssize_t n;
	int done = 0;

	while (c->out != NULL && (revents & POLLOUT)) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n == -1) {
			/*
			 * The server may close after answering without
			 * reading the whole body; what it sent decides.
			 */
			c->out = NULL;
			break;
		}
		c->out_off += (size_t)n;
		if (c->out_off == c->out_len)
			next_out(l, c);
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	for (;;) {
		n = recv(c->fd, buf, sizeof buf, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == -1) {
			finish(l, c, "recv", strerror(errno));
			return;
		}
		if (n == 0) {
			finish(l, c, "connection closed before END_REQUEST",
			    NULL);
			return;
		}
		if ((why = feed(c, buf, (size_t)n, &done)) != NULL) {
			finish(l, c, why, NULL);
			return;
		}
		if (done) {
			finish(l, c, NULL, NULL);
			return;
		}
		if ((size_t)n < sizeof buf)
			return;
	}
}

static int
cmd_cgiload(const char *path, int nconns, long long ms, const char *script,
    long long body, long long max, const char *query, int burst)
{
	static struct conn conns[MAX_CONNS];
	static struct pollfd pfd[MAX_CONNS];
	static struct load l;
	static int which[MAX_CONNS];
	long long t0, now, deadline, wake, elapsed;
	int i, n, busy, timeout;

	if (nconns < 1 || nconns > MAX_CONNS || ms < 1 || body < 0 ||
	    max < 0 || strlen(path) >= sizeof l.sun.sun_path) {
		fprintf(stderr, "benchtool: cgiload: bad arguments\n");
		return 2;
	}
	l.sun.sun_family = AF_UNIX;
	strcpy(l.sun.sun_path, path);
	l.body = body;
	l.max = max;
	l.burst = burst;
	if (build_request(&l, script, query) == -1) {
		fprintf(stderr, "benchtool: cgiload: cannot build the request\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	t0 = now = now_ns();
	deadline = t0 + ms * 1000000LL;
	for (i = 0; i < nconns; i++)
		start_request(&l, &conns[i], now);
	while ((now = now_ns()) < deadline) {
		wake = deadline;
		for (i = n = busy = 0; i < nconns; i++) {
			if (conns[i].state == C_WAIT && conns[i].retry_at <= now)
				start_request(&l, &conns[i], now);
			if (conns[i].state == C_WAIT) {
				busy++;
				if (conns[i].retry_at < wake)
					wake = conns[i].retry_at;
			}
			if (conns[i].state != C_BUSY)
				continue;
			busy++;
			pfd[n].fd = conns[i].fd;
			pfd[n].events = POLLIN | (conns[i].out != NULL ?
			    POLLOUT : 0);
			which[n++] = i;
		}
		if (busy == 0)
			break;
		timeout = (int)((wake - now + 999999) / 1000000);
		if (poll(pfd, (nfds_t)n, timeout) == -1 && errno != EINTR) {
			perror("benchtool: cgiload: poll");
			return 2;
		}
		now = now_ns();
		for (i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			step(&l, &conns[which[i]], pfd[i].revents);
			/* Only what ends inside the window counts. */
			if (conns[which[i]].state == C_IDLE && now < deadline)
				start_request(&l, &conns[which[i]], now);
		}
	}
	elapsed = (now < deadline ? now : deadline) - t0;
	for (i = 0; i < nconns; i++)
		if (conns[i].state == C_BUSY)
			close(conns[i].fd);
	if (burst) {
		/* Until the last answer, or the whole window if one is missing. */
		if (l.ok + l.failed == max && l.last_end > 0)
			elapsed = l.last_end - t0;
		printf("requests=%lld failed=%lld unanswered=%lld ms=%.1f "
		    "first_ms=%.1f\n", l.ok, l.failed, max - l.ok - l.failed,
		    elapsed / 1e6, l.first_end > 0 ? (l.first_end - t0) / 1e6 :
		    elapsed / 1e6);
	} else
		printf("requests=%lld failed=%lld ms=%.0f rps=%.1f "
		    "out_bytes=%lld body=%s\n", l.ok, l.failed, elapsed / 1e6,
		    l.ok * 1e9 / (double)elapsed, l.out_bytes, l.last_body);
	for (i = 0; i < NREASONS && l.reason[i] != NULL; i++)
		fprintf(stderr, "benchtool: cgiload: %lld x %s\n", l.nreason[i],
		    l.reason[i]);
	if (l.first[0] != '\0')
		fprintf(stderr, "benchtool: cgiload: first failure: %s\n",
		    l.first);
	return l.ok > 0 ? 0 : 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: benchtool reap|trial|children|waitn|respawn|"
	    "reload|rolling|stop|cgiload|burst|accepting ...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static pid_t list[MAXPROCS];
	int i, n;

	if (argc < 3)
		usage();
	if (strcmp(argv[1], "reap") == 0)
		return cmd_reap(argv + 2);
	if (strcmp(argv[1], "trial") == 0 && argc >= 5)
		return cmd_trial(argv[2], strtol(argv[3], NULL, 10), argv + 4);
	if (strcmp(argv[1], "children") == 0) {
		n = children(strtol(argv[2], NULL, 10), list, MAXPROCS);
		for (i = 0; i < n; i++)
			printf("%ld\n", (long)list[i]);
		return n < 0;
	}
	if (strcmp(argv[1], "waitn") == 0 && argc == 5)
		return cmd_waitn(strtol(argv[2], NULL, 10),
		    strtol(argv[3], NULL, 10), strtol(argv[4], NULL, 10));
	if (strcmp(argv[1], "respawn") == 0 && argc == 6)
		return cmd_respawn(strtol(argv[2], NULL, 10), argv[3],
		    strtol(argv[4], NULL, 10), strtol(argv[5], NULL, 10));
	if ((strcmp(argv[1], "reload") == 0 ||
	    strcmp(argv[1], "rolling") == 0) && argc == 6)
		return cmd_replace(strtol(argv[2], NULL, 10),
		    strtol(argv[3], NULL, 10), strtol(argv[4], NULL, 10),
		    strtol(argv[5], NULL, 10), strcmp(argv[1], "rolling") == 0);
	if (strcmp(argv[1], "stop") == 0 && argc == 5)
		return cmd_stop(strtol(argv[2], NULL, 10),
		    strtol(argv[3], NULL, 10), strtol(argv[4], NULL, 10));
	if (strcmp(argv[1], "cgiload") == 0 && argc >= 6 && argc <= 9)
		return cmd_cgiload(argv[2], (int)strtol(argv[3], NULL, 10),
		    strtoll(argv[4], NULL, 10), argv[5],
		    argc > 6 ? strtoll(argv[6], NULL, 10) : 0,
		    argc > 7 ? strtoll(argv[7], NULL, 10) : 0,
		    argc > 8 ? argv[8] : "", 0);
	if (strcmp(argv[1], "burst") == 0 && (argc == 5 || argc == 6)) {
		n = (int)strtol(argv[3], NULL, 10);
		return cmd_cgiload(argv[2], n, strtoll(argv[4], NULL, 10),
		    argc == 6 ? argv[5] : "/bench", 0, n, "", 1);
	}
	if (strcmp(argv[1], "accepting") == 0 && argc == 5)
		return cmd_accepting(strtol(argv[2], NULL, 10),
		    (int)strtol(argv[3], NULL, 10), strtol(argv[4], NULL, 10));
	usage();
	return 2;
}
