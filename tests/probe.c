/*
 * probe: the program spawn's tests start in place of a FastCGI application.
 *
 * It first writes down what it really got from whoever started it
 * (descriptors, credentials, signal state, environment, limits), so that
 * tests assert on the child's view rather than on the launcher's log. Then
 * it behaves as asked: it serves FastCGI on fd 0, accepts and stays silent,
 * answers garbage, sleeps, exits or dies by a signal.
 *
 * With --report DIR it leaves, named by its pid: <pid>.report (key=value
 * lines, renamed into place whole), <pid>.signals (HUP, USR1, USR2, QUIT
 * as they arrive), <pid>.requests ("begin" once a request is complete,
 * "end" once it is answered), and with --orphan the grandchild's
 * <pid>.orphan. Without /proc (a bare chroot) the report falls back to
 * system calls, marks it with procfs=0 and shows "?" for what it cannot
 * know.
 */
#include "spawn.h"
#include "fcgi.h"
#include "tool.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif


#define MAX_PARAMS (1 << 20)   /* bytes of PARAMS kept for one request */
#define SILENT_MAX_CONNS 16
#define GARBAGE_LINGER_MS 1000
#define STOP_GRACE_MS 250      /* for a request already on its way */
#define MAX_MS 3600000

#define USAGE \
    "usage: probe [--report DIR] [--serve [--delay MS] | --silent | " \
    "--garbage | --sleep\n" \
    "             | --exit N | --exit-after MS N | --raise SIG] " \
    "[--ignore-term]\n" \
    "             [--print TEXT] [--orphan MS] [--ready FILE] [-- ARG ...]\n"

const char *tool_name = "probe";
const char *tool_usage = USAGE;

enum behaviour {
	SERVE, SILENT, GARBAGE, SLEEP, EXIT, EXIT_AFTER, RAISE
};

struct probe_opts {
	const char *report_dir;
	enum behaviour behaviour;
	int behaviour_given;
	long long delay_ms;
	int ignore_term;
	long long exit_code;
	long long exit_after_ms;
	long long raise_sig;
	const char *print;
	long long orphan_ms;       /* -1 when not given */
	const char *ready_file;
};

struct fdlist {
	int *v;
	size_t n, cap;
};

/* What the signal handlers need, and nothing else, is global. */
static char signals_path[PATH_MAX];
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t idle;
static volatile sig_atomic_t accepting;

extern char **environ;

static void die(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static void putf(FILE *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("probe: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void
die_errno(const char *what, const char *object)
{
	die("%s %s: %s", what, object, strerror(errno));
}

/* DIR/<prefix><pid><suffix>: the files a probe leaves for the tests. */
static void
path_for(char *out, size_t cap, const char *dir, const char *prefix,
    long pid, const char *suffix)
{
	if ((size_t)snprintf(out, cap, "%s/%s%ld%s", dir, prefix, pid,
	    suffix) >= cap)
		die("report directory name too long: %s", dir);
}

static void
sleep_ms(long long ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	/* Signals that are only logged must not cut the sleep short. */
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Command line. */

static const char *
need_arg(int argc, char **argv, int *i, const char *opt)
{
	if (*i + 1 >= argc)
		usage_error("%s needs an argument", opt);
	return argv[++*i];
}

/* opt is passed in: --exit-after takes two numbers after one option. */
static long long
number_arg(int argc, char **argv, int *i, const char *opt, long long lo,
    long long hi)
{
	const char *s = need_arg(argc, argv, i, opt);
	const char *why;
	long long v = 0;

	if ((why = spawn_parse_number(s, lo, hi, &v)) != NULL)
		usage_error("%s \"%s\": %s (%lld..%lld)", opt, s, why, lo, hi);
	return v;
}

static void
set_behaviour(struct probe_opts *o, enum behaviour b)
{
	if (o->behaviour_given && o->behaviour != b)
		usage_error("--serve, --silent, --garbage, --sleep, --exit, "
		    "--exit-after and --raise are exclusive");
	o->behaviour = b;
	o->behaviour_given = 1;
}

static void
parse_args(int argc, char **argv, struct probe_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->behaviour = SERVE;
	o->orphan_ms = -1;
	/* Everything after "--" is only there to show up in the report. */
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--report") == 0)
			o->report_dir = need_arg(argc, argv, &i, a);
		else if (strcmp(a, "--serve") == 0)
			set_behaviour(o, SERVE);
		else if (strcmp(a, "--delay") == 0)
			o->delay_ms = number_arg(argc, argv, &i, a, 0, MAX_MS);
		else if (strcmp(a, "--ignore-term") == 0)
			o->ignore_term = 1;
		else if (strcmp(a, "--silent") == 0)
			set_behaviour(o, SILENT);
		else if (strcmp(a, "--garbage") == 0)
			set_behaviour(o, GARBAGE);
		else if (strcmp(a, "--sleep") == 0)
			set_behaviour(o, SLEEP);
		else if (strcmp(a, "--exit") == 0) {
			set_behaviour(o, EXIT);
			o->exit_code = number_arg(argc, argv, &i, a, 0, 255);
		} else if (strcmp(a, "--exit-after") == 0) {
			set_behaviour(o, EXIT_AFTER);
			o->exit_after_ms = number_arg(argc, argv, &i, a, 0,
			    MAX_MS);
			o->exit_code = number_arg(argc, argv, &i, a, 0, 255);
		} else if (strcmp(a, "--raise") == 0) {
			set_behaviour(o, RAISE);
			o->raise_sig = number_arg(argc, argv, &i, a, 1, 64);
		} else if (strcmp(a, "--print") == 0)
			o->print = need_arg(argc, argv, &i, a);
		else if (strcmp(a, "--orphan") == 0)
			o->orphan_ms = number_arg(argc, argv, &i, a, 0, MAX_MS);
		else if (strcmp(a, "--ready") == 0)
			o->ready_file = need_arg(argc, argv, &i, a);
		else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(USAGE, stdout);
			exit(0);
		} else
			usage_error("unknown option: %s", a);
	}
	if (o->orphan_ms >= 0 && o->report_dir == NULL)
		usage_error("--orphan needs --report");
}

/* The report: what the probe was started with. */

static void
put_escaped(FILE *f, const char *s)
{
	/* One key per line, so a newline inside a value must not end it. */
	for (; *s != '\0'; s++) {
		if (*s == '\n')
			fputs("\\n", f);
		else
			putc(*s, f);
	}
}

static void
put(FILE *f, const char *key, const char *sub, const char *value)
{
	put_escaped(f, key);
	put_escaped(f, sub);
	putc('=', f);
	put_escaped(f, value);
	putc('\n', f);
}

static void
putf(FILE *f, const char *key, const char *fmt, ...)
{
	char value[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	put(f, key, "", value);
}

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int
cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

	return (x > y) - (x < y);
}

static void
fd_add(struct fdlist *l, int fd)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		int *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			die("out of memory");
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = fd;
}

static void
list_fds(struct fdlist *l)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	struct rlimit rl;
	int fd, max = 65536;

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			fd = atoi(e->d_name);
			if (fd != dirfd(d))
				fd_add(l, fd);
		}
		closedir(d);
	} else {
		/* Without /proc (a bare chroot), ask every possible number. */
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)max)
			max = (int)rl.rlim_cur;
		for (fd = 0; fd < max; fd++)
			if (fcntl(fd, F_GETFD) != -1)
				fd_add(l, fd);
	}
	qsort(l->v, l->n, sizeof(*l->v), cmp_int);
}

static void
fd_target(int fd, char *out, size_t cap)
{
	char path[64];
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((n = readlink(path, out, cap - 1)) >= 0) {
		out[n] = '\0';
		return;
	}
	/* Without /proc, name what fstat can, in the kernel's spelling. */
	if (fstat(fd, &st) != 0)
		snprintf(out, cap, "?");
	else if (S_ISSOCK(st.st_mode))
		snprintf(out, cap, "socket:[%llu]",
		    (unsigned long long)st.st_ino);
	else if (S_ISFIFO(st.st_mode))
		snprintf(out, cap, "pipe:[%llu]",
		    (unsigned long long)st.st_ino);
	else
		snprintf(out, cap, "?");
}

static void
report_fds(FILE *f, const struct fdlist *l)
{
	char key[32], target[PATH_MAX + 1];
	size_t i;

	for (i = 0; i < l->n; i++)
		fprintf(f, "%s%d", i ? "," : "fds=", l->v[i]);
	fputs(l->n ? "\n" : "fds=\n", f);
	for (i = 0; i < l->n; i++) {
		snprintf(key, sizeof(key), "fd.%d", l->v[i]);
		fd_target(l->v[i], target, sizeof(target));
		put(f, key, "", target);
	}
}

/* Formats a socket address as tests write it; returns the family's name. */
static const char *
format_addr(const struct sockaddr_storage *ss, socklen_t len, char *out,
    size_t cap)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)ss;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	char ip[INET6_ADDRSTRLEN];
	size_t n, i;

	out[0] = '\0';
	switch (ss->ss_family) {
	case AF_UNIX:
		if (len <= offsetof(struct sockaddr_un, sun_path))
			return "unix";
		n = len - offsetof(struct sockaddr_un, sun_path);
		if (n > sizeof(sun->sun_path))
			n = sizeof(sun->sun_path);
		if (sun->sun_path[0] == '\0') {
			/* Abstract: '@' stands for the NULs, as in ss(8). */
			for (i = 0; i < n && i + 1 < cap; i++)
				out[i] = sun->sun_path[i] != '\0' ?
				    sun->sun_path[i] : '@';
			out[i] = '\0';
		} else
			snprintf(out, cap, "%.*s",
			    (int)strnlen(sun->sun_path, n), sun->sun_path);
		return "unix";
	case AF_INET:
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(out, cap, "%s:%u", ip, ntohs(sin->sin_port));
		return "inet";
	case AF_INET6:
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		snprintf(out, cap, "[%s]:%u", ip, ntohs(sin6->sin6_port));
		return "inet6";
	default:
		return "other";
	}
}

static void
report_fd0(FILE *f)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char addr[PATH_MAX + 64] = "";
	const char *type = "none", *family = "none";
	int so_type = 0, listening = 0, notconn = 0, flags;

	len = sizeof(so_type);
	if (getsockopt(0, SOL_SOCKET, SO_TYPE, &so_type, &len) == 0) {
		type = so_type == SOCK_STREAM ? "stream" :
		    so_type == SOCK_DGRAM ? "dgram" : "other";
		len = sizeof(listening);
		if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &listening,
		    &len) != 0)
			listening = 0;
		memset(&ss, 0, sizeof(ss));
		len = sizeof(ss);
		family = getsockname(0, (struct sockaddr *)&ss, &len) == 0 ?
		    format_addr(&ss, len, addr, sizeof(addr)) : "other";
		/* The test FastCGI libraries use to tell FastCGI from CGI. */
		len = sizeof(ss);
		notconn = getpeername(0, (struct sockaddr *)&ss, &len) < 0 &&
		    errno == ENOTCONN;
	}
	flags = fcntl(0, F_GETFL);
	putf(f, "fd0_listening", "%d", listening != 0);
	put(f, "fd0_type", "", type);
	put(f, "fd0_family", "", family);
	put(f, "fd0_addr", "", addr);
	putf(f, "fd0_nonblock", "%d", flags != -1 && (flags & O_NONBLOCK));
	putf(f, "fd0_notconn", "%d", notconn);
}

/* Reads /proc/self/status; an empty string when /proc is not there. */
static void
read_status(char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	while (fd >= 0 && len < cap - 1) {
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	buf[len] = '\0';
}

static int
status_field(const char *status, const char *key, char *out,
    size_t cap)
{
	size_t klen = strlen(key), n;
	const char *p = status;

	while (*p != '\0') {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
			p += klen + 1;
			p += strspn(p, " \t");
			n = strcspn(p, "\n");
			if (n >= cap)
				n = cap - 1;
			memcpy(out, p, n);
			out[n] = '\0';
			return 0;
		}
		p += strcspn(p, "\n");
		if (*p == '\n')
			p++;
	}
	return -1;
}

/*
 * The SigBlk, SigIgn or SigCgt mask worked out with system calls, for when
 * /proc is missing; bit N-1 stands for signal N, as in the status file.
 */
static void
signal_mask_hex(const char *which, char *out, size_t cap)
{
	unsigned long long mask = 0;
	struct sigaction sa;
	sigset_t blocked;
	int sig, bit;

	sigprocmask(SIG_BLOCK, NULL, &blocked);
	for (sig = 1; sig <= 64; sig++) {
		if (strcmp(which, "SigBlk") == 0)
			bit = sigismember(&blocked, sig) == 1;
		else if (sigaction(sig, NULL, &sa) != 0)
			bit = 0;
		else if (strcmp(which, "SigIgn") == 0)
			bit = sa.sa_handler == SIG_IGN;
		else
			bit = sa.sa_handler != SIG_IGN &&
			    sa.sa_handler != SIG_DFL;
		if (bit)
			mask |= 1ULL << (sig - 1);
	}
	snprintf(out, cap, "%016llx", mask);
}

static void
report_process(FILE *f, const char *status)
{
	static const char *const masks[][2] = {
		{ "sigblk", "SigBlk" }, { "sigign", "SigIgn" },
		{ "sigcgt", "SigCgt" },
	};
	char value[PATH_MAX + 1];
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid, *groups = NULL;
	int ngroups, i, prio;
	ssize_t n;
	mode_t mask;

	putf(f, "pid", "%ld", (long)getpid());
	putf(f, "ppid", "%ld", (long)getppid());
	putf(f, "sid", "%ld", (long)getsid(0));
	putf(f, "pgid", "%ld", (long)getpgrp());
	getresuid(&ruid, &euid, &suid);
	getresgid(&rgid, &egid, &sgid);
	putf(f, "uid", "%lu", (unsigned long)ruid);
	putf(f, "euid", "%lu", (unsigned long)euid);
	putf(f, "suid", "%lu", (unsigned long)suid);
	putf(f, "gid", "%lu", (unsigned long)rgid);
	putf(f, "egid", "%lu", (unsigned long)egid);
	putf(f, "sgid", "%lu", (unsigned long)sgid);

	ngroups = getgroups(0, NULL);
	if (ngroups > 0 && (groups = calloc(ngroups, sizeof(*groups))) != NULL)
		ngroups = getgroups(ngroups, groups);
	else
		ngroups = 0;
	if (ngroups > 0)
		qsort(groups, ngroups, sizeof(*groups), cmp_gid);
	fputs("groups=", f);
	for (i = 0; i < ngroups; i++)
		fprintf(f, "%s%lu", i ? "," : "", (unsigned long)groups[i]);
	fputc('\n', f);
	free(groups);

	put(f, "cwd", "", getcwd(value, sizeof(value)) ? value : "?");
	n = readlink("/proc/self/root", value, sizeof(value) - 1);
	value[n >= 0 ? n : 0] = '\0';
	put(f, "root", "", n >= 0 ? value : "?");
	putf(f, "procfs", "%d", status[0] != '\0');

	if (status_field(status, "Umask", value, sizeof(value)) == 0)
		put(f, "umask", "", value);
	else {
		/* Single-threaded: setting and restoring it races nobody. */
		mask = umask(0);
		umask(mask);
		putf(f, "umask", "%04o", (unsigned)mask);
	}
	errno = 0;
	prio = getpriority(PRIO_PROCESS, 0);
	if (errno != 0)
		put(f, "nice", "", "?");
	else
		putf(f, "nice", "%d", prio);
	if (status_field(status, "NoNewPrivs", value, sizeof(value)) == 0)
		put(f, "nonewprivs", "", value);
	else {
#if defined(__linux__) && defined(PR_GET_NO_NEW_PRIVS)
		putf(f, "nonewprivs", "%d",
		    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
#else
		put(f, "nonewprivs", "", "?");
#endif
	}
	for (i = 0; i < 3; i++) {
		if (status_field(status, masks[i][1], value,
		    sizeof(value)) != 0)
			signal_mask_hex(masks[i][1], value, sizeof(value));
		put(f, masks[i][0], "", value);
	}
}

static void
report_args_env_limits(FILE *f, int argc, char **argv)
{
	static const struct {
		const char *name;
		int resource;
	} limits[] = {
		{ "nofile", RLIMIT_NOFILE }, { "core", RLIMIT_CORE },
		{ "nproc", RLIMIT_NPROC }, { "as", RLIMIT_AS },
		{ "data", RLIMIT_DATA }, { "stack", RLIMIT_STACK },
		{ "fsize", RLIMIT_FSIZE }, { "cpu", RLIMIT_CPU },
		{ "memlock", RLIMIT_MEMLOCK },
	};
	char key[64], soft[32], hard[32], *name;
	const char *eq;
	struct rlimit rl;
	size_t i;
	int a;

	putf(f, "argc", "%d", argc);
	for (a = 0; a < argc; a++) {
		snprintf(key, sizeof(key), "arg.%d", a);
		put(f, key, "", argv[a]);
	}
	for (i = 0; environ[i] != NULL; i++) {
		/* An entry without '=' can be passed by execve; keep it too. */
		if ((eq = strchr(environ[i], '=')) == NULL) {
			put(f, "env.", environ[i], "");
			continue;
		}
		if ((name = strndup(environ[i], eq - environ[i])) == NULL)
			die("out of memory");
		put(f, "env.", name, eq + 1);
		free(name);
	}
	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		snprintf(key, sizeof(key), "limit.%s", limits[i].name);
		if (getrlimit(limits[i].resource, &rl) != 0) {
			put(f, key, "", "?");
			continue;
		}
		if (rl.rlim_cur == RLIM_INFINITY)
			snprintf(soft, sizeof(soft), "unlimited");
		else
			snprintf(soft, sizeof(soft), "%llu",
			    (unsigned long long)rl.rlim_cur);
		if (rl.rlim_max == RLIM_INFINITY)
			snprintf(hard, sizeof(hard), "unlimited");
		else
			snprintf(hard, sizeof(hard), "%llu",
			    (unsigned long long)rl.rlim_max);
		putf(f, key, "%s:%s", soft, hard);
	}
}

/*
 * Writes the report to tmp. The descriptors are listed before the file is
 * opened, so the report's own descriptor is not among them.
 */
static void
write_report(const char *tmp, int argc, char **argv)
{
	static char status[16384];
	struct fdlist fds = { NULL, 0, 0 };
	FILE *f;

	list_fds(&fds);
	read_status(status, sizeof(status));
	if ((f = fopen(tmp, "w")) == NULL)
		die_errno("write report", tmp);
	report_process(f, status);
	report_fds(f, &fds);
	report_fd0(f);
	report_args_env_limits(f, argc, argv);
	if (fclose(f) != 0)
		die_errno("write report", tmp);
	free(fds.v);
}

/* Extras around the behaviour. */

static void
write_ready(const char *file)
{
	struct timespec ts;
	char line[32];
	int fd, n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(line, sizeof(line), "%llu\n",
	    (unsigned long long)ts.tv_sec * 1000000000ULL +
	    (unsigned long long)ts.tv_nsec);
	fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, n) != n)
		die_errno("write", file);
	close(fd);
}

static void
append_line(const char *path, const char *line, size_t len)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	ssize_t n;

	if (fd < 0)
		return;
	n = write(fd, line, len);
	(void)n;
	close(fd);
}

/*
 * The grandchild is not waited for: once the probe is gone it belongs to
 * whoever reaps orphans, which is what the test is about.
 */
static void
start_orphan(const char *dir, long long ms, const sigset_t *mask)
{
	char tmp[PATH_MAX], final[PATH_MAX], line[32];
	struct fdlist fds = { NULL, 0, 0 };
	size_t i;
	pid_t pid;
	int fd, n;

	/* Nothing buffered may be written twice if the child has to die. */
	fflush(NULL);
	if ((pid = fork()) < 0)
		die_errno("fork", "orphan");
	if (pid > 0)
		return;
	sigprocmask(SIG_SETMASK, mask, NULL);
	path_for(tmp, sizeof(tmp), dir, ".", (long)getpid(), ".orphan.tmp");
	path_for(final, sizeof(final), dir, "", (long)getpid(), ".orphan");
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, n) != n || close(fd) != 0 ||
	    rename(tmp, final) != 0) {
		fprintf(stderr, "probe: write %s: %s\n", final,
		    strerror(errno));
		_exit(1);
	}
	/*
	 * Holding the listening socket or the test's pipes would keep them
	 * alive past the probe, which no test wants to wait for.
	 */
	list_fds(&fds);
	for (i = 0; i < fds.n; i++)
		if (fds.v[i] > 2)
			close(fds.v[i]);
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	sleep_ms(ms);
	_exit(0);
}

/* Signals. */

static void
on_logged_signal(int sig)
{
	static const struct {
		int sig;
		const char *line;
		size_t len;
	} names[] = {
		{ SIGHUP, "HUP\n", 4 }, { SIGUSR1, "USR1\n", 5 },
		{ SIGUSR2, "USR2\n", 5 }, { SIGQUIT, "QUIT\n", 5 },
	};
	int saved = errno;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].sig == sig)
			append_line(signals_path, names[i].line, names[i].len);
	errno = saved;
}

/*
 * While the probe waits for a connection or for the next request on a
 * kept connection, there is no work to finish, so SIGTERM ends it at once.
 * The main loop sets idle before it looks at stop_requested, so a SIGTERM
 * arriving between that look and the blocking call is never lost.
 */
static void
on_term(int sig)
{
	(void)sig;
	stop_requested = 1;
	/*
	 * In accept(): a connection it has just returned must still be
	 * served, so do not exit here; closing fd 0 makes an accept() that
	 * has not started yet fail at once instead of waiting forever.
	 */
	if (accepting) {
		close(0);
		return;
	}
	if (idle)
		_exit(0);
}

/*
 * The handlers hold off each other, so a SIGTERM right behind a SIGHUP
 * cannot end the probe before the HUP is written down.
 */
static void
set_handler(int sig, void (*handler)(int), const sigset_t *hold)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_mask = *hold;
	/* No SA_RESTART: blocked calls return EINTR, as in real servers. */
	sa.sa_flags = 0;
	if (sigaction(sig, &sa, NULL) != 0)
		die("sigaction %d: %s", sig, strerror(errno));
}

/* The signals whose disposition the probe changes. */
static void
handled_signals(const struct probe_opts *o, sigset_t *set)
{
	sigemptyset(set);
	if (o->report_dir != NULL) {
		sigaddset(set, SIGHUP);
		sigaddset(set, SIGUSR1);
		sigaddset(set, SIGUSR2);
		sigaddset(set, SIGQUIT);
	}
	if (o->ignore_term || o->behaviour == SERVE)
		sigaddset(set, SIGTERM);
}

static void
install_handlers(const struct probe_opts *o, const sigset_t *set)
{
	int sig;

	for (sig = 1; sig < 65; sig++) {
		if (sigismember(set, sig) != 1)
			continue;
		if (sig != SIGTERM)
			set_handler(sig, on_logged_signal, set);
		else if (o->ignore_term)
			set_handler(sig, SIG_IGN, set);
		else
			set_handler(sig, on_term, set);
	}
}

/* Behaviours. */

static int
read_full(int fd, void *buf, size_t n)
{
	unsigned char *p = buf;
	ssize_t r;

	while (n > 0) {
		r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
send_all(int fd, const void *data, size_t n)
{
	const unsigned char *p = data;
	ssize_t w;

	while (n > 0) {
		/* A client that hung up must not kill the probe by SIGPIPE. */
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
wait_readable(int fd, int timeout_ms)
{
	struct pollfd pfd;

	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
		die("poll: %s", strerror(errno));
}

/*
 * Takes the next connection on fd 0. A non-blocking socket (a launcher
 * bug the report shows) is waited for with poll, not spun on.
 */
static int
accept_next(void)
{
	int c;

	for (;;) {
		accepting = 1;
		if (stop_requested)
			exit(0);
		c = accept(0, NULL, NULL);
		if (c < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			wait_readable(0, -1);
			continue;
		}
		accepting = 0;
		if (c < 0 && stop_requested)
			exit(0);
		if (c >= 0)
			return c;
		if (errno != EINTR && errno != ECONNABORTED)
			die_errno("accept", "fd 0");
	}
}

static void
end_request(struct buf *out, int id, int protocol_status)
{
	unsigned char body[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };

	body[4] = (unsigned char)protocol_status;
	add_records(out, FCGI_END_REQUEST, id, body, sizeof(body));
}

/* Management records (specification section 4): only GET_VALUES is known. */
static void
answer_management(struct buf *out, const struct fcgi_header *h,
    const unsigned char *body)
{
	static const char *const known[][2] = {
		{ "FCGI_MAX_CONNS", "1" }, { "FCGI_MAX_REQS", "1" },
		{ "FCGI_MPXS_CONNS", "0" },
	};
	unsigned char unknown[8] = { 0, 0, 0, 0, 0, 0, 0, 0 }, pair[64];
	const unsigned char *name, *value;
	struct buf result = { NULL, 0, 0 };
	size_t off = 0, used, nlen, vlen, i;

	if (h->type != FCGI_GET_VALUES) {
		unknown[0] = (unsigned char)h->type;
		add_records(out, FCGI_UNKNOWN_TYPE, 0, unknown,
		    sizeof(unknown));
		return;
	}
	while ((used = fcgi_decode_pair(body + off,
	    (size_t)h->content_length - off, &name, &nlen, &value,
	    &vlen)) > 0) {
		off += used;
		for (i = 0; i < 3; i++) {
			if (nlen != strlen(known[i][0]) ||
			    memcmp(name, known[i][0], nlen) != 0)
				continue;
			used = fcgi_encode_pair(pair, sizeof(pair), known[i][0],
			    nlen, known[i][1], 1);
			buf_add(&result, pair, used);
		}
	}
	add_records(out, FCGI_GET_VALUES_RESULT, 0, result.p, result.len);
	free(result.p);
}

struct server {
	long long delay_ms;
	char requests_log[PATH_MAX];   /* empty without --report */
};

static void
respond(const struct server *s, struct buf *out, int id,
    const struct buf *params)
{
	const unsigned char *name, *value;
	size_t off = 0, used, nlen, vlen;
	char head[128];
	struct buf text = { NULL, 0, 0 };
	int n;

	sleep_ms(s->delay_ms);
	n = snprintf(head, sizeof(head),
	    "Content-Type: text/plain\r\n\r\nhello from pid %ld\n",
	    (long)getpid());
	buf_add(&text, head, (size_t)n);
	while (params->len > off && (used = fcgi_decode_pair(params->p + off,
	    params->len - off, &name, &nlen, &value, &vlen)) > 0) {
		off += used;
		if (nlen == 12 && memcmp(name, "QUERY_STRING", 12) == 0) {
			buf_add(&text, "QUERY_STRING=", 13);
			buf_add(&text, value, vlen);
			buf_add(&text, "\n", 1);
		}
	}
	add_records(out, FCGI_STDOUT, id, text.p, text.len);
	add_records(out, FCGI_STDOUT, id, NULL, 0);
	end_request(out, id, FCGI_REQUEST_COMPLETE);
	free(text.p);
}

/*
 * A client that has just connected is about to send its request, so a
 * SIGTERM now does not drop the connection at once: the request gets
 * STOP_GRACE_MS to start arriving, and is then served before the probe
 * exits. This keeps a stop from failing requests that were already sent.
 * SIGTERM stays blocked but inside ppoll(), so it cannot slip in between
 * the look at stop_requested and the wait (and no descriptor is added
 * that the report would not show).
 */
static void
await_first_request(int c)
{
	struct pollfd pfd;
	sigset_t term, outside;
	int r = 0;

	pfd.fd = c;
	pfd.events = POLLIN;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &outside);
	while (!stop_requested && r <= 0) {
		r = ppoll(&pfd, 1, NULL, &outside);
		if (r < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
	}
	sigprocmask(SIG_SETMASK, &outside, NULL);
	if (r <= 0 && poll(&pfd, 1, STOP_GRACE_MS) <= 0)
		exit(0);
}

/*
 * One connection, one request at a time (FCGI_MPXS_CONNS=0). The "begin"
 * and "end" lines in DIR/<pid>.requests let a test stop the probe while a
 * request is known to be in progress.
 */
static void
serve_conn(const struct server *s, int c)
{
	static unsigned char body[FCGI_MAX_CONTENT + 255];
	unsigned char hdr[FCGI_HEADER_LEN];
	struct buf params = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	struct fcgi_header h;
	int id = 0, keep = 0, fresh = 1, done, role, r;

	for (;;) {
		if (fresh)
			await_first_request(c);
		else if (id == 0) {
			idle = 1;
			if (stop_requested)
				exit(0);
		}
		fresh = 0;
		r = read_full(c, hdr, sizeof(hdr));
		idle = 0;
		if (r < 0 || fcgi_decode_header(hdr, &h) != 0 ||
		    read_full(c, body, (size_t)(h.content_length +
		    h.padding_length)) < 0)
			break;
		out.len = 0;
		done = 0;
		if (h.request_id == 0)
			answer_management(&out, &h, body);
		else if (h.type == FCGI_BEGIN_REQUEST) {
			if (h.content_length < 8)
				break;
			role = (body[0] << 8) | body[1];
			/* The refusals of section 5.5. */
			if (id != 0 || role != FCGI_RESPONDER) {
				end_request(&out, h.request_id, id != 0 ?
				    FCGI_CANT_MPX_CONN : FCGI_UNKNOWN_ROLE);
			} else {
				id = h.request_id;
				keep = body[2] & FCGI_KEEP_CONN;
				params.len = 0;
			}
		} else if (h.request_id != id)
			;       /* inactive request: ignored, section 3.3 */
		else if (h.type == FCGI_PARAMS) {
			if (params.len + h.content_length > MAX_PARAMS)
				break;
			buf_add(&params, body, (size_t)h.content_length);
		} else if (h.type == FCGI_STDIN && h.content_length == 0) {
			if (s->requests_log[0])
				append_line(s->requests_log, "begin\n", 6);
			respond(s, &out, id, &params);
			done = 1;
		} else if (h.type == FCGI_ABORT_REQUEST) {
			end_request(&out, id, FCGI_REQUEST_COMPLETE);
			done = 1;
		}
		if (out.len > 0 && send_all(c, out.p, out.len) < 0)
			break;
		if (!done)
			continue;
		if (s->requests_log[0])
			append_line(s->requests_log, "end\n", 4);
		id = 0;
		if (!keep)
			break;
	}
	free(params.p);
	free(out.p);
}

static void
serve(const struct server *s)
{
	int c;

	for (;;) {
		c = accept_next();
		serve_conn(s, c);
		close(c);
		/* A SIGTERM during the request is honoured now it is done. */
		if (stop_requested)
			exit(0);
	}
}

static void
silent(void)
{
	struct pollfd pfd[1 + SILENT_MAX_CONNS];
	char scratch[4096];
	int n = 0, i, c;
	ssize_t r;

	for (;;) {
		/* When full, further clients wait in the backlog. */
		pfd[0].fd = n < SILENT_MAX_CONNS ? 0 : -1;
		pfd[0].events = POLLIN;
		if (poll(pfd, (nfds_t)(1 + n), -1) < 0) {
			if (errno == EINTR)
				continue;
			die_errno("poll", "connections");
		}
		if (pfd[0].revents & (POLLNVAL | POLLERR))
			die("fd 0 cannot be polled for connections");
		for (i = n; i >= 1; i--) {
			if (pfd[i].revents == 0)
				continue;
			r = read(pfd[i].fd, scratch, sizeof(scratch));
			if (r > 0 || (r < 0 && errno == EINTR))
				continue;
			close(pfd[i].fd);
			pfd[i] = pfd[n--];
		}
		if (pfd[0].revents & POLLIN) {
			c = accept(0, NULL, NULL);
			if (c >= 0) {
				pfd[++n].fd = c;
				pfd[n].events = POLLIN;
				pfd[n].revents = 0;
			} else if (errno != EINTR && errno != EAGAIN &&
			    errno != EWOULDBLOCK && errno != ECONNABORTED)
				die_errno("accept", "fd 0");
		}
	}
}

static void
garbage(void)
{
	static const char answer[] = "HTTP/1.0 200 OK\r\n\r\n";
	char scratch[4096];
	long long deadline;
	ssize_t r;
	int c;

	for (;;) {
		c = accept_next();
		(void)send_all(c, answer, sizeof(answer) - 1);
		/*
		 * Closing with the request still unread would reset the
		 * connection, and the client could lose the answer; so read
		 * until the client closes, for a bounded time.
		 */
		shutdown(c, SHUT_WR);
		deadline = mono_ms() + GARBAGE_LINGER_MS;
		while (mono_ms() < deadline) {
			wait_readable(c, (int)(deadline - mono_ms()));
			r = recv(c, scratch, sizeof(scratch), MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EINTR &&
			    errno != EAGAIN && errno != EWOULDBLOCK))
				break;
		}
		close(c);
	}
}

int
main(int argc, char **argv)
{
	struct probe_opts o;
	struct server s;
	char tmp[PATH_MAX], final[PATH_MAX];
	sigset_t handled, saved;
	long pid = (long)getpid();

	parse_args(argc, argv, &o);
	memset(&s, 0, sizeof(s));
	s.delay_ms = o.delay_ms;
	if (o.report_dir != NULL) {
		path_for(tmp, sizeof(tmp), o.report_dir, ".", pid, ".tmp");
		path_for(final, sizeof(final), o.report_dir, "", pid,
		    ".report");
		path_for(signals_path, sizeof(signals_path), o.report_dir, "",
		    pid, ".signals");
		path_for(s.requests_log, sizeof(s.requests_log), o.report_dir,
		    "", pid, ".requests");
		write_report(tmp, argc, argv);
	}
	/*
	 * A test sends its signals once the report is there; holding them
	 * until the handlers are in place keeps one from killing the probe
	 * in between. The report was taken before, so it shows the mask as
	 * inherited.
	 */
	handled_signals(&o, &handled);
	sigprocmask(SIG_BLOCK, &handled, &saved);
	if (o.report_dir != NULL && rename(tmp, final) != 0)
		die_errno("rename", final);
	if (o.ready_file != NULL)
		write_ready(o.ready_file);
	if (o.orphan_ms >= 0)
		start_orphan(o.report_dir, o.orphan_ms, &saved);
	install_handlers(&o, &handled);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	if (o.print != NULL) {
		dprintf(1, "%s out\n", o.print);
		dprintf(2, "%s err\n", o.print);
	}

	switch (o.behaviour) {
	case SERVE:
		serve(&s);
		break;
	case SILENT:
		silent();
		break;
	case GARBAGE:
		garbage();
		break;
	case SLEEP:
		for (;;)
			pause();
	case EXIT:
		break;
	case EXIT_AFTER:
		sleep_ms(o.exit_after_ms);
		break;
	case RAISE:
		/* Unblocked too: an inherited mask must not defer the death. */
		signal((int)o.raise_sig, SIG_DFL);
		sigemptyset(&handled);
		sigaddset(&handled, (int)o.raise_sig);
		sigprocmask(SIG_UNBLOCK, &handled, NULL);
		if (raise((int)o.raise_sig) != 0)
			die("raise %lld: %s", o.raise_sig, strerror(errno));
		/* Signals whose default is to be ignored end up here. */
		return 0;
	}
	return (int)o.exit_code;
}
