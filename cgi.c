/*
 * The CGI bridge (spawn --cgi): a worker that accepts FastCGI connections
 * on fd 0 and runs a CGI/1.1 program once per request.
 *
 * One poll() loop serves every connection and every script at once. Each
 * connection holds at most one request (FCGI_MPXS_CONNS=0); each request
 * has the script's three pipes. Memory is bounded in both directions by
 * back-pressure, never by buffering: the connection is not read while the
 * script's stdin pipe is full, and the script is not read while the
 * connection's output buffer is full.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/resource.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "spawn.h"
#include "fcgi.h"

/* Pure parts: the environment policy and the response header check. */

/*
 * Params that must not reach a script: httpoxy (a "Proxy:" request header
 * arrives as HTTP_PROXY), and what changes how programs load or run
 * (glibc's list of variables it drops for setuid programs, the shells',
 * and the common interpreters'). PATH is the bridge's to set.
 */
static const char *const denied[] = {
	"HTTP_PROXY", "http_proxy", "https_proxy", "all_proxy", "PATH",
	"IFS", "ENV", "BASH_ENV", "CDPATH", "SHELLOPTS", "BASHOPTS",
	"GLOBIGNORE", "PS4", "PROMPT_COMMAND", "GCONV_PATH", "GETCONF_DIR",
	"HOSTALIASES", "LOCALDOMAIN", "LOCPATH", "NIS_PATH", "NLSPATH",
	"RESOLV_HOST_CONF", "RES_OPTIONS", "TMPDIR", "TZDIR",
	"GLIBC_TUNABLES", "PERL5LIB", "PERLLIB", "PERL5OPT", "PERL5DB",
	"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONINSPECT",
	"RUBYLIB", "RUBYOPT", "NODE_OPTIONS", "NODE_PATH",
	"JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "PHPRC", "PHP_INI_SCAN_DIR",
};
static const char *const denied_prefix[] = {
	"LD_", "DYLD_", "MALLOC_", "BASH_FUNC_",
};

int
cgi_param_allowed(const char *name, size_t len)
{
	size_t i, n;

	if (len == 0 || memchr(name, '=', len) != NULL ||
	    memchr(name, '\0', len) != NULL)
		return 0;
	for (i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
		if (strlen(denied[i]) == len && memcmp(denied[i], name, len) == 0)
			return 0;
	for (i = 0; i < sizeof(denied_prefix) / sizeof(denied_prefix[0]); i++) {
		n = strlen(denied_prefix[i]);
		if (len >= n && memcmp(denied_prefix[i], name, n) == 0)
			return 0;
	}
	return 1;
}

long
cgi_header_end(const char *buf, size_t len, size_t max)
{
	const char *p = buf, *end = buf + len, *nl;

	/* A blank line: "\n\n" or "\n\r\n" (RFC 3875 accepts LF and CRLF). */
	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (nl == buf || (nl == buf + 1 && buf[0] == '\r'))
			return (long)(nl - buf + 1);
		if (nl + 1 < end && nl[1] == '\n')
			return (long)(nl - buf + 2);
		if (nl + 2 < end && nl[1] == '\r' && nl[2] == '\n')
			return (long)(nl - buf + 3);
		if (nl + 1 >= end || (nl + 2 >= end && nl[1] == '\r'))
			break;
		p = nl + 1;
	}
	return len >= max ? -1 : 0;
}

static int
header_is(const char *line, size_t namelen, const char *name)
{
	return strlen(name) == namelen && strncasecmp(line, name, namelen) == 0;
}

const char *
cgi_check_header(char *buf, size_t len, size_t *outlen)
{
	char *p = buf, *end = buf + len, *nl, *colon, *sp;
	size_t linelen, namelen, k;
	int found = 0, first = 1;

	*outlen = len;
	for (; p < end; p = nl + 1, first = 0) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return "header block not ended by a blank line";
		linelen = (size_t)(nl - p);
		if (linelen > 0 && p[linelen - 1] == '\r')
			linelen--;
		if (linelen == 0)
			break;
		/* Non-parsed header: "HTTP/1.1 200 OK" becomes "Status: 200 OK". */
		if (first && linelen > 5 && memcmp(p, "HTTP/", 5) == 0) {
			sp = memchr(p, ' ', linelen);
			if (sp == NULL || p + linelen - (sp + 1) < 3)
				return "malformed HTTP status line";
			k = (size_t)(sp + 1 - p);
			if (k < 8)
				return "malformed HTTP status line";
			memcpy(p + k - 8, "Status: ", 8);
			memmove(p, p + k - 8, (size_t)(end - (p + k - 8)));
			end -= k - 8;
			*outlen = (size_t)(end - buf);
			nl = memchr(p, '\n', (size_t)(end - p));
			linelen = (size_t)(nl - p);
			if (linelen > 0 && p[linelen - 1] == '\r')
				linelen--;
		}
		colon = memchr(p, ':', linelen);
		if (colon == NULL || colon == p)
			return "malformed header line";
		namelen = (size_t)(colon - p);
		for (k = 0; k < namelen; k++)
			if (p[k] <= ' ' || p[k] >= 127)
				return "malformed header name";
		if (header_is(p, namelen, "Status")) {
			for (k = namelen + 1; k < linelen && p[k] == ' '; k++)
				;
			if (linelen - k < 3 || p[k] < '1' || p[k] > '5' ||
			    p[k + 1] < '0' || p[k + 1] > '9' ||
			    p[k + 2] < '0' || p[k + 2] > '9' ||
			    (linelen - k > 3 && p[k + 3] != ' '))
				return "malformed Status header";
			found = 1;
		} else if (header_is(p, namelen, "Content-Type") ||
		    header_is(p, namelen, "Location")) {
			found = 1;
		}
	}
	if (p >= end)
		return "header block not ended by a blank line";
	if (!found)
		return "no Content-Type, Location or Status header";
	return NULL;
}

#ifndef SPAWN_NO_MAIN

/* The worker: connections, requests and the scripts' processes. */

#define IBUF 16384            /* bytes read from a connection at once */
#define CHUNK 16384           /* bytes read from a script at once */
#define RECMAX (FCGI_HEADER_LEN + CHUNK + 8)
#define OBUF (CGI_HOLD_MAX + CGI_HEADER_MAX + 2 * RECMAX)
#define SMALL 1024            /* BEGIN_REQUEST, GET_VALUES: what we read */
#define LINGER_MS 1000        /* script gone, a descendant holds its pipes */
#define ACCEPT_PAUSE_MS 1000  /* after accept or fork ran out of something */
#define MAX_ADDRS 32

enum rec_state { IN_HEADER, IN_CONTENT, IN_PADDING };

/* A request's life: from BEGIN_REQUEST to END_REQUEST. */
enum req_state {
	R_NONE,     /* no request on the connection */
	R_PARAMS,   /* reading PARAMS */
	R_QUEUED,   /* params complete; waiting for a free --cgi-max slot */
	R_RUNNING,  /* the script runs; its pipes are open */
	R_ANSWERED, /* answered without a script (403, 404, 503) */
};

struct proc {
	pid_t pid;            /* 0: free entry */
	struct conn *c;       /* its request's connection, NULL once detached */
	int reaped;
	long long kill_at;    /* SIGKILL to the group due, 0 when none */
};

struct conn {
	int fd;
	long long last;       /* last progress in either direction */
	long long since;      /* accepted, or its last request ended */
	int closing;          /* close once the output is flushed */
	int kept;             /* kept open after a request (KEEP_CONN) */

	unsigned char ibuf[IBUF];
	size_t ioff, ilen;
	int blocked;          /* STDIN waits for room in the script's pipe */
	enum rec_state rs;
	struct fcgi_header h;
	size_t left, pad;     /* of the current record's content, padding */
	unsigned char small[SMALL];
	size_t slen;

	unsigned char *obuf;  /* records out, allocated while in use */
	size_t ooff, olen;

	/* The request. */
	enum req_state st;
	int id, keep;
	int in_open;          /* the STDIN stream of in_id has not ended yet */
	int in_id;
	unsigned char *params;
	size_t plen, pcap, pscan;
	int proc;             /* index into procs, -1 when none */
	pid_t pid;
	int in_fd, out_fd, err_fd;
	char *hbuf;           /* the header block, until it is checked */
	size_t hlen;
	int body;             /* the header went out: stdout is body */
	int discard;          /* stdout goes nowhere (after a 502) */
	int sent_err;
	int exited, status;
	long long linger_at;
	char script[256];     /* for log lines */
	struct conn *next;
};

static const struct cgi_config *cfg;
static struct conn *conns;
static int nconns, maxconns;
static struct proc *procs;
static int nprocs;
static int sigpipe_fds[2] = { -1, -1 };
static int draining;
static long long drain_deadline, accept_paused_until;
static int listening = 1;
static long nofile;
static int open_fds;
static struct sockaddr_storage allowed[MAX_ADDRS];
static int nallowed;
static pid_t self;

static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line, one write(2): lines from several workers never interleave. */
static void
log_line(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n, k;

	n = snprintf(buf, sizeof(buf), "spawn: cgi: ");
	va_start(ap, fmt);
	k = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	n += k;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	/* Control characters from a request never split the line. */
	for (k = 12; k < n; k++)
		if ((unsigned char)buf[k] < ' ' || buf[k] == 127)
			buf[k] = '?';
	buf[n++] = '\n';
	(void)!write(2, buf, (size_t)n);
}

static void
on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int e = errno;

	(void)!write(sigpipe_fds[1], &c, 1);
	errno = e;
}

static int
set_flags(int fd)
{
	return fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ? -1 : 0;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		open_fds--;
		*fd = -1;
	}
}

/* FCGI_WEB_SERVER_ADDRS: "a,b,c" of IPv4 and IPv6 literals. */
static void
parse_allowed(const char *s)
{
	char one[INET6_ADDRSTRLEN + 1];
	const char *p, *e;
	size_t n;

	for (p = s; p && *p && nallowed < MAX_ADDRS; p = e ? e + 1 : NULL) {
		e = strchr(p, ',');
		n = e ? (size_t)(e - p) : strlen(p);
		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 0 || n >= sizeof(one))
			continue;
		memcpy(one, p, n);
		one[n] = '\0';
		memset(&allowed[nallowed], 0, sizeof(allowed[0]));
		if (inet_pton(AF_INET, one,
		    &((struct sockaddr_in *)&allowed[nallowed])->sin_addr) == 1)
			allowed[nallowed++].ss_family = AF_INET;
		else if (inet_pton(AF_INET6, one,
		    &((struct sockaddr_in6 *)&allowed[nallowed])->sin6_addr) == 1)
			allowed[nallowed++].ss_family = AF_INET6;
		else
			log_line("FCGI_WEB_SERVER_ADDRS: \"%s\" is not an address, "
			    "ignored", one);
	}
}

static int
peer_allowed(const struct sockaddr_storage *ss, char *name, size_t namelen)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	struct in_addr v4;
	int i, mapped;

	*name = '\0';
	if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
		return 1;
	mapped = ss->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr);
	if (ss->ss_family == AF_INET)
		v4 = ((const struct sockaddr_in *)ss)->sin_addr;
	else if (mapped)
		memcpy(&v4, s6->sin6_addr.s6_addr + 12, 4);
	if (ss->ss_family == AF_INET || mapped)
		inet_ntop(AF_INET, &v4, name, (socklen_t)namelen);
	else
		inet_ntop(AF_INET6, &s6->sin6_addr, name, (socklen_t)namelen);
	if (nallowed == 0)
		return 1;
	for (i = 0; i < nallowed; i++) {
		if (allowed[i].ss_family == AF_INET &&
		    (ss->ss_family == AF_INET || mapped) &&
		    memcmp(&((struct sockaddr_in *)&allowed[i])->sin_addr, &v4,
		    4) == 0)
			return 1;
		if (allowed[i].ss_family == AF_INET6 && ss->ss_family == AF_INET6 &&
		    memcmp(&((struct sockaddr_in6 *)&allowed[i])->sin6_addr,
		    &s6->sin6_addr, 16) == 0)
			return 1;
	}
	return 0;
}

/* Output: records queued on a connection. */

static int
out_room(struct conn *c, size_t need)
{
	if (c->obuf == NULL && (c->obuf = malloc(OBUF)) == NULL)
		return 0;
	if (c->ooff > 0 && OBUF - c->olen < need) {
		memmove(c->obuf, c->obuf + c->ooff, c->olen - c->ooff);
		c->olen -= c->ooff;
		c->ooff = 0;
	}
	return OBUF - c->olen >= need;
}

/* Queues data as records of one type; never fails for what fits in OBUF. */
static void
out_records(struct conn *c, int type, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t chunk;

	do {
		chunk = n < CHUNK ? n : CHUNK;
		if (!out_room(c, FCGI_HEADER_LEN + chunk + 8)) {
			c->closing = 2;
			return;
		}
		c->olen += fcgi_record(c->obuf + c->olen, OBUF - c->olen, type,
		    type == FCGI_GET_VALUES_RESULT || type == FCGI_UNKNOWN_TYPE ?
		    0 : c->id, p, chunk);
		if (chunk == 0)
			break;
		p += chunk;
		n -= chunk;
	} while (n > 0);
}

static void
out_end_request(struct conn *c, int id, unsigned long app, int proto)
{
	if (!out_room(c, FCGI_HEADER_LEN + 8)) {
		c->closing = 2;
		return;
	}
	c->olen += fcgi_end_request(c->obuf + c->olen, id, app, proto);
}

/* Held while the request body is still coming, up to CGI_HOLD_MAX. */
static int
held(const struct conn *c)
{
	return c->in_open && c->olen - c->ooff < CGI_HOLD_MAX;
}

/* Processes and their groups. */

static void
kill_group(struct proc *p)
{
	if (p->kill_at == 0) {
		kill(-p->pid, SIGTERM);
		kill(-p->pid, SIGCONT);
		p->kill_at = mono_ms() + CGI_KILL_GRACE_MS;
	}
}

static void
proc_release(struct proc *p)
{
	if (p->pid != 0 && p->reaped && p->kill_at == 0 && p->c == NULL) {
		p->pid = 0;
		nprocs--;
	}
}

/* Requests. */

static void start_queued(void);
static void parse_input(struct conn *c);

static void
request_reset(struct conn *c)
{
	close_fd(&c->in_fd);
	close_fd(&c->out_fd);
	close_fd(&c->err_fd);
	free(c->params);
	free(c->hbuf);
	c->params = NULL;
	c->hbuf = NULL;
	c->plen = c->pcap = c->pscan = c->hlen = 0;
	c->body = c->discard = c->sent_err = c->exited = c->status = 0;
	c->linger_at = 0;
	c->pid = 0;
	c->blocked = 0;
	c->since = mono_ms();
	c->script[0] = '\0';
	if (c->proc >= 0) {
		procs[c->proc].c = NULL;
		proc_release(&procs[c->proc]);
		c->proc = -1;
		start_queued();
	}
	c->st = R_NONE;
}

/* Ends the request with END_REQUEST; the connection stays if KEEP_CONN. */
static void
request_end(struct conn *c, unsigned long app, int proto)
{
	out_records(c, FCGI_STDOUT, NULL, 0);
	if (c->sent_err)
		out_records(c, FCGI_STDERR, NULL, 0);
	out_end_request(c, c->id, app, proto);
	if (!c->keep)
		c->closing = 1;
	c->kept = c->keep;
	request_reset(c);
}

/* A short response of our own: 403, 404, 502, 503. */
static void
respond(struct conn *c, const char *status)
{
	char text[256];
	int n;

	n = snprintf(text, sizeof(text), "Status: %s\r\nContent-Type: text/plain"
	    "\r\n\r\n%s\n", status, status);
	out_records(c, FCGI_STDOUT, text, (size_t)n);
	c->body = 1;
}

static void
conn_close(struct conn *c)
{
	if (c->proc >= 0 && !procs[c->proc].reaped)
		kill_group(&procs[c->proc]);
	request_reset(c);
	if (c->fd >= 0) {
		nconns--;
		if (cfg->activity != NULL) {
			cfg->activity[0] = (unsigned)nconns;
			cfg->activity[1]++;
		}
	}
	close_fd(&c->fd);
	free(c->obuf);
	c->obuf = NULL;
}

/* The script: its environment, its process, its pipes. */

static char **
build_envp(struct conn *c)
{
	const unsigned char *name, *value;
	size_t off, k, nlen, vlen, n = 0, cap = 8, extra = 0, i;
	char **envp, *s;

	for (off = 0; off < c->plen; off += k) {
		if ((k = fcgi_decode_pair(c->params + off, c->plen - off, &name,
		    &nlen, &value, &vlen)) == 0)
			break;
		cap++;
	}
	while (cfg->env[extra] != NULL)
		extra++;
	if ((envp = calloc(cap + extra, sizeof(char *))) == NULL)
		return NULL;
	/* Params first, so that -e, which the administrator set, wins. */
	for (off = 0; off < c->plen; off += k) {
		k = fcgi_decode_pair(c->params + off, c->plen - off, &name, &nlen,
		    &value, &vlen);
		if (k == 0)
			break;
		if (!cgi_param_allowed((const char *)name, nlen) ||
		    memchr(value, '\0', vlen) != NULL)
			continue;
		/* A name sent twice: the first counts, as for SCRIPT_FILENAME. */
		for (i = 0; i < n; i++)
			if (strncmp(envp[i], (const char *)name, nlen) == 0 &&
			    envp[i][nlen] == '=')
				break;
		if (i < n)
			continue;
		if ((s = malloc(nlen + vlen + 2)) == NULL)
			break;
		memcpy(s, name, nlen);
		s[nlen] = '=';
		memcpy(s + nlen + 1, value, vlen);
		s[nlen + vlen + 1] = '\0';
		envp[n++] = s;
	}
	for (k = 0; k < extra; k++) {
		/* An -e variable replaces a param of the same name. */
		nlen = strcspn(cfg->env[k], "=");
		for (off = 0; off < n; ) {
			if (strncmp(envp[off], cfg->env[k], nlen + 1) == 0) {
				free(envp[off]);
				envp[off] = envp[--n];
			} else {
				off++;
			}
		}
		envp[n++] = strdup(cfg->env[k]);
		if (envp[n - 1] == NULL)
			n--;
	}
	envp[n] = NULL;
	return envp;
}

static void
free_envp(char **envp)
{
	char **e;

	for (e = envp; *e; e++)
		free(*e);
	free(envp);
}

static const char *
param(struct conn *c, const char *want)
{
	static char val[PATH_MAX];
	const unsigned char *name, *value;
	size_t off, k, nlen, vlen;

	for (off = 0; off < c->plen; off += k) {
		k = fcgi_decode_pair(c->params + off, c->plen - off, &name, &nlen,
		    &value, &vlen);
		if (k == 0)
			break;
		if (nlen == strlen(want) && memcmp(name, want, nlen) == 0) {
			if (vlen >= sizeof(val) || memchr(value, '\0', vlen))
				return NULL;
			memcpy(val, value, vlen);
			val[vlen] = '\0';
			return val;
		}
	}
	return NULL;
}

/*
 * --cgi-dir: the script SCRIPT_FILENAME names, symlinks resolved, must be
 * an executable regular file inside the directory. Returns NULL and the
 * path, or the status to answer with.
 */
static const char *
find_script(struct conn *c, char *path)
{
	const char *name = param(c, "SCRIPT_FILENAME");
	size_t dl = strlen(cfg->dir);
	struct stat st;

	if (name == NULL || *name == '\0') {
		log_line("no SCRIPT_FILENAME in the request: 404");
		return "404 Not Found";
	}
	snprintf(c->script, sizeof(c->script), "%.*s",
	    (int)sizeof(c->script) - 1, name);
	if (realpath(name, path) == NULL) {
		log_line("%s: %s: %s", c->script, strerror(errno),
		    errno == ENOENT || errno == ENOTDIR ? "404" : "403");
		return errno == ENOENT || errno == ENOTDIR ? "404 Not Found" :
		    "403 Forbidden";
	}
	if (!(strcmp(cfg->dir, "/") == 0 ||
	    (strncmp(path, cfg->dir, dl) == 0 && path[dl] == '/'))) {
		log_line("%s: resolves to %s, outside %s: 403", c->script, path,
		    cfg->dir);
		return "403 Forbidden";
	}
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
	    access(path, X_OK) < 0) {
		log_line("%s: not an executable regular file: 403", c->script);
		return "403 Forbidden";
	}
	return NULL;
}

/* What script_child needs, read-only: it lives in the worker's frame. */
struct launch {
	const char *path;
	char *const *argv;
	char **envp;
	const char *dir;
	int in, out, err;
};

/*
 * Between vfork and exec. The child borrows the worker's memory until it
 * execs, so it only makes system calls: no stdio, no malloc, no strerror
 * (which may translate), nothing written but its own stack.
 */
static void __attribute__((noreturn))
script_child(const struct launch *l)
{
	static const char msg[] = "spawn: cgi: exec failed, errno ";
	char num[12];
	int sig, e, k;

	if (dup2(l->in, 0) < 0 || dup2(l->out, 1) < 0 || dup2(l->err, 2) < 0)
		_exit(126);
	/* Its own process group, so that the whole of it can be ended. */
	setpgid(0, 0);
	spawn_reset_signals();
#ifdef __linux__
	/* A worker killed outright takes its scripts along. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != self)
		_exit(126);
#endif
	if (l->dir != NULL && chdir(l->dir) < 0)
		_exit(126);
	execve(l->path, l->argv, l->envp);
	e = errno;
	k = (int)sizeof(num);
	num[--k] = '\n';
	sig = e;
	do {
		num[--k] = (char)('0' + sig % 10);
		sig /= 10;
	} while (sig > 0 && k > 0);
	(void)!write(2, msg, sizeof(msg) - 1);
	(void)!write(2, num + k, sizeof(num) - (size_t)k);
	_exit(e == ENOENT ? 127 : 126);
}

/* Its own function, so that no local of the caller lives across vfork. */
static pid_t
launch(const struct launch *l)
{
	pid_t pid = vfork();

	if (pid == 0)
		script_child(l);
	return pid;
}

static int
free_proc(void)
{
	int i;

	for (i = 0; i < cfg->max; i++)
		if (procs[i].pid == 0)
			return i;
	return -1;
}

static void
start_script(struct conn *c)
{
	char path[PATH_MAX], dir[PATH_MAX], *argv[2], **envp, *slash;
	const char *why;
	struct launch l;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int slot = free_proc(), e;
	sigset_t all, old;
	pid_t pid = -1;

	if (cfg->dir != NULL) {
		if ((why = find_script(c, path)) != NULL) {
			respond(c, why);
			c->st = R_ANSWERED;
			free(c->params);
			c->params = NULL;
			c->plen = 0;
			if (!c->in_open)
				request_end(c, 0, FCGI_REQUEST_COMPLETE);
			return;
		}
		argv[0] = path;
		argv[1] = NULL;
		snprintf(dir, sizeof(dir), "%s", path);
		if ((slash = strrchr(dir, '/')) != NULL)
			*(slash == dir ? slash + 1 : slash) = '\0';
	} else {
		snprintf(c->script, sizeof(c->script), "%.*s",
		    (int)sizeof(c->script) - 1, cfg->path);
	}
	envp = build_envp(c);
	/*
	 * vfork: the worker's pages are neither copied nor marked
	 * copy-on-write, which is most of what a fork costs it per request.
	 * Signals stay blocked across it, so that no handler of the worker
	 * runs in the child, on the worker's memory, before script_child
	 * resets them.
	 */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if (envp != NULL && slot >= 0 && pipe2(in, O_CLOEXEC) == 0 &&
	    pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0) {
		l.path = cfg->dir != NULL ? path : cfg->path;
		l.argv = cfg->dir != NULL ? argv : cfg->argv;
		l.envp = envp;
		l.dir = cfg->dir != NULL ? dir : NULL;
		l.in = in[0];
		l.out = out[1];
		l.err = err[1];
		pid = launch(&l);
	}
	e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		e = slot < 0 ? EAGAIN : e;
		log_line("%s: cannot start: %s: 503", c->script, strerror(e));
		close(in[0]), close(in[1]), close(out[0]), close(out[1]);
		close(err[0]), close(err[1]);
		if (envp != NULL)
			free_envp(envp);
		accept_paused_until = mono_ms() + ACCEPT_PAUSE_MS;
		respond(c, "503 Service Unavailable");
		c->st = R_ANSWERED;
		if (!c->in_open)
			request_end(c, 0, FCGI_REQUEST_COMPLETE);
		return;
	}
	/* Both sides set the group, so that a kill can never miss it. */
	setpgid(pid, pid);
	free_envp(envp);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	/* Already close-on-exec; the script's ends stay blocking. */
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	open_fds += 3;
	c->in_fd = in[1];
	c->out_fd = out[0];
	c->err_fd = err[0];
	c->pid = pid;
	c->proc = slot;
	procs[slot].pid = pid;
	procs[slot].c = c;
	procs[slot].reaped = 0;
	procs[slot].kill_at = 0;
	nprocs++;
	free(c->params);
	c->params = NULL;
	c->plen = c->pcap = 0;
	c->st = R_RUNNING;
	/* The body may have been complete before the script started. */
	if (!c->in_open)
		close_fd(&c->in_fd);
}

/* Requests queued on a full worker start as slots free up, oldest first. */
static void
start_queued(void)
{
	struct conn *c;

	for (c = conns; c != NULL && nprocs < cfg->max; c = c->next) {
		if (c->fd >= 0 && c->st == R_QUEUED) {
			start_script(c);
			parse_input(c);
		}
	}
}

/* The script is done when it has exited and both pipes are closed. */
static void
maybe_finish(struct conn *c)
{
	if (c->st != R_RUNNING || !c->exited || c->out_fd >= 0 || c->err_fd >= 0)
		return;
	if (!c->body && !c->discard) {
		log_line("%s: %s: 502", c->script, c->hlen == 0 ?
		    "empty response" : "response has no header block");
		respond(c, "502 Bad Gateway");
	}
	request_end(c, (unsigned long)spawn_exit_code(c->status),
	    FCGI_REQUEST_COMPLETE);
}

/*
 * Reads a script's pipe: how many bytes, 0 when there are none now, -1
 * once it closed (then the request may be finished).
 */
static ssize_t
pipe_read(struct conn *c, int *fd, void *buf, size_t len)
{
	ssize_t n = read(*fd, buf, len);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		close_fd(fd);
		maybe_finish(c);
		return -1;
	}
	c->last = mono_ms();
	/* A descendant still writing after the script exited gets more time. */
	if (c->exited)
		c->linger_at = c->last + LINGER_MS;
	return n;
}

/* Reads the script's stdout or stderr into the connection's output. */
static void
read_script(struct conn *c, int which)
{
	unsigned char *dst;
	int *fd = which == FCGI_STDOUT ? &c->out_fd : &c->err_fd;
	ssize_t n;
	long end;
	size_t newlen;
	const char *why;

	if (which == FCGI_STDOUT && !c->body && !c->discard) {
		if (c->hbuf == NULL && (c->hbuf = malloc(CGI_HEADER_MAX)) == NULL)
			return;
		if ((n = pipe_read(c, fd, c->hbuf + c->hlen,
		    CGI_HEADER_MAX - c->hlen)) <= 0)
			return;
		c->hlen += (size_t)n;
		end = cgi_header_end(c->hbuf, c->hlen, CGI_HEADER_MAX);
		if (end == 0)
			return;
		why = end < 0 ? "header block over the limit" :
		    cgi_check_header(c->hbuf, (size_t)end, &newlen);
		if (why != NULL) {
			log_line("%s: %s: 502", c->script, why);
			respond(c, "502 Bad Gateway");
			c->discard = 1;
			if (end < 0)
				kill_group(&procs[c->proc]);
			return;
		}
		out_records(c, FCGI_STDOUT, c->hbuf, newlen);
		if (c->hlen > (size_t)end)
			out_records(c, FCGI_STDOUT, c->hbuf + end, c->hlen - (size_t)end);
		free(c->hbuf);
		c->hbuf = NULL;
		c->body = 1;
		return;
	}
	if (!out_room(c, RECMAX))
		return;
	dst = c->obuf + c->olen;
	if ((n = pipe_read(c, fd, dst + FCGI_HEADER_LEN, CHUNK)) <= 0)
		return;
	if (which == FCGI_STDOUT && c->discard)
		return;
	fcgi_encode_header(dst, which, c->id, (int)n, fcgi_padding((int)n));
	memset(dst + FCGI_HEADER_LEN + n, 0, (size_t)fcgi_padding((int)n));
	c->olen += FCGI_HEADER_LEN + (size_t)n + (size_t)fcgi_padding((int)n);
	if (which == FCGI_STDERR)
		c->sent_err = 1;
}

/* Input: the record stream of a connection. */

static void
bad_record(struct conn *c, const char *why)
{
	log_line("connection closed: %s", why);
	conn_close(c);
}

static void
get_values(struct conn *c)
{
	static const char *const known[] = {
		"FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS",
	};
	unsigned char out[256];
	const unsigned char *name, *value;
	size_t off, k, nlen, vlen, used = 0, i;
	char val[16];
	int v;

	for (off = 0; off < c->slen; off += k) {
		k = fcgi_decode_pair(c->small + off, c->slen - off, &name, &nlen,
		    &value, &vlen);
		if (k == 0)
			break;
		for (i = 0; i < 3; i++) {
			if (strlen(known[i]) != nlen || memcmp(known[i], name, nlen))
				continue;
			v = i == 0 ? (maxconns < cfg->max ? maxconns : cfg->max) :
			    i == 1 ? cfg->max : 0;
			snprintf(val, sizeof(val), "%d", v);
			used += fcgi_encode_pair(out + used, sizeof(out) - used,
			    known[i], nlen, val, strlen(val));
		}
	}
	out_records(c, FCGI_GET_VALUES_RESULT, out, used);
}

/* A request's params are complete: run it, or queue it for a slot. */
static void
params_done(struct conn *c)
{
	if (c->pscan != c->plen) {
		bad_record(c, "PARAMS end in the middle of a name-value pair");
		return;
	}
	c->st = R_QUEUED;
	if (nprocs < cfg->max)
		start_script(c);
}

/* Params arrive as one byte stream; lengths are checked as they come. */
static int
add_params(struct conn *c, const unsigned char *p, size_t n)
{
	size_t cap, hl, nl, vl;
	unsigned char *np;

	if (n > CGI_PARAMS_MAX - c->plen)
		return -1;
	if (c->plen + n > c->pcap) {
		for (cap = c->pcap ? c->pcap : 1024; cap < c->plen + n; cap *= 2)
			;
		if (cap > CGI_PARAMS_MAX)
			cap = CGI_PARAMS_MAX;
		if ((np = realloc(c->params, cap)) == NULL)
			return -1;
		c->params = np;
		c->pcap = cap;
	}
	memcpy(c->params + c->plen, p, n);
	c->plen += n;
	/* A claimed length past the cap is refused before its bytes come. */
	while ((hl = fcgi_pair_lengths(c->params + c->pscan, c->plen - c->pscan,
	    &nl, &vl)) != 0) {
		if (nl > CGI_PARAMS_MAX || vl > CGI_PARAMS_MAX ||
		    c->pscan + hl + nl + vl > CGI_PARAMS_MAX)
			return -1;
		if (c->pscan + hl + nl + vl > c->plen)
			break;
		c->pscan += hl + nl + vl;
	}
	return 0;
}

static void
begin_request(struct conn *c)
{
	int id = c->h.request_id;
	int role = (c->small[0] << 8) | c->small[1];

	if (c->st != R_NONE) {
		out_end_request(c, id, 0, FCGI_CANT_MPX_CONN);
		return;
	}
	c->id = id;
	c->keep = c->small[2] & FCGI_KEEP_CONN;
	if (role != FCGI_RESPONDER) {
		out_end_request(c, id, 0, FCGI_UNKNOWN_ROLE);
		if (!c->keep)
			c->closing = 1;
		return;
	}
	c->st = R_PARAMS;
	c->in_open = 1;
	c->in_id = id;
}

/*
 * A record's content, as much of it as is here: n bytes at p. Returns how
 * many were used; fewer than n only when the script's stdin is full.
 */
static size_t
content(struct conn *c, const unsigned char *p, size_t n)
{
	ssize_t w;
	int mine = c->h.request_id == c->id && c->st != R_NONE;

	switch (c->h.type) {
	case FCGI_PARAMS:
		if (mine && c->st == R_PARAMS && add_params(c, p, n) < 0) {
			bad_record(c, "params over the limit of "
			    "131072 bytes");
			return 0;
		}
		return n;
	case FCGI_STDIN:
		if (!mine || c->in_fd < 0 || c->st != R_RUNNING)
			return n;
		w = write(c->in_fd, p, n);
		if (w < 0 && errno == EAGAIN) {
			c->blocked = 1;
			return 0;
		}
		if (w < 0) {
			/* The script stopped reading: the rest goes nowhere. */
			close_fd(&c->in_fd);
			return n;
		}
		c->last = mono_ms();
		return (size_t)w;
	case FCGI_BEGIN_REQUEST:
	case FCGI_GET_VALUES:
	case FCGI_ABORT_REQUEST:
		if (c->slen < SMALL) {
			if (n > SMALL - c->slen)
				n = SMALL - c->slen;
			memcpy(c->small + c->slen, p, n);
			c->slen += n;
		}
		return n;
	default:
		return n;
	}
}

/* A whole record has been read (its content, maybe empty, was handled). */
static void
record_done(struct conn *c)
{
	int mine = c->h.request_id == c->id && c->st != R_NONE;
	unsigned char unknown[8];

	switch (c->h.type) {
	case FCGI_BEGIN_REQUEST:
		if (c->h.content_length != 8 || c->h.request_id == 0)
			bad_record(c, "malformed BEGIN_REQUEST");
		else if (!c->closing)
			/* Not after a request that closes the connection ended. */
			begin_request(c);
		break;
	case FCGI_ABORT_REQUEST:
		if (!mine)
			break;
		c->in_open = 0;
		c->last = mono_ms();
		if (c->st == R_RUNNING && c->proc >= 0) {
			kill_group(&procs[c->proc]);
			close_fd(&c->in_fd);
			c->discard = 1;
			c->body = 1;
		} else {
			request_end(c, 0, FCGI_REQUEST_COMPLETE);
		}
		break;
	case FCGI_PARAMS:
		if (mine && c->st == R_PARAMS && c->h.content_length == 0)
			params_done(c);
		break;
	case FCGI_STDIN:
		/*
		 * The body's end, even after its request ended early (a script
		 * that answered without reading): until then the output is held
		 * and the rest of the body read and dropped.
		 */
		if (c->h.request_id == c->in_id && c->h.content_length == 0 &&
		    c->in_open) {
			c->in_open = 0;
			close_fd(&c->in_fd);
			if (mine && c->st == R_ANSWERED)
				request_end(c, 0, FCGI_REQUEST_COMPLETE);
		}
		break;
	case FCGI_GET_VALUES:
		get_values(c);
		break;
	case FCGI_DATA:
		break;
	default:
		memset(unknown, 0, sizeof(unknown));
		unknown[0] = (unsigned char)c->h.type;
		out_records(c, FCGI_UNKNOWN_TYPE, unknown, sizeof(unknown));
		break;
	}
}

/*
 * Walks the bytes read so far through the record parser. Stops when they
 * run out, when the script's stdin is full, or when the connection closed.
 */
static void
parse_input(struct conn *c)
{
	size_t avail, used;

	c->blocked = 0;
	/* A queued request's STDIN waits in the buffer for its script. */
	while (c->fd >= 0 && c->ioff < c->ilen && c->st != R_QUEUED) {
		avail = c->ilen - c->ioff;
		if (c->rs == IN_HEADER) {
			if (avail < FCGI_HEADER_LEN)
				break;
			if (fcgi_decode_header(c->ibuf + c->ioff, &c->h) < 0) {
				bad_record(c, "bad version byte");
				return;
			}
			c->ioff += FCGI_HEADER_LEN;
			c->left = (size_t)c->h.content_length;
			c->pad = (size_t)c->h.padding_length;
			c->slen = 0;
			c->rs = IN_CONTENT;
			continue;
		}
		if (c->rs == IN_CONTENT && c->left > 0) {
			used = content(c, c->ibuf + c->ioff,
			    avail < c->left ? avail : c->left);
			if (c->fd < 0)
				return;
			c->ioff += used;
			c->left -= used;
			if (used == 0)
				break;
			continue;
		}
		if (c->rs == IN_CONTENT) {
			c->rs = IN_PADDING;
			continue;
		}
		used = avail < c->pad ? avail : c->pad;
		c->ioff += used;
		c->pad -= used;
		if (c->pad > 0)
			break;
		c->rs = IN_HEADER;
		record_done(c);
	}
	/* Records with no content and no padding end without new bytes. */
	if (c->fd >= 0 && c->st != R_QUEUED && c->rs != IN_HEADER &&
	    c->left == 0 && c->pad == 0) {
		c->rs = IN_HEADER;
		record_done(c);
	}
	if (c->ioff == c->ilen)
		c->ioff = c->ilen = 0;
}

static void
read_conn(struct conn *c)
{
	ssize_t n;

	if (c->ioff > 0) {
		memmove(c->ibuf, c->ibuf + c->ioff, c->ilen - c->ioff);
		c->ilen -= c->ioff;
		c->ioff = 0;
	}
	if (c->ilen == IBUF)
		return;
	n = recv(c->fd, c->ibuf + c->ilen, IBUF - c->ilen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/*
		 * FastCGI has no half-close: the web server closing its end is
		 * the abort that matters in practice (nginx never sends
		 * ABORT_REQUEST).
		 */
		if (c->st != R_NONE)
			log_line("%s: client closed the connection%s", c->script[0] ?
			    c->script : "request", c->st == R_RUNNING ?
			    "; script ended" : "");
		conn_close(c);
		return;
	}
	c->last = mono_ms();
	c->ilen += (size_t)n;
	parse_input(c);
}

static void
write_conn(struct conn *c)
{
	ssize_t n;

	while (c->olen > c->ooff) {
		n = send(c->fd, c->obuf + c->ooff, c->olen - c->ooff, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			if (c->st == R_RUNNING)
				log_line("%s: client gone (%s); script ended",
				    c->script, strerror(errno));
			conn_close(c);
			return;
		}
		c->ooff += (size_t)n;
		c->last = mono_ms();
	}
	c->ooff = c->olen = 0;
	if (c->closing || (draining && c->st == R_NONE)) {
		conn_close(c);
		return;
	}
	if (c->st == R_NONE) {
		free(c->obuf);
		c->obuf = NULL;
	}
}

/*
 * The listener: accept while there is room, within the descriptor budget.
 * Room is --cgi-max connections with a request or about to send one, not
 * only scripts: a connection taken while every script slot is in use would
 * wait inside this worker, out of sight of the other workers and of the
 * pool's listen queue. A connection kept open between requests, idle,
 * takes no room.
 */

static int
busy_conns(void)
{
	struct conn *c;
	int n = 0;

	for (c = conns; c != NULL; c = c->next)
		n += c->fd >= 0 && !(c->kept && c->st == R_NONE);
	return n;
}

static int
may_accept(void)
{
	return listening && !draining && nprocs < cfg->max &&
	    nconns < maxconns && busy_conns() < cfg->max &&
	    open_fds + 8 <= nofile &&
	    mono_ms() >= accept_paused_until;
}

static void
accept_conns(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct conn *c;
	char name[INET6_ADDRSTRLEN];
	int fd, i;

	for (i = 0; i < 16 && may_accept(); i++) {
		len = sizeof(ss);
#ifdef SOCK_NONBLOCK
		fd = accept4(0, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
		fd = accept(0, (struct sockaddr *)&ss, &len);
#endif
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				log_line("accept: %s; pausing for %d ms",
				    strerror(errno), ACCEPT_PAUSE_MS);
				accept_paused_until = mono_ms() + ACCEPT_PAUSE_MS;
			}
			return;
		}
		if (!peer_allowed(&ss, name, sizeof(name))) {
			log_line("connection from %s refused: not in "
			    "FCGI_WEB_SERVER_ADDRS", name);
			close(fd);
			continue;
		}
#ifndef SOCK_NONBLOCK
		if (set_flags(fd) < 0) {
			close(fd);
			continue;
		}
#endif
		for (c = conns; c != NULL && c->fd >= 0; c = c->next)
			;
		if (c == NULL) {
			if ((c = calloc(1, sizeof(*c))) == NULL) {
				close(fd);
				return;
			}
			c->next = conns;
			conns = c;
		}
		memset(c, 0, offsetof(struct conn, next));
		c->fd = fd;
		c->proc = -1;
		c->in_fd = c->out_fd = c->err_fd = -1;
		c->last = c->since = mono_ms();
		nconns++;
		open_fds++;
		/* For spawn's idle check: busy now, and something happened. */
		if (cfg->activity != NULL) {
			cfg->activity[0] = (unsigned)nconns;
			cfg->activity[1]++;
		}
	}
}

/* Signals: noted through a pipe, acted on in the loop. */

static void
reap(void)
{
	struct conn *c;
	int status, i;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < cfg->max; i++) {
			if (procs[i].pid != pid || procs[i].reaped)
				continue;
			procs[i].reaped = 1;
			if ((c = procs[i].c) != NULL) {
				c->exited = 1;
				c->status = status;
				if (c->out_fd >= 0 || c->err_fd >= 0)
					c->linger_at = mono_ms() + LINGER_MS;
				maybe_finish(c);
			}
			/* Without a kill pending, the group is done with. */
			if (procs[i].kill_at > 0 && procs[i].c == NULL) {
				kill(-pid, SIGKILL);
				procs[i].kill_at = 0;
			}
			proc_release(&procs[i]);
			break;
		}
	}
	start_queued();
}

static void
begin_drain(void)
{
	struct conn *c;

	if (draining)
		return;
	draining = 1;
	drain_deadline = mono_ms() + (cfg->drain_ms > 500 ? cfg->drain_ms - 500 :
	    0);
	/* fd 0 stays open: it is shared, and a pipe must never take its number. */
	listening = 0;
	for (c = conns; c != NULL; c = c->next)
		if (c->fd >= 0 && c->st == R_NONE && c->olen == c->ooff)
			conn_close(c);
}

static void
take_signals(void)
{
	unsigned char sigs[64];
	ssize_t n, i;

	while ((n = read(sigpipe_fds[0], sigs, sizeof(sigs))) > 0)
		for (i = 0; i < n; i++) {
			if (sigs[i] == SIGCHLD)
				reap();
			else
				begin_drain();
		}
}

static void
setup_signals(void)
{
	static const int drain[] = { SIGTERM, SIGINT, SIGQUIT };
	struct sigaction sa;
	sigset_t none;
	size_t i;

	if (pipe(sigpipe_fds) < 0 || set_flags(sigpipe_fds[0]) < 0 ||
	    set_flags(sigpipe_fds[1]) < 0) {
		log_line("pipe: %s", strerror(errno));
		_exit(SPAWN_EXIT_FAIL);
	}
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	for (i = 0; i < sizeof(drain) / sizeof(drain[0]); i++)
		sigaction(drain[i], &sa, NULL);
	if (cfg->drain_signal != SIGKILL && cfg->drain_signal != SIGSTOP &&
	    cfg->drain_signal != SIGCHLD)
		sigaction(cfg->drain_signal, &sa, NULL);
	/* spawn forwards these to its children; a worker has no use for them. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (cfg->drain_signal != SIGHUP)
		sigaction(SIGHUP, &sa, NULL);
	if (cfg->drain_signal != SIGUSR1)
		sigaction(SIGUSR1, &sa, NULL);
	if (cfg->drain_signal != SIGUSR2)
		sigaction(SIGUSR2, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Deadlines: timeouts, kills, lingering descendants, the drain. */
static long long
deadlines(long long now)
{
	long long next = -1, t, tmo = (long long)cfg->timeout * 1000;
	struct conn *c;
	int i, head;

#define SOONER(x) do { if (next < 0 || (x) < next) next = (x); } while (0)
	for (i = 0; i < cfg->max; i++) {
		if (procs[i].pid == 0 || procs[i].kill_at == 0)
			continue;
		if (now >= procs[i].kill_at) {
			kill(-procs[i].pid, SIGKILL);
			procs[i].kill_at = 0;
			proc_release(&procs[i]);
		} else {
			SOONER(procs[i].kill_at);
		}
	}
	for (c = conns; c != NULL; c = c->next) {
		if (c->fd < 0)
			continue;
		if (c->linger_at > 0 && c->st == R_RUNNING) {
			if (now >= c->linger_at) {
				/* The script is gone; a descendant holds its output. */
				kill_group(&procs[c->proc]);
				close_fd(&c->out_fd);
				close_fd(&c->err_fd);
				maybe_finish(c);
				continue;
			}
			SOONER(c->linger_at);
		}
		/*
		 * The request's head (BEGIN_REQUEST and all of PARAMS) must come
		 * within the timeout, however it trickles in; so must the next
		 * request on an idle connection. After that, the timeout counts
		 * from the last progress in either direction.
		 */
		head = c->st == R_NONE || c->st == R_PARAMS;
		t = head ? c->since + tmo : c->last + tmo;
		if (now < t) {
			SOONER(t);
			continue;
		}
		if (c->st != R_NONE)
			log_line("%s: %s for %d s; request ended", c->script[0] ?
			    c->script : "request", head ? "request head incomplete" :
			    "no progress", cfg->timeout);
		/* The script stalled, not the client: it still gets an answer. */
		if (c->st == R_RUNNING && !c->in_open && c->olen == c->ooff &&
		    procs[c->proc].kill_at == 0) {
			kill_group(&procs[c->proc]);
			close_fd(&c->in_fd);
			if (!c->body && !c->discard)
				respond(c, "504 Gateway Timeout");
			c->discard = 1;
			c->last = now;
			SOONER(now + tmo);
			continue;
		}
		conn_close(c);
	}
	if (draining) {
		if (now >= drain_deadline) {
			for (i = 0; i < cfg->max; i++)
				if (procs[i].pid != 0)
					kill(-procs[i].pid, SIGKILL);
			for (c = conns; c != NULL; c = c->next)
				if (c->fd >= 0)
					conn_close(c);
		} else {
			SOONER(drain_deadline);
		}
	}
	if (accept_paused_until > now && may_accept() == 0 && listening)
		SOONER(accept_paused_until);
#undef SOONER
	return next;
}

/* What a connection waits for, and what its script's pipes wait for. */
static short
conn_events(const struct conn *c)
{
	short ev = 0;

	if (c->olen > c->ooff && !held(c))
		ev |= POLLOUT;
	if ((!c->closing || (c->closing == 1 && c->in_open)) &&
	    c->ilen - c->ioff < IBUF && c->st != R_QUEUED && !c->blocked)
		ev |= POLLIN;
	return ev;
}

static int
out_ready(struct conn *c, int which)
{
	if (which == FCGI_STDOUT && !c->body && !c->discard)
		return c->obuf == NULL || OBUF - (c->olen - c->ooff) >=
		    CGI_HEADER_MAX + 4 * RECMAX;
	return c->obuf == NULL || OBUF - (c->olen - c->ooff) >= RECMAX;
}

/* A drained worker leaves nothing behind: valgrind --track-fds checks it. */
static int
worker_exit(int code, struct pollfd *pfd, struct conn **who, char *what)
{
	struct conn *c;

	free(pfd);
	free(who);
	free(what);
	while ((c = conns) != NULL) {
		conns = c->next;
		if (c->fd >= 0)
			conn_close(c);
		free(c);
	}
	free(procs);
	procs = NULL;
	close_fd(&sigpipe_fds[0]);
	close_fd(&sigpipe_fds[1]);
	return code;
}

int
cgi_worker(const struct cgi_config *c)
{
	struct rlimit rl;
	struct pollfd *pfd = NULL;
	struct conn **who = NULL, *k;
	char *what = NULL;
	size_t cap, n, i;
	long long now, next;
	int timeout;

	cfg = c;
	self = getpid();
	if ((procs = calloc((size_t)c->max, sizeof(*procs))) == NULL) {
		log_line("start: %s", strerror(ENOMEM));
		return SPAWN_EXIT_FAIL;
	}
	nofile = getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY ? (long)rl.rlim_cur : 65536;
	/* Each running script holds 3 descriptors, each connection 1. */
	maxconns = c->max * 4 > 64 ? c->max * 4 : 64;
	open_fds = 5;
	/*
	 * The poll set at its largest: the listener, the signal pipe, and
	 * each connection with its script's three pipes.
	 */
	cap = 2 + (size_t)maxconns * 4;
	pfd = calloc(cap, sizeof(*pfd));
	who = calloc(cap, sizeof(*who));
	what = calloc(cap, 1);
	if (pfd == NULL || who == NULL || what == NULL) {
		log_line("start: %s", strerror(ENOMEM));
		return worker_exit(SPAWN_EXIT_FAIL, pfd, who, what);
	}
	setup_signals();
	if (set_flags(0) < 0) {
		log_line("listening socket: %s", strerror(errno));
		return SPAWN_EXIT_FAIL;
	}
	/* fd 0 is shared with the other workers: accept never blocks. */
	if (c->allow != NULL)
		parse_allowed(c->allow);

	for (;;) {
		now = mono_ms();
		next = deadlines(now);
		if (draining && nprocs == 0) {
			for (k = conns; k != NULL; k = k->next)
				if (k->fd >= 0)
					break;
			if (k == NULL)
				return worker_exit(SPAWN_EXIT_OK, pfd, who, what);
		}
		n = 0;
		pfd[n].fd = sigpipe_fds[0];
		pfd[n].events = POLLIN;
		who[n] = NULL;
		what[n++] = 's';
		if (may_accept()) {
			pfd[n].fd = 0;
			pfd[n].events = POLLIN;
			who[n] = NULL;
			what[n++] = 'l';
		}
		for (k = conns; k != NULL; k = k->next) {
			if (k->fd < 0)
				continue;
			/* Bytes left behind when the request they waited for ended. */
			if (k->ilen > k->ioff && !k->blocked && k->st != R_QUEUED) {
				parse_input(k);
				if (k->fd < 0)
					continue;
				if (k->olen > k->ooff && !held(k))
					write_conn(k);
				if (k->fd < 0)
					continue;
			}
			pfd[n].fd = k->fd;
			pfd[n].events = conn_events(k);
			who[n] = k;
			what[n++] = 'c';
			if (k->in_fd >= 0 && k->blocked) {
				pfd[n].fd = k->in_fd;
				pfd[n].events = POLLOUT;
				who[n] = k;
				what[n++] = 'i';
			}
			if (k->out_fd >= 0 && out_ready(k, FCGI_STDOUT)) {
				pfd[n].fd = k->out_fd;
				pfd[n].events = POLLIN;
				who[n] = k;
				what[n++] = 'o';
			}
			if (k->err_fd >= 0 && out_ready(k, FCGI_STDERR)) {
				pfd[n].fd = k->err_fd;
				pfd[n].events = POLLIN;
				who[n] = k;
				what[n++] = 'e';
			}
		}
		timeout = next < 0 ? -1 : next - now > 60000 ? 60000 :
		    (int)(next - now);
		if (poll(pfd, (nfds_t)n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			log_line("poll: %s", strerror(errno));
			return worker_exit(SPAWN_EXIT_FAIL, pfd, who, what);
		}
		for (i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			k = who[i];
			if (k != NULL && k->fd < 0)
				continue;
			switch (what[i]) {
			case 's':
				take_signals();
				break;
			case 'l':
				accept_conns();
				break;
			case 'c':
				if (pfd[i].revents & POLLOUT)
					write_conn(k);
				if (k->fd >= 0 && pfd[i].revents & (POLLIN | POLLHUP |
				    POLLERR))
					read_conn(k);
				/* Gone while we were not reading it. */
				if (k->fd >= 0 && pfd[i].revents & (POLLHUP | POLLERR) &&
				    !(pfd[i].revents & POLLIN))
					conn_close(k);
				break;
			case 'i':
				parse_input(k);
				break;
			case 'o':
				if (k->out_fd >= 0)
					read_script(k, FCGI_STDOUT);
				break;
			case 'e':
				if (k->err_fd >= 0)
					read_script(k, FCGI_STDERR);
				break;
			}
			/* Output made by any of the above goes out at once. */
			if (k != NULL && k->fd >= 0 && k->olen > k->ooff && !held(k))
				write_conn(k);
		}
	}
}

#endif /* SPAWN_NO_MAIN */
