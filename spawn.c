/*
 * spawn: bind a FastCGI listening socket, drop privileges, start N copies
 * of a program with the socket on fd 0, verify they started, and exit or
 * supervise them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "spawn.h"
#include "fcgi.h"
#include "pool.h"

extern char **environ;

/* Parsing: pure functions, no I/O. */

const char *
spawn_parse_number(const char *s, long long lo, long long hi, long long *out)
{
	const char *p = s;
	long long v;
	char *end;

	if (*p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return "not a number";
	if (*s == '-' && lo >= 0) {
		for (; *p; p++)
			if (!isdigit((unsigned char)*p))
				return "not a number";
		return "too small";
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return "not a number";
	if (errno == ERANGE)
		return *s == '-' ? "too small" : "too large";
	if (v < lo)
		return "too small";
	if (v > hi)
		return "too large";
	*out = v;
	return NULL;
}

const char *
spawn_parse_mode(const char *s, int *out)
{
	int v = 0;
	const char *p;

	if (*s == '\0' || strlen(s) > 4)
		return "not an octal mode (0..0777)";
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '7')
			return "not an octal mode (0..0777)";
		v = v * 8 + (*p - '0');
	}
	if (v > 0777)
		return "not an octal mode (0..0777)";
	*out = v;
	return NULL;
}

static const struct {
	const char *name;
	int sig;
} signals[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
	{ "ILL", SIGILL }, { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
	{ "BUS", SIGBUS }, { "FPE", SIGFPE }, { "KILL", SIGKILL },
	{ "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
	{ "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },
	{ "URG", SIGURG }, { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
	{ "IO", SIGIO }, { "SYS", SIGSYS },
};

const char *
spawn_signal_name(int sig)
{
	size_t i;

	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (signals[i].sig == sig)
			return signals[i].name;
	return NULL;
}

const char *
spawn_parse_signal(const char *s, int *out)
{
	const char *name = s;
	long long v;
	size_t i;

	if (isdigit((unsigned char)*s)) {
		if (spawn_parse_number(s, 1, NSIG - 1, &v) != NULL)
			return "not a signal";
		*out = (int)v;
		return NULL;
	}
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (strcasecmp(name, signals[i].name) == 0) {
			*out = signals[i].sig;
			return NULL;
		}
	}
	return "not a signal";
}

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

#ifndef SPAWN_NO_MAIN
static const char *
limit_name(int resource)
{
	size_t i;

	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		if (limits[i].resource == resource)
			return limits[i].name;
	return "?";
}
#endif

const char *
spawn_parse_limit(const char *s, struct spawn_limit *out)
{
	const char *eq = strchr(s, '=');
	long long v;
	size_t i;

	if (eq == NULL)
		return "not RESOURCE=VALUE";
	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		if (strlen(limits[i].name) == (size_t)(eq - s) &&
		    strncmp(s, limits[i].name, eq - s) == 0)
			break;
	}
	if (i == sizeof(limits) / sizeof(limits[0]))
		return "unknown resource (nofile core nproc as data stack "
		    "fsize cpu memlock)";
	out->resource = limits[i].resource;
	if (strcmp(eq + 1, "unlimited") == 0 || strcmp(eq + 1, "infinity") == 0) {
		out->value = RLIM_INFINITY;
		return NULL;
	}
	if (eq[1] == '-' || spawn_parse_number(eq + 1, 0, LLONG_MAX, &v) != NULL)
		return "not a number or unlimited";
	out->value = (rlim_t)v;
	return NULL;
}

int
spawn_exit_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return SPAWN_EXIT_FAIL;
}

const char *
spawn_parse_inet(const char *addr, int port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(addr);
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
		if (n - 2 >= sizeof(buf))
			return "not an IPv4 or IPv6 address";
		memcpy(buf, addr + 1, n - 2);
		buf[n - 2] = '\0';
		if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1)
			return "not an IPv6 address";
		goto v6;
	}
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)port);
		*len = sizeof(*sin);
		return NULL;
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
		return "not an IPv4 or IPv6 address";
v6:
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((unsigned short)port);
	*len = sizeof(*sin6);
	return NULL;
}

const char *
spawn_parse_target(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	long long port;

	memset(ss, 0, sizeof(*ss));
	if (*s == '\0')
		return "empty address";
	colon = strrchr(s, ':');
	if (colon == NULL && *s != '/' && *s != '.' &&
	    spawn_parse_inet(s, 0, ss, len) == NULL) {
		memset(ss, 0, sizeof(*ss));
		return "an IP address needs a port: HOST:PORT";
	}
	if (*s == '/' || *s == '.' || colon == NULL) {
		if (strlen(s) >= sizeof(sun->sun_path))
			return "socket path too long";
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, s);
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    strlen(s) + 1);
		return NULL;
	}
	if (spawn_parse_number(colon + 1, 1, 65535, &port) != NULL)
		return "bad port (1..65535)";
	if ((size_t)(colon - s) >= sizeof(host))
		return "not an IPv4 or IPv6 address";
	memcpy(host, s, colon - s);
	host[colon - s] = '\0';
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	if (*host != '[' && strchr(host, ':') != NULL)
		return "an IPv6 address needs brackets: [ADDR]:PORT";
	return spawn_parse_inet(host, (int)port, ss, len);
}

/* The command line. */

enum {
	OPT_MIN_UPTIME = 256, OPT_RETRIES, OPT_STOP_SIGNAL, OPT_STOP_TIMEOUT,
	OPT_SUBREAPER, OPT_FD, OPT_FD_NAME, OPT_CHECK, OPT_CHECK_TIMEOUT,
	OPT_PROBE, OPT_LIMIT, OPT_UMASK, OPT_NICE, OPT_NO_NEW_PRIVS,
	OPT_OUTPUT, OPT_CGI, OPT_CGI_DIR, OPT_CGI_TIMEOUT, OPT_CGI_MAX,
	OPT_MAX_CHILDREN, OPT_SCALE_DELAY, OPT_IDLE_TIMEOUT, OPT_STATUS_FILE,
};

static const struct option_def {
	int key;
	const char *name;
	int has_arg;
} options[] = {
	{ 'a', "address", 1 }, { 'p', "port", 1 }, { 's', "socket", 1 },
	{ 'M', "socket-mode", 1 }, { 'U', "socket-user", 1 },
	{ 'G', "socket-group", 1 }, { 'b', "backlog", 1 },
	{ 'F', "children", 1 }, { 'C', "php-children", 1 },
	{ 'd', "chdir", 1 }, { 'c', "chroot", 1 },
	{ 'S', "bind-before-chroot", 0 }, { 'u', "user", 1 },
	{ 'g', "group", 1 }, { 'P', "pid-file", 1 }, { 'n', "no-fork", 0 },
	{ 'f', "shell-command", 1 }, { 'v', "version", 0 },
	{ 'h', "help", 0 }, { OPT_MIN_UPTIME, "min-uptime", 1 },
	{ 'w', "wait", 0 }, { 'r', "respawn", 0 },
	{ OPT_RETRIES, "retries", 1 }, { OPT_STOP_SIGNAL, "stop-signal", 1 },
	{ OPT_STOP_TIMEOUT, "stop-timeout", 1 },
	{ OPT_SUBREAPER, "subreaper", 0 }, { OPT_FD, "fd", 1 },
	{ OPT_FD_NAME, "fd-name", 1 }, { OPT_CHECK, "check", 0 },
	{ OPT_CHECK_TIMEOUT, "check-timeout", 1 }, { OPT_PROBE, "probe", 1 },
	{ 'e', "env", 1 }, { 'E', "clear-env", 0 }, { OPT_LIMIT, "limit", 1 },
	{ OPT_UMASK, "umask", 1 }, { OPT_NICE, "nice", 1 },
	{ OPT_NO_NEW_PRIVS, "no-new-privs", 0 }, { OPT_OUTPUT, "output", 1 },
	{ OPT_CGI, "cgi", 0 }, { OPT_CGI_DIR, "cgi-dir", 1 },
	{ OPT_CGI_TIMEOUT, "cgi-timeout", 1 }, { OPT_CGI_MAX, "cgi-max", 1 },
	{ OPT_MAX_CHILDREN, "max-children", 1 },
	{ OPT_SCALE_DELAY, "scale-delay", 1 },
	{ OPT_IDLE_TIMEOUT, "idle-timeout", 1 },
	{ OPT_STATUS_FILE, "status-file", 1 },
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static const struct option_def *
find_short(int c)
{
	size_t i;

	for (i = 0; i < NOPTIONS; i++)
		if (options[i].key == c)
			return &options[i];
	return NULL;
}

static const struct option_def *
find_long(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NOPTIONS; i++)
		if (strlen(options[i].name) == len &&
		    strncmp(options[i].name, name, len) == 0)
			return &options[i];
	return NULL;
}

/* Bounded number for option d: fills *out or writes the message. */
static int
number_arg(const struct option_def *d, const char *v, long long lo,
    long long hi, long long *out, char *err, size_t errlen)
{
	const char *why = spawn_parse_number(v, lo, hi, out);

	if (why == NULL)
		return 0;
	snprintf(err, errlen, "%s \"%s\": %s (%lld..%lld)", d->name, v, why,
	    lo, hi);
	return -1;
}

static int
apply_option(struct spawn_opts *o, const struct option_def *d, char *v,
    char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *why = NULL;
	long long n;
	int m;

#define NUM(lo, hi) \
	do { \
		if (number_arg(d, v, (lo), (hi), &n, err, errlen) < 0) \
			return -1; \
	} while (0)

	if (d->key != OPT_PROBE && d->key != OPT_CHECK_TIMEOUT)
		o->nother++;
	switch (d->key) {
	case 'a':
		if ((why = spawn_parse_inet(v, 0, &ss, &len)) == NULL)
			o->address = v;
		break;
	case 'p': NUM(1, 65535); o->port = (int)n; break;
	case 's':
		if (*v == '\0')
			why = "empty path";
		else if (strlen(v) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			why = "path too long for a unix socket";
		o->socket_path = v;
		break;
	case 'M':
		if ((why = spawn_parse_mode(v, &m)) == NULL)
			o->socket_mode = m;
		break;
	case 'U': o->socket_user = v; break;
	case 'G': o->socket_group = v; break;
	case 'b': NUM(1, 65535); o->backlog = (int)n; break;
	/* 0 is only for a dynamic pool: spawn_parse_args checks it last. */
	case 'F':
		if (strcmp(v, "0") == 0)
			n = 0;
		else
			NUM(1, SPAWN_MAX_CHILDREN);
		o->children = (int)n;
		break;
	case 'C': NUM(0, SPAWN_MAX_CHILDREN); o->php_children = (int)n; break;
	case 'd': o->chdir_dir = v; break;
	case 'c': o->chroot_dir = v; break;
	case 'S': o->bind_before_chroot = 1; break;
	case 'u': o->user = v; break;
	case 'g': o->group = v; break;
	case 'P': o->pid_file = v; break;
	case 'n': o->no_fork = 1; break;
	case 'f': o->shell_command = v; break;
	case 'v': o->show_version = 1; break;
	case 'h': o->show_help = 1; break;
	case OPT_MIN_UPTIME: NUM(0, 3600000); o->min_uptime = (long)n; break;
	case 'w': o->wait = 1; break;
	case 'r': o->respawn = 1; break;
	case OPT_RETRIES: NUM(0, 1000000); o->retries = (int)n; break;
	case OPT_STOP_SIGNAL:
		if ((why = spawn_parse_signal(v, &m)) == NULL)
			o->stop_signal = m;
		break;
	case OPT_STOP_TIMEOUT: NUM(0, 86400); o->stop_timeout = (int)n; break;
	case OPT_SUBREAPER: o->subreaper = 1; break;
	case OPT_FD: NUM(0, 65535); o->fd = (int)n; break;
	case OPT_FD_NAME:
		if (*v == '\0' || strchr(v, ':') != NULL)
			why = "not a socket name";
		o->fd_name = v;
		break;
	case OPT_CHECK: o->check = 1; break;
	case OPT_CHECK_TIMEOUT: NUM(1, 600000); o->check_timeout = (long)n; break;
	case OPT_PROBE: o->probe = v; break;
	case 'e':
		if (*v == '\0' || *v == '=')
			why = "not NAME or NAME=VALUE";
		o->env[o->nenv++] = v;
		o->env[o->nenv] = NULL;
		break;
	case 'E': o->clear_env = 1; break;
	case OPT_LIMIT:
		if (o->nlimits == SPAWN_MAX_LIMITS)
			why = "too many limits";
		else if ((why = spawn_parse_limit(v, &o->limits[o->nlimits])) == NULL)
			o->nlimits++;
		break;
	case OPT_UMASK:
		if ((why = spawn_parse_mode(v, &m)) == NULL)
			o->umask_mode = m;
		break;
	case OPT_NICE: NUM(-20, 19); o->nice_set = 1; o->nice_value = (int)n; break;
	case OPT_NO_NEW_PRIVS: o->no_new_privs = 1; break;
	case OPT_OUTPUT: o->output = v; break;
	case OPT_CGI: o->cgi = 1; break;
	case OPT_CGI_DIR:
		if (*v == '\0')
			why = "empty path";
		o->cgi_dir = v;
		o->cgi = 1;
		break;
	case OPT_CGI_TIMEOUT: NUM(1, 86400); o->cgi_timeout = (int)n; break;
	case OPT_CGI_MAX: NUM(1, SPAWN_MAX_CHILDREN); o->cgi_max = (int)n; break;
	case OPT_MAX_CHILDREN:
		NUM(1, SPAWN_MAX_CHILDREN);
		o->max_children = (int)n;
		o->dynamic = 1;
		break;
	case OPT_SCALE_DELAY: NUM(1, 60000); o->scale_delay = (long)n; break;
	case OPT_IDLE_TIMEOUT: NUM(1, 86400); o->idle_timeout = (int)n; break;
	case OPT_STATUS_FILE:
		if (*v == '\0')
			why = "empty path";
		o->status_file = v;
		break;
	}
#undef NUM
	if (why != NULL) {
		snprintf(err, errlen, "%s \"%s\": %s", d->name, v, why);
		return -1;
	}
	return 0;
}

static void
init_opts(struct spawn_opts *o, char **envbuf)
{
	memset(o, 0, sizeof(*o));
	o->socket_mode = -1;
	o->backlog = -1;
	o->children = -1;
	o->php_children = -1;
	o->min_uptime = -1;
	o->retries = -1;
	o->stop_timeout = -1;
	o->fd = -1;
	o->check_timeout = -1;
	o->umask_mode = -1;
	o->cgi_timeout = -1;
	o->cgi_max = -1;
	o->max_children = -1;
	o->scale_delay = -1;
	o->idle_timeout = -1;
	o->env = envbuf;
	o->env[0] = NULL;
}

int
spawn_parse_args(int argc, char **argv, struct spawn_opts *o, char **envbuf,
    char *err, size_t errlen)
{
	const struct option_def *d;
	char *a, *v, *eq;
	int i;

	init_opts(o, envbuf);
	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (a[1] == '-') {
			eq = strchr(a + 2, '=');
			d = find_long(a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
			if (d == NULL) {
				snprintf(err, errlen, "unknown option %.*s",
				    eq ? (int)(eq - a) : (int)strlen(a), a);
				return SPAWN_EXIT_USAGE;
			}
			if (!d->has_arg && eq != NULL) {
				snprintf(err, errlen, "option --%s takes no value",
				    d->name);
				return SPAWN_EXIT_USAGE;
			}
			v = NULL;
			if (d->has_arg) {
				if (eq != NULL)
					v = eq + 1;
				else if (i + 1 < argc)
					v = argv[++i];
				else {
					snprintf(err, errlen,
					    "option --%s needs a value", d->name);
					return SPAWN_EXIT_USAGE;
				}
			}
			if (apply_option(o, d, v, err, errlen) < 0)
				return SPAWN_EXIT_USAGE;
			continue;
		}
		for (a++; *a != '\0'; a++) {
			/* spawn-fcgi takes -? for help too. */
			d = *a == '?' ? find_short('h') :
			    (unsigned char)*a < 128 && *a != '-' ? find_short(*a) : NULL;
			if (d == NULL) {
				snprintf(err, errlen, "unknown option -%c", *a);
				return SPAWN_EXIT_USAGE;
			}
			if (!d->has_arg) {
				if (apply_option(o, d, NULL, err, errlen) < 0)
					return SPAWN_EXIT_USAGE;
				continue;
			}
			if (a[1] != '\0')
				v = a + 1;
			else if (i + 1 < argc)
				v = argv[++i];
			else {
				snprintf(err, errlen, "option -%c needs a value", *a);
				return SPAWN_EXIT_USAGE;
			}
			if (apply_option(o, d, v, err, errlen) < 0)
				return SPAWN_EXIT_USAGE;
			break;
		}
	}
	o->argv = argv + i;
	o->argc = argc - i;
	/* Without a maximum, -F 0 would start nothing and never grow. */
	if (o->children == 0 && o->max_children < 0) {
		snprintf(err, errlen, "children \"0\": too small (1..%d)",
		    SPAWN_MAX_CHILDREN);
		return SPAWN_EXIT_USAGE;
	}
	return 0;
}

const char *
spawn_check_conflicts(const struct spawn_opts *o)
{
	static char below[64];
	int sockets = (o->socket_path != NULL) + (o->port != 0) + (o->fd >= 0);

	if (o->probe != NULL) {
		if (o->argc > 0 || o->nother > 0)
			return "--probe takes only --check-timeout";
		return NULL;
	}
	if (o->socket_path && o->port)
		return "-s and -p are exclusive";
	if (sockets > 1)
		return "--fd is exclusive with -s and -p";
	if (o->fd_name && sockets > 0)
		return "--fd-name is for systemd socket activation, not with -s, -p or --fd";
	if (o->address && !o->port)
		return "-a needs -p";
	if (o->socket_path == NULL) {
		if (o->socket_mode >= 0)
			return "-M needs -s";
		if (o->socket_user)
			return "-U needs -s";
		if (o->socket_group)
			return "-G needs -s";
	}
	if (o->fd >= 0 && o->backlog >= 0)
		return "-b does not apply to an inherited socket (--fd)";
	if (o->bind_before_chroot && !o->chroot_dir)
		return "-S needs -c";
	if ((o->cgi_timeout >= 0 || o->cgi_max >= 0) && !o->cgi)
		return "--cgi-timeout and --cgi-max need --cgi or --cgi-dir";
	if (o->cgi && o->shell_command)
		return "--cgi and -f are exclusive";
	if (o->cgi && o->php_children >= 0)
		return "--cgi and -C are exclusive: -C is for php-cgi's own workers";
	if (o->cgi_dir && o->argc > 0)
		return "--cgi-dir and a program are exclusive: SCRIPT_FILENAME names the script";
	if (o->shell_command && o->argc > 0)
		return "-f and a program are exclusive";
	if (!o->shell_command && o->argc == 0 && !o->cgi_dir)
		return o->cgi ? "no program given: --cgi needs one, or use --cgi-dir" :
		    "no program given";
	if (o->no_fork) {
		if (o->children > 1)
			return "-n starts one process: -F is not allowed";
		if (o->wait || o->respawn)
			return "-n and -w/-r are exclusive";
		if (o->check)
			return "-n and --check are exclusive";
		if (o->subreaper)
			return "-n and --subreaper are exclusive";
	}
	if (o->subreaper && !o->wait && !o->respawn)
		return "--subreaper needs -w or -r";
	if (o->retries >= 0 && !o->respawn)
		return "--retries needs -r";
	if (o->max_children >= 0 && !o->respawn)
		return "--max-children needs -r (nothing else would grow the pool)";
	if (o->max_children >= 0 && o->children > o->max_children) {
		snprintf(below, sizeof(below), "--max-children %d is below -F %d",
		    o->max_children, o->children);
		return below;
	}
	if ((o->scale_delay >= 0 || o->idle_timeout >= 0) && o->max_children < 0)
		return "--scale-delay and --idle-timeout need --max-children";
	if (o->status_file != NULL && !o->wait && !o->respawn)
		return "--status-file needs -w or -r";
	if (o->status_file != NULL && ((o->socket_path != NULL &&
	    strcmp(o->status_file, o->socket_path) == 0) ||
	    (o->pid_file != NULL && strcmp(o->status_file, o->pid_file) == 0) ||
	    (o->output != NULL && strcmp(o->status_file, o->output) == 0)))
		return "--status-file names the same file as -s, -P or --output";
	if (o->children == 0 && o->check)
		return "--check needs -F 1 or more: with -F 0 nothing answers until "
		    "the first connection";
	if (o->children > 0 && o->php_children > 0 &&
	    (long)o->children * o->php_children > 65536)
		return "-F times -C is more than 65536 processes";
	return NULL;
}

void
spawn_apply_defaults(struct spawn_opts *o)
{
	if (o->backlog < 0)
		o->backlog = SPAWN_DEFAULT_BACKLOG;
	if (o->children < 0)
		o->children = 1;
	if (o->min_uptime < 0)
		o->min_uptime = SPAWN_DEFAULT_MIN_UPTIME;
	if (o->respawn)
		o->wait = 1;
	if (o->retries < 0)
		o->retries = SPAWN_DEFAULT_RETRIES;
	if (o->stop_signal == 0)
		o->stop_signal = SIGTERM;
	if (o->stop_timeout < 0)
		o->stop_timeout = SPAWN_DEFAULT_STOP_TIMEOUT;
	if (o->check_timeout < 0)
		o->check_timeout = SPAWN_DEFAULT_CHECK_TIMEOUT;
	if (o->address == NULL)
		o->address = "0.0.0.0";
	if (o->cgi_timeout < 0)
		o->cgi_timeout = SPAWN_DEFAULT_CGI_TIMEOUT;
	if (o->cgi_max < 0)
		o->cgi_max = SPAWN_DEFAULT_CGI_MAX;
	if (o->max_children < 0)
		o->max_children = o->children;
	if (o->scale_delay < 0)
		o->scale_delay = SPAWN_DEFAULT_SCALE_DELAY;
	if (o->idle_timeout < 0)
		o->idle_timeout = SPAWN_DEFAULT_IDLE_TIMEOUT;
}

#ifndef SPAWN_NO_MAIN

/*
 * Diagnostics: one line on stderr, "spawn: <doing what> <object>: <reason>".
 * Built whole and written with one write(2), so that lines from several
 * processes sharing stderr never interleave (stdio may split a line in
 * two: musl writes the newline on its own). Every message goes through
 * here, and the values they echo (what the user typed, file names, what a
 * peer sent) may hold anything: control characters are escaped C-style
 * (\n \t \r, \\ for a backslash itself, \xHH for the rest), so a
 * message is always exactly one line.
 */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	static const char hex[] = "0123456789abcdef";
	char msg[1024], line[PIPE_BUF];
	size_t len, i;
	unsigned char c;
	va_list ap;
	ssize_t w;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	memcpy(line, "spawn: ", 7);
	len = 7;
	/* Room is kept for the longest escape and the newline. */
	for (i = 0; msg[i] != '\0' && len + 5 <= sizeof(line); i++) {
		c = (unsigned char)msg[i];
		if (c >= ' ' && c != 127 && c != '\\') {
			line[len++] = (char)c;
			continue;
		}
		line[len++] = '\\';
		switch (c) {
		case '\n': line[len++] = 'n'; break;
		case '\t': line[len++] = 't'; break;
		case '\r': line[len++] = 'r'; break;
		case '\\': line[len++] = '\\'; break;
		default:
			line[len++] = 'x';
			line[len++] = hex[c >> 4];
			line[len++] = hex[c & 15];
			break;
		}
	}
	line[len++] = '\n';
	/* At most PIPE_BUF bytes: one write, never split or interleaved. */
	while ((w = write(2, line, len)) < 0 && errno == EINTR)
		;
}

static void
describe_status(char *buf, size_t len, int status)
{
	const char *name;

	if (WIFEXITED(status)) {
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		name = spawn_signal_name(WTERMSIG(status));
		snprintf(buf, len, "killed by signal %d%s%s%s", WTERMSIG(status),
		    name ? " (SIG" : "", name ? name : "", name ? ")" : "");
	} else {
		snprintf(buf, len, "stopped with status 0x%x", status);
	}
}

/* Run-time state: what main() resolved and opened, shared by every step. */

/*
 * What a slot's own child is doing. A reload's new child (pending) and the
 * child it replaces (old) live beside it for the length of the reload.
 * Every change goes through slot_to().
 */
enum slot_state {
	SLOT_EMPTY,     /* no child and none due: a dynamic slot not in use */
	SLOT_BACKOFF,   /* no child; restart_at says when the next one starts */
	SLOT_STARTING,  /* forked, not yet --min-uptime old */
	SLOT_RUNNING,   /* verified */
	SLOT_STOPPING,  /* idle and surplus: sent the stop signal */
};

struct slot {
	enum slot_state state;
	pid_t pid;            /* the running child, 0 when none */
	long long started;    /* when it was forked, ms */
	int fails;            /* failed starts in a row */
	long long restart_at; /* when to start the next one, 0 when not due */
	pid_t pending;        /* reload: the new child under verification */
	long long pending_started;
	pid_t old;            /* reload: the replaced child, being stopped */
	long long old_kill_at;
	int verified;         /* first start: seen alive --min-uptime after fork */
	pid_t gone;           /* first start: reaped meanwhile, not yet told */
	int gone_status;
	long long kill_at;    /* SLOT_STOPPING: SIGKILL then */
	long long seen_at;    /* dynamic pool: when activity was last sampled */
	long long mark;       /* and what it was (switches, or requests) */
	/*
	 * --cgi pool: which of the slot's two activity cells each child has.
	 * A new child gets the one no live child of the slot uses.
	 */
	int act, pending_act, old_act, next_act;
};

struct run {
	struct spawn_opts *o;
	int is_root;
	int drop_uid, drop_gid;  /* -u/-g given: set them in the child */
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	int ngroups;
	int sock_chown;
	int backlog_given;
	uid_t sock_uid;
	gid_t sock_gid;

	int sock;                /* the listening socket */
	int sock_dirfd;          /* directory of the socket file we made */
	const char *sock_base;
	dev_t sock_dev;
	ino_t sock_ino;
	int check_fd;            /* --check: connected before the children */

	int pid_dirfd;           /* directory of the pid file */
	const char *pid_base;
	char pid_tmp[NAME_MAX + 1];
	int pid_fd;              /* the temporary file, open */
	int pid_written;

	int out_fd;              /* for fds 1 and 2 of the children, or -1 */
	int out_dirfd;           /* --output file we created, until a fork */
	const char *out_base;
	const char *path;        /* the program, resolved */
	char **argv;
	char **envp;
	char *sh_argv[4];

	sigset_t handled;        /* signals spawn takes with sigwaitinfo */

	int notify_fd;

	struct cgi_config cgi;   /* --cgi: what the workers serve */
	char cgi_dir[PATH_MAX];

	struct slot *slots;
	int nslots;
	int start_deaths;        /* children that died on their own at start */
	int starting;            /* the first start is verifying (fork_batch) */
	pid_t self;              /* spawn's own pid, for the children */
	int progress_fd;         /* stdout, non-blocking, or -1 */
	int progress_sock;       /* stdout is a socket: send(MSG_DONTWAIT) */

	int status_dirfd;        /* --status-file: its directory */
	const char *status_base;
	dev_t status_dev;        /* the file we last put there */
	ino_t status_ino;
	int status_written;
	volatile unsigned *activity; /* --cgi pool: two cells per slot and child */
};

/* Removes what this run created: the socket file and the pid file. */
static void
cleanup(struct run *r)
{
	struct stat st;

	if (r->sock_dirfd >= 0 && r->sock_base != NULL &&
	    fstatat(r->sock_dirfd, r->sock_base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISSOCK(st.st_mode) && st.st_dev == r->sock_dev &&
	    st.st_ino == r->sock_ino)
		unlinkat(r->sock_dirfd, r->sock_base, 0);
	/* An --output file nobody ever wrote to is ours to take back. */
	if (r->out_dirfd >= 0) {
		unlinkat(r->out_dirfd, r->out_base, 0);
		close(r->out_dirfd);
	}
	r->out_dirfd = -1;
	if (r->pid_dirfd >= 0) {
		if (r->pid_tmp[0] != '\0')
			unlinkat(r->pid_dirfd, r->pid_tmp, 0);
		if (r->pid_written)
			unlinkat(r->pid_dirfd, r->pid_base, 0);
	}
	r->pid_tmp[0] = '\0';
	r->pid_written = 0;
	r->sock_base = NULL;
	/* The status file, if what is there is still the one we wrote. */
	if (r->status_written && r->status_dirfd >= 0 &&
	    fstatat(r->status_dirfd, r->status_base, &st,
	    AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == r->status_dev &&
	    st.st_ino == r->status_ino)
		unlinkat(r->status_dirfd, r->status_base, 0);
	r->status_written = 0;
}

/*
 * Closes what the run holds open, on the way out: nothing spawn opened is
 * left for exit to close (valgrind --track-fds checks it).
 */
static void
release(struct run *r)
{
	int *fds[] = {
		&r->sock, &r->sock_dirfd, &r->pid_dirfd, &r->pid_fd, &r->out_fd,
		&r->out_dirfd, &r->check_fd, &r->notify_fd, &r->progress_fd,
		&r->status_dirfd,
	};
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] > 2)
			close(*fds[i]);
		*fds[i] = -1;
	}
	pool_release();
}

static void __attribute__((noreturn))
die(struct run *r, int code)
{
	if (r != NULL) {
		cleanup(r);
		release(r);
	}
	exit(code);
}

/* Descriptors. */

/*
 * Applies op to every open descriptor above 2. The list is read whole
 * before op runs, since closing entries while readdir walks
 * /proc/self/fd may skip some; without /proc (in a chroot, say) every
 * number below RLIMIT_NOFILE is tried, up to 65536.
 */
static void
each_fd_above_stderr(int (*op)(int))
{
	struct rlimit rl;
	struct dirent *de;
	DIR *d;
	long fd, max;
	int *fds = NULL, *more;
	size_t n = 0, cap = 0, i;

	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL) {
			fd = strtol(de->d_name, NULL, 10);
			if (fd <= 2 || fd == dirfd(d))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				if ((more = realloc(fds, cap * sizeof(*fds))) == NULL)
					break;
				fds = more;
			}
			fds[n++] = (int)fd;
		}
		closedir(d);
		if (de == NULL) {
			for (i = 0; i < n; i++)
				op(fds[i]);
			free(fds);
			return;
		}
		free(fds);
	}
	max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ?
	    (long)rl.rlim_cur : 65536;
	if (max > 65536)
		max = 65536;
	for (fd = 3; fd < max; fd++)
		op((int)fd);
}

static int
set_cloexec(int fd)
{
	return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/*
 * Whatever the caller left open must not reach the children: mark every
 * descriptor above 2 close-on-exec, once, at start. The socket reaches fd
 * 0 of a child through dup2, which clears the flag on the copy.
 */
static void
cloexec_inherited(void)
{
	each_fd_above_stderr(set_cloexec);
}

/* A daemon started with 0, 1 or 2 closed would hand out those numbers. */
static void
ensure_std_fds(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

static int
split_path(const char *path, char *dir, size_t dirlen, const char **base)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		snprintf(dir, dirlen, ".");
		*base = path;
	} else if (slash == path) {
		snprintf(dir, dirlen, "/");
		*base = slash + 1;
	} else {
		if ((size_t)(slash - path) >= dirlen)
			return -1;
		memcpy(dir, path, slash - path);
		dir[slash - path] = '\0';
		*base = slash + 1;
	}
	return **base == '\0' ? -1 : 0;
}

/* Socket. */

/* What is at a unix socket path now: nothing, a stale socket, or in use. */
static void
check_socket_path(struct run *r, const char *path,
    const struct sockaddr_un *sun, socklen_t len)
{
	struct stat st, again;
	int fd, rc, e;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return;
		say("socket %s: %s", path, strerror(errno));
		die(r, SPAWN_EXIT_FAIL);
	}
	if (!S_ISSOCK(st.st_mode)) {
		say("socket %s: exists and is not a socket", path);
		die(r, SPAWN_EXIT_FAIL);
	}
	/* Non-blocking, so that a full backlog cannot hang us. */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		say("socket %s: %s", path, strerror(errno));
		die(r, SPAWN_EXIT_FAIL);
	}
	rc = connect(fd, (const struct sockaddr *)sun, len);
	e = errno;
	close(fd);
	if (rc == 0 || e == EAGAIN || e == EINPROGRESS) {
		say("socket %s: already in use", path);
		die(r, SPAWN_EXIT_FAIL);
	}
	if (e != ECONNREFUSED) {
		say("socket %s: %s", path, strerror(e));
		die(r, SPAWN_EXIT_FAIL);
	}
	/* Still the same dead socket, not one another spawn just bound? */
	if (lstat(path, &again) == 0 && (again.st_dev != st.st_dev ||
	    again.st_ino != st.st_ino)) {
		say("socket %s: replaced while checking it; already in use?", path);
		die(r, SPAWN_EXIT_FAIL);
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		say("remove stale socket %s: %s", path, strerror(errno));
		die(r, SPAWN_EXIT_FAIL);
	}
}

static void
bind_unix(struct run *r)
{
	const char *path = r->o->socket_path;
	struct sockaddr_un sun;
	socklen_t len;
	char dir[PATH_MAX];
	const char *base;
	struct stat st;
	mode_t old, mode;
	int fd;

	errno = 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
	check_socket_path(r, path, &sun, len);
	/* The directory is held from here on; the name is resolved once. */
	if (split_path(path, dir, sizeof(dir), &base) < 0 ||
	    (r->sock_dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		say("socket %s: %s", path, errno ? strerror(errno) : "bad path");
		die(r, SPAWN_EXIT_FAIL);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		say("socket %s: %s", path, strerror(errno));
		die(r, SPAWN_EXIT_FAIL);
	}
	/*
	 * The file gets its final mode at creation: a umask around bind(),
	 * so there is no moment when it is more open than asked.
	 */
	old = umask(0);
	mode = r->o->socket_mode >= 0 ? (mode_t)r->o->socket_mode : (0660 & ~old);
	umask(~mode & 0777);
	if (bind(fd, (struct sockaddr *)&sun, len) < 0) {
		umask(old);
		say("bind %s: %s", path, strerror(errno));
		die(r, SPAWN_EXIT_FAIL);
	}
	umask(old);
	if (fstatat(r->sock_dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISSOCK(st.st_mode)) {
		say("socket %s: replaced right after bind", path);
		die(r, SPAWN_EXIT_FAIL);
	}
	r->sock_base = base;
	r->sock_dev = st.st_dev;
	r->sock_ino = st.st_ino;
	/* Owner before listen(), so no client connects while it is wrong. */
	if (r->sock_chown && fchownat(r->sock_dirfd, base, r->sock_uid,
	    r->sock_gid, AT_SYMLINK_NOFOLLOW) < 0) {
		say("chown socket %s: %s", path, strerror(errno));
		die(r, SPAWN_EXIT_FAIL);
	}
	if (listen(fd, r->o->backlog) < 0) {
		say("listen %s: %s", path, strerror(errno));
		die(r, SPAWN_EXIT_FAIL);
	}
	r->sock = fd;
}

static void
bind_inet(struct run *r)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	spawn_parse_inet(r->o->address, r->o->port, &ss, &len);
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		say("socket %s port %d: %s", r->o->address, r->o->port,
		    strerror(errno));
		die(r, SPAWN_EXIT_FAIL);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(fd, r->o->backlog) < 0) {
		say("bind %s port %d: %s", r->o->address, r->o->port,
		    strerror(errno));
		die(r, SPAWN_EXIT_FAIL);
	}
	r->sock = fd;
}

/* Is fd a listening stream socket? NULL, or why not. */
static const char *
listening_socket(int fd)
{
	int v;
	socklen_t len = sizeof(v);

	if (fcntl(fd, F_GETFD) < 0)
		return "not open";
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0)
		return errno == ENOTSOCK ? "not a socket" : strerror(errno);
	if (v != SOCK_STREAM)
		return "not a stream socket";
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) < 0 || !v)
		return "not a listening socket";
	return NULL;
}

/*
 * systemd socket activation (sd_listen_fds(3)): sockets from fd 3 on,
 * LISTEN_PID must be ours. Returns the fd to use, or -1 when the
 * environment does not pass us any.
 */
static int
activation_fd(struct run *r)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES"), *p;
	long long lpid, nfds;
	int i, chosen = -1;
	size_t nl;

	if (pid == NULL || fds == NULL ||
	    spawn_parse_number(pid, 1, INT_MAX, &lpid) != NULL ||
	    lpid != getpid() ||
	    spawn_parse_number(fds, 1, 65536, &nfds) != NULL)
		return -1;
	if (r->o->fd_name == NULL) {
		chosen = 3;
	} else {
		p = names;
		nl = strlen(r->o->fd_name);
		for (i = 0; p != NULL && i < nfds; i++) {
			if (strncmp(p, r->o->fd_name, nl) == 0 &&
			    (p[nl] == ':' || p[nl] == '\0')) {
				chosen = 3 + i;
				break;
			}
			p = strchr(p, ':');
			if (p != NULL)
				p++;
		}
		if (chosen < 0) {
			say("fd-name \"%s\": no such socket in LISTEN_FDNAMES \"%s\"",
			    r->o->fd_name, names ? names : "");
			die(r, SPAWN_EXIT_USAGE);
		}
	}
	for (i = 3; i < 3 + nfds; i++)
		if (i != chosen)
			close(i);
	return chosen;
}

static void
open_socket(struct run *r)
{
	struct spawn_opts *o = r->o;
	const char *why;
	int fd = o->fd;

	if (fd < 0 && !o->socket_path && !o->port) {
		if ((fd = activation_fd(r)) < 0) {
			if (o->fd_name)
				say("fd-name \"%s\": no sockets passed by systemd "
				    "(LISTEN_PID/LISTEN_FDS)", o->fd_name);
			else
				say("no socket given: use -s, -p or --fd");
			die(r, SPAWN_EXIT_USAGE);
		}
	}
	if (fd >= 0) {
		if ((why = listening_socket(fd)) != NULL) {
			say("fd %d: %s", fd, why);
			die(r, SPAWN_EXIT_USAGE);
		}
		if (r->backlog_given && o->fd < 0) {
			say("-b does not apply to a socket passed by systemd");
			die(r, SPAWN_EXIT_USAGE);
		}
		/*
		 * A socket on fd 1 or 2 would also become the children's
		 * stdout or stderr: move it up and put /dev/null in its place.
		 */
		if (fd == 1 || fd == 2) {
			int up = fcntl(fd, F_DUPFD_CLOEXEC, 3), nul;

			if (up < 0 || (nul = open("/dev/null", O_RDWR)) < 0 ||
			    dup2(nul, fd) < 0) {
				say("fd %d: %s", fd, strerror(errno));
				die(r, SPAWN_EXIT_FAIL);
			}
			if (nul != fd)
				close(nul);
			fd = up;
		}
		/* Inherited: sock_base stays NULL, so it is never unlinked. */
		r->sock = fd;
		if (fd > 2)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	} else if (o->socket_path) {
		bind_unix(r);
	} else {
		bind_inet(r);
	}
	/* FastCGI applications expect a blocking socket (PROTOCOLS.md). */
	fcntl(r->sock, F_SETFL, fcntl(r->sock, F_GETFL) & ~O_NONBLOCK);
}

/* Privileges: resolved while /etc is still visible, dropped in the child. */

static int
lookup_user(const char *name, uid_t *uid, gid_t *gid, const char **pwname)
{
	struct passwd *pw;
	long long v;

	if ((pw = getpwnam(name)) == NULL &&
	    spawn_parse_number(name, 0, INT_MAX, &v) == NULL)
		pw = getpwuid((uid_t)v);
	if (pw != NULL) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
		*pwname = pw->pw_name;
		return 1;
	}
	if (spawn_parse_number(name, 0, INT_MAX, &v) == NULL) {
		*uid = (uid_t)v;
		*gid = (gid_t)-1;
		*pwname = NULL;
		return 0;
	}
	return -1;
}

static int
lookup_group(const char *name, gid_t *gid)
{
	struct group *gr;
	long long v;

	if ((gr = getgrnam(name)) != NULL) {
		*gid = gr->gr_gid;
		return 0;
	}
	if (spawn_parse_number(name, 0, INT_MAX, &v) == NULL) {
		*gid = (gid_t)v;
		return 0;
	}
	return -1;
}

static void
resolve_ids(struct run *r)
{
	struct spawn_opts *o = r->o;
	const char *pwname = NULL;
	gid_t pwgid = 0, sgid;
	uid_t suid;
	int have_pw = 0, n;

	if (o->user) {
		have_pw = lookup_user(o->user, &r->uid, &pwgid, &pwname);
		if (have_pw < 0) {
			say("user \"%s\": no such user", o->user);
			die(r, SPAWN_EXIT_USAGE);
		}
		if (r->uid == 0) {
			say("user \"%s\": will not run children as root", o->user);
			die(r, SPAWN_EXIT_USAGE);
		}
		if (!have_pw && !o->group) {
			say("user \"%s\": no passwd entry, so -g is needed", o->user);
			die(r, SPAWN_EXIT_USAGE);
		}
		r->drop_uid = 1;
		r->gid = pwgid;
		r->drop_gid = 1;
	}
	if (o->group) {
		if (lookup_group(o->group, &r->gid) < 0) {
			say("group \"%s\": no such group", o->group);
			die(r, SPAWN_EXIT_USAGE);
		}
		r->drop_gid = 1;
	}
	if (r->drop_gid && r->gid == 0) {
		say("group \"%s\": will not run children with group root",
		    o->group ? o->group : o->user);
		die(r, SPAWN_EXIT_USAGE);
	}
	if (r->drop_uid && have_pw) {
		/* initgroups(3) semantics, but kept for the child to apply. */
		n = 64;
		for (;;) {
			r->groups = realloc(r->groups, n * sizeof(gid_t));
			if (r->groups == NULL) {
				say("groups of %s: %s", pwname, strerror(ENOMEM));
				die(r, SPAWN_EXIT_FAIL);
			}
			r->ngroups = n;
			if (getgrouplist(pwname, r->gid, r->groups, &r->ngroups) >= 0)
				break;
			if (r->ngroups <= n)
				n *= 2;
			else
				n = r->ngroups;
		}
		for (n = 0; n < r->ngroups; n++) {
			if (r->groups[n] == 0) {
				say("user \"%s\": is a member of group root; will not "
				    "run children with it", o->user);
				die(r, SPAWN_EXIT_USAGE);
			}
		}
	} else if (r->drop_gid) {
		r->groups = malloc(sizeof(gid_t));
		if (r->groups == NULL) {
			say("groups: %s", strerror(ENOMEM));
			die(r, SPAWN_EXIT_FAIL);
		}
		r->groups[0] = r->gid;
		r->ngroups = 1;
	}

	if (o->socket_user || o->socket_group || o->user) {
		r->sock_chown = 1;
		r->sock_uid = r->drop_uid ? r->uid : (uid_t)-1;
		r->sock_gid = r->drop_gid ? r->gid : (gid_t)-1;
		if (o->socket_user) {
			if (lookup_user(o->socket_user, &suid, &sgid, &pwname) < 0) {
				say("socket-user \"%s\": no such user", o->socket_user);
				die(r, SPAWN_EXIT_USAGE);
			}
			r->sock_uid = suid;
			if (!o->socket_group && !o->group && !o->user)
				r->sock_gid = sgid;
		}
		if (o->socket_group) {
			if (lookup_group(o->socket_group, &r->sock_gid) < 0) {
				say("socket-group \"%s\": no such group",
				    o->socket_group);
				die(r, SPAWN_EXIT_USAGE);
			}
		}
	}
}

/*
 * spawn-fcgi silently ignores these options when not run as root; we
 * refuse them unless they ask for what already holds.
 */
static void
check_root_only(struct run *r)
{
	struct spawn_opts *o = r->o;
	const char *what = NULL, *val = NULL;

	if (r->is_root)
		return;
	if (o->chroot_dir) {
		what = "chroot";
		val = o->chroot_dir;
	} else if (o->user && (!r->drop_uid || r->uid != geteuid())) {
		what = "user";
		val = o->user;
	} else if (o->group && r->gid != getegid()) {
		what = "group";
		val = o->group;
	} else if (o->socket_user && r->sock_uid != geteuid()) {
		what = "socket-user";
		val = o->socket_user;
	} else if (o->socket_group && r->sock_gid != getegid()) {
		what = "socket-group";
		val = o->socket_group;
	}
	if (what != NULL) {
		say("%s \"%s\": only root can do this", what, val);
		die(r, SPAWN_EXIT_USAGE);
	}
	/* What already holds needs no change, and no supplementary groups. */
	r->drop_uid = r->drop_gid = 0;
	r->sock_chown = 0;
}

static void
open_output(struct run *r)
{
	const char *path = r->o->output;
	char dir[PATH_MAX];
	struct stat st;
	int fd, created = 1;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOCTTY, 0640);
	if (fd < 0 && errno == EEXIST) {
		created = 0;
		/* Non-blocking: a FIFO planted at the name must not hang us. */
		fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY |
		    O_NOFOLLOW | O_NONBLOCK);
	}
	if (fd < 0) {
		say("output %s: %s", path, strerror(errno));
		die(r, SPAWN_EXIT_FAIL);
	}
	/*
	 * An existing file must be a plain file of root's or the -u user's,
	 * so that nobody can have the children's output sent to a file they
	 * own and can read, or to a device.
	 */
	if (!created && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_nlink != 1 || (st.st_uid != 0 && st.st_uid != geteuid() &&
	    !(r->drop_uid && st.st_uid == r->uid)))) {
		say("output %s: not a regular file owned by root or the user", path);
		close(fd);
		die(r, SPAWN_EXIT_FAIL);
	}
	fcntl(fd, F_SETFL, O_WRONLY | O_APPEND);
	if (created && (fchmod(fd, 0640) < 0 || (r->drop_uid &&
	    fchown(fd, r->uid, r->drop_gid ? r->gid : (gid_t)-1) < 0))) {
		say("output %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		die(r, SPAWN_EXIT_FAIL);
	}
	r->out_fd = fd;
	if (created && split_path(path, dir, sizeof(dir), &r->out_base) == 0)
		r->out_dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/*
 * The pid file is written through a temporary file in its own directory
 * and rename(2): readers never see half a file, and a symlink planted at
 * the name is replaced, never followed. The directory is opened now, so
 * that the file lands outside a chroot. The temporary file is made now as
 * well, to fail before anything starts.
 */
static void
open_pid_file(struct run *r)
{
	char dir[PATH_MAX];
	int fd;

	if (split_path(r->o->pid_file, dir, sizeof(dir), &r->pid_base) < 0) {
		say("pid-file \"%s\": not a file name", r->o->pid_file);
		die(r, SPAWN_EXIT_USAGE);
	}
	if ((r->pid_dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		say("pid-file %s: %s", r->o->pid_file, strerror(errno));
		die(r, SPAWN_EXIT_FAIL);
	}
	snprintf(r->pid_tmp, sizeof(r->pid_tmp), ".%.200s.%ld.tmp", r->pid_base,
	    (long)getpid());
	fd = openat(r->pid_dirfd, r->pid_tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		r->pid_tmp[0] = '\0';
		say("pid-file %s: %s", r->o->pid_file, strerror(errno));
		die(r, SPAWN_EXIT_FAIL);
	}
	/* Written through this descriptor later, never reopened by name. */
	r->pid_fd = fd;
}

/*
 * --status-file: its directory is opened now (the file lands outside a
 * chroot, as the pid file does), and what is at the name is checked: a
 * symlink or a directory there is a mistake in the command line.
 */
static void
open_status_file(struct run *r)
{
	const char *f = r->o->status_file;
	char dir[PATH_MAX];
	struct stat st;

	if (split_path(f, dir, sizeof(dir), &r->status_base) < 0) {
		say("status-file \"%s\": not a file name", f);
		die(r, SPAWN_EXIT_USAGE);
	}
	if ((r->status_dirfd = open(dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0) {
		say("status-file %s: %s", f, strerror(errno));
		die(r, SPAWN_EXIT_USAGE);
	}
	if (fstatat(r->status_dirfd, r->status_base, &st,
	    AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
		say("status-file %s: %s", f, S_ISLNK(st.st_mode) ?
		    "a symlink (never followed)" : S_ISDIR(st.st_mode) ?
		    strerror(EISDIR) : "not a regular file");
		die(r, SPAWN_EXIT_USAGE);
	}
}

/* All of buf, or -1 with errno: a write that stops short is a full disk. */
static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t w;

	while (len > 0) {
		if ((w = write(fd, buf, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = ENOSPC;
			return -1;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * Writes the pids through the temporary file and renames it into place.
 * The error reported is the one the failing call gave, taken right there.
 */
static int
write_pid_file(struct run *r, const pid_t *pids, int n)
{
	char buf[4096];
	size_t len = 0;
	int fd, i, e = 0;

	if (r->pid_dirfd < 0)
		return 0;
	fd = r->pid_fd;
	r->pid_fd = -1;
	for (i = 0; i < n && e == 0; i++) {
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%ld\n",
		    (long)pids[i]);
		if ((len + 32 > sizeof(buf) || i == n - 1) &&
		    write_all(fd, buf, len) < 0)
			e = errno;
		if (len + 32 > sizeof(buf))
			len = 0;
	}
	if (close(fd) < 0 && e == 0)
		e = errno;
	if (e == 0 && renameat(r->pid_dirfd, r->pid_tmp, r->pid_dirfd,
	    r->pid_base) < 0)
		e = errno;
	if (e != 0) {
		say("pid-file %s: %s", r->o->pid_file, strerror(e));
		return -1;
	}
	r->pid_tmp[0] = '\0';
	r->pid_written = 1;
	return 0;
}

/* Child setup: everything is prepared here, in the parent, before fork. */

static int
env_name_matches(const char *entry, const char *name)
{
	size_t n = strcspn(name, "=");

	return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

static int
env_dropped(struct run *r, const char *entry)
{
	static const char *const gone[] = {
		"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "NOTIFY_SOCKET",
	};
	size_t i;
	int k;

	for (i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
		/* With -n the program becomes the service's main process. */
		if (i == 3 && r->o->no_fork)
			continue;
		if (env_name_matches(entry, gone[i]))
			return 1;
	}
	if (r->o->php_children >= 0 &&
	    env_name_matches(entry, "PHP_FCGI_CHILDREN"))
		return 1;
	for (k = 0; k < r->o->nenv; k++)
		if (env_name_matches(entry, r->o->env[k]))
			return 1;
	return 0;
}

/* An -e entry as NAME=VALUE: as given, or NAME's entry in spawn's own. */
static char *
env_entry(char *spec)
{
	char *v;

	if (strchr(spec, '=') != NULL)
		return spec;
	if ((v = getenv(spec)) == NULL)
		return NULL;
	/* getenv points just past "NAME=" in its entry. */
	return v - strlen(spec) - 1;
}

static void
build_env(struct run *r)
{
	static char php[40];
	size_t n = 0, cap = 2 + r->o->nenv;
	char **e, *v;
	int k;

	for (e = environ; *e; e++)
		cap++;
	if ((r->envp = calloc(cap, sizeof(char *))) == NULL) {
		say("environment: %s", strerror(ENOMEM));
		die(r, SPAWN_EXIT_FAIL);
	}
	if (!r->o->clear_env)
		for (e = environ; *e; e++)
			if (!env_dropped(r, *e))
				r->envp[n++] = *e;
	for (k = 0; k < r->o->nenv; k++)
		if ((v = env_entry(r->o->env[k])) != NULL)
			r->envp[n++] = v;
	if (r->o->php_children >= 0) {
		snprintf(php, sizeof(php), "PHP_FCGI_CHILDREN=%d",
		    r->o->php_children);
		r->envp[n++] = php;
	}
	r->envp[n] = NULL;
}

/*
 * The program is looked up in spawn's own PATH, after the chroot, so that
 * a child can never fail on a lookup that the parent could have done.
 */
static void
resolve_program(struct run *r)
{
	static char buf[PATH_MAX];
	const char *prog, *path, *p, *end;
	struct stat st;
	size_t dl, pl;

	if (r->o->shell_command) {
		/* spawn-fcgi's -f: the shell runs the command in its place. */
		static char cmd[8192];

		if (snprintf(cmd, sizeof(cmd), "exec %s", r->o->shell_command) >=
		    (int)sizeof(cmd)) {
			say("shell-command: too long");
			die(r, SPAWN_EXIT_USAGE);
		}
		r->sh_argv[0] = "sh";
		r->sh_argv[1] = "-c";
		r->sh_argv[2] = cmd;
		r->sh_argv[3] = NULL;
		r->argv = r->sh_argv;
		r->path = "/bin/sh";
		return;
	}
	r->argv = r->o->argv;
	prog = r->argv[0];
	if (strchr(prog, '/') != NULL || *prog == '\0') {
		r->path = prog;
		return;
	}
	if ((path = getenv("PATH")) == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	pl = strlen(prog);
	for (p = path; ; p = end + 1) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		dl = (size_t)(end - p);
		if (dl == 0)
			snprintf(buf, sizeof(buf), "%s", prog);
		else if (dl + 1 + pl < sizeof(buf))
			snprintf(buf, sizeof(buf), "%.*s/%s", (int)dl, p, prog);
		else
			buf[0] = '\0';
		if (buf[0] && stat(buf, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(buf, X_OK) == 0) {
			r->path = buf;
			return;
		}
		if (*end == '\0')
			break;
	}
	say("exec %s: not found in PATH", prog);
	die(r, r->o->no_fork ? SPAWN_EXIT_NOTFOUND : SPAWN_EXIT_FAIL);
}

/*
 * --cgi: what the workers need, resolved once, here, after any chroot.
 * Scripts get the request's params and what -e gives, nothing else of
 * spawn's environment, and a PATH of their own unless -e sets one.
 */
static void
setup_cgi(struct run *r)
{
	static char default_path[] = "PATH=/usr/local/bin:/usr/bin:/bin";
	struct spawn_opts *o = r->o;
	struct stat st;
	char **e, *v;
	int k, n = 0, path = 0;

	if (o->cgi_dir) {
		if (realpath(o->cgi_dir, r->cgi_dir) == NULL ||
		    stat(r->cgi_dir, &st) < 0) {
			say("cgi-dir %s: %s", o->cgi_dir, strerror(errno));
			die(r, SPAWN_EXIT_FAIL);
		}
		if (!S_ISDIR(st.st_mode)) {
			say("cgi-dir %s: not a directory", o->cgi_dir);
			die(r, SPAWN_EXIT_FAIL);
		}
		r->cgi.dir = r->cgi_dir;
	} else {
		resolve_program(r);
		r->cgi.path = r->path;
		r->cgi.argv = r->argv;
	}
	if ((e = calloc((size_t)o->nenv + 2, sizeof(char *))) == NULL) {
		say("environment: %s", strerror(ENOMEM));
		die(r, SPAWN_EXIT_FAIL);
	}
	for (k = 0; k < o->nenv; k++) {
		if ((v = env_entry(o->env[k])) == NULL)
			continue;
		e[n++] = v;
		path |= env_name_matches(v, "PATH");
	}
	if (!path)
		e[n++] = default_path;
	r->cgi.env = e;
	r->cgi.timeout = o->cgi_timeout;
	r->cgi.max = o->cgi_max;
	r->cgi.drain_signal = o->stop_signal;
	r->cgi.drain_ms = (long)o->stop_timeout * 1000;
	r->cgi.allow = getenv("FCGI_WEB_SERVER_ADDRS");
}

/* What a child that failed before exec sends back through the pipe. */
enum stage {
	ST_SETSID = 1, ST_DUP, ST_RLIMIT, ST_UMASK, ST_NICE, ST_NNP,
	ST_CHDIR, ST_SETGROUPS, ST_SETGID, ST_SETUID, ST_REGAIN, ST_EXEC,
};

struct child_error {
	int slot;
	int stage;
	int err;
	int arg;
};

static void
describe_stage(struct run *r, char *buf, size_t len, const struct child_error *ce)
{
	const char *e = ce->err ? strerror(ce->err) : "";

	switch (ce->stage) {
	case ST_SETSID: snprintf(buf, len, "setsid: %s", e); break;
	case ST_DUP: snprintf(buf, len, "set up descriptors: %s", e); break;
	case ST_RLIMIT:
		snprintf(buf, len, "limit %s: %s", limit_name(ce->arg), e);
		break;
	case ST_NICE: snprintf(buf, len, "nice %d: %s", ce->arg, e); break;
	case ST_NNP: snprintf(buf, len, "no-new-privs: %s", e); break;
	case ST_CHDIR:
		snprintf(buf, len, "chdir %s: %s", r->o->chdir_dir, e);
		break;
	case ST_SETGROUPS: snprintf(buf, len, "setgroups: %s", e); break;
	case ST_SETGID: snprintf(buf, len, "setgid %d: %s", ce->arg, e); break;
	case ST_SETUID: snprintf(buf, len, "setuid %d: %s", ce->arg, e); break;
	case ST_REGAIN:
		snprintf(buf, len, "privileges could be regained after setuid");
		break;
	case ST_EXEC:
		snprintf(buf, len, "exec %s%s%s: %s", r->path,
		    r->o->chroot_dir ? " inside chroot " : "",
		    r->o->chroot_dir ? r->o->chroot_dir : "", e);
		break;
	default: snprintf(buf, len, "set-up failed: %s", e); break;
	}
}

/*
 * Everything a process does between fork (or -n) and exec, or before it
 * becomes a CGI worker. Only async-signal-safe calls: the parent may hold
 * stdio or malloc locks. Returns 0, or -1 with ce filled in.
 */
static int
prepare_child(struct run *r, struct child_error *ce)
{
	struct rlimit rl;
	int i;

#define FAIL(st, a) do { ce->stage = (st); ce->err = errno; ce->arg = (a); \
	return -1; } while (0)

	if (!r->o->no_fork && setsid() < 0)
		FAIL(ST_SETSID, 0);
	if (r->sock != 0) {
		if (dup2(r->sock, 0) < 0)
			FAIL(ST_DUP, 0);
	} else if (fcntl(0, F_SETFD, 0) < 0) {
		FAIL(ST_DUP, 0);
	}
	if (r->out_fd >= 0 && (dup2(r->out_fd, 1) < 0 || dup2(r->out_fd, 2) < 0))
		FAIL(ST_DUP, 0);
	for (i = 0; i < r->o->nlimits; i++) {
		rl.rlim_cur = rl.rlim_max = r->o->limits[i].value;
		if (setrlimit(r->o->limits[i].resource, &rl) < 0)
			FAIL(ST_RLIMIT, r->o->limits[i].resource);
	}
	if (r->o->umask_mode >= 0)
		umask((mode_t)r->o->umask_mode);
	/* Before the privilege drop: only root may lower the nice value. */
	if (r->o->nice_set && setpriority(PRIO_PROCESS, 0, r->o->nice_value) < 0)
		FAIL(ST_NICE, r->o->nice_value);
#ifdef __linux__
	if (r->o->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		FAIL(ST_NNP, 0);
#endif
	if (r->o->chdir_dir && chdir(r->o->chdir_dir) < 0)
		FAIL(ST_CHDIR, 0);
	if (r->drop_gid) {
		if (setgroups(r->ngroups, r->groups) < 0)
			FAIL(ST_SETGROUPS, 0);
		if (setgid(r->gid) < 0)
			FAIL(ST_SETGID, (int)r->gid);
	}
	if (r->drop_uid) {
		if (setuid(r->uid) < 0)
			FAIL(ST_SETUID, (int)r->uid);
		if (setuid(0) == 0 || seteuid(0) == 0 ||
		    (r->gid != 0 && setgid(0) == 0)) {
			errno = 0;
			FAIL(ST_REGAIN, 0);
		}
	}
	return 0;
#undef FAIL
}

/*
 * The program starts with every signal at its default disposition and
 * none blocked, whatever spawn inherited, as systemd starts a service: a
 * php-cgi master that inherited an ignored SIGCHLD never learns that a
 * worker died, and one that inherited a blocked SIGTERM never stops.
 * Async-signal-safe; the calls that fail (SIGKILL, SIGSTOP, signals the
 * libc keeps for itself) need nothing.
 */
void
spawn_reset_signals(void)
{
	struct sigaction sa;
	sigset_t none;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++) {
		if (sigaction(sig, &sa, NULL) == 0 || errno != EINVAL ||
		    sig == SIGKILL || sig == SIGSTOP)
			continue;
#if defined(__linux__) && defined(SYS_rt_sigaction)
		/*
		 * The libc refuses to touch the signals it keeps for itself
		 * (glibc's 32 and 33), yet one left ignored survives exec all
		 * the same (GNU make leaves them so): ask the kernel. All
		 * zero is SIG_DFL, no flags and an empty mask whatever the
		 * layout of its struct; the size of its sigset is 8 bytes,
		 * or 16 on MIPS.
		 */
		{
			static const unsigned long dfl[8];

			if (syscall(SYS_rt_sigaction, sig, dfl, NULL, 8) < 0)
				(void)syscall(SYS_rt_sigaction, sig, dfl, NULL, 16);
		}
#endif
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * With -w or -r the children belong to a supervisor. If it is killed
 * (SIGKILL, the OOM killer), each gets the stop signal rather than serve
 * on unsupervised and keep the next start off the socket (Linux; elsewhere
 * they live on). Set after the privilege drop, which clears it, and
 * checked against the race with a supervisor already gone.
 */
static void
tie_to_supervisor(struct run *r)
{
#ifdef __linux__
	if (!r->o->wait)
		return;
	if (prctl(PR_SET_PDEATHSIG, r->o->stop_signal, 0, 0, 0) == 0 &&
	    getppid() != r->self)
		_exit(SPAWN_EXIT_FAIL);
#else
	(void)r;
#endif
}

/* Returns only on failure, with ce filled in. */
static void
prepare_and_exec(struct run *r, struct child_error *ce)
{
	if (prepare_child(r, ce) < 0)
		return;
	tie_to_supervisor(r);
	/*
	 * Last, so that a stop signal sent during the set-up stays pending
	 * until now and then ends the child the default way.
	 */
	spawn_reset_signals();
	execve(r->path, r->argv, r->envp);
	ce->stage = ST_EXEC;
	ce->err = errno;
}

/*
 * A worker of --cgi: the same set-up as a child that execs, then the
 * bridge instead of a program. Closing the error pipe by hand is the
 * "exec happened" the parent waits for.
 */
static void __attribute__((noreturn))
cgi_child(struct run *r, int errfd)
{
	tie_to_supervisor(r);
	close(errfd);
	/* It never execs: close-on-exec does not clean up for it. */
	each_fd_above_stderr(close);
	_exit(cgi_worker(&r->cgi));
}

/* --cgi pool: activity cell which (0 or 1) of a slot, two unsigneds. */
static volatile unsigned *
act_cell(struct run *r, int slot, int which)
{
	return &r->activity[(size_t)slot * 4 + (size_t)which * 2];
}

static void __attribute__((noreturn))
child_main(struct run *r, int slot, int errfd)
{
	struct child_error ce;

	memset(&ce, 0, sizeof(ce));
	if (!r->o->cgi)
		prepare_and_exec(r, &ce);
	else if (prepare_child(r, &ce) == 0) {
		if (r->activity != NULL)
			r->cgi.activity = act_cell(r, slot,
			    r->slots[slot].next_act);
		cgi_child(r, errfd);
	}
	ce.slot = slot;
	/* A record this small is written atomically (PIPE_BUF). */
	(void)!write(errfd, &ce, sizeof(ce));
	_exit(ce.stage == ST_EXEC && ce.err == ENOENT ? SPAWN_EXIT_NOTFOUND :
	    ce.stage == ST_EXEC ? SPAWN_EXIT_NOEXEC : SPAWN_EXIT_FAIL);
}

/* How long a child has from its fork to its exec, or to saying why not. */
#define EXEC_TIMEOUT_MS 10000

static void report_exit(pid_t pid, int status, const char *when);

/*
 * The signals spawn takes stay blocked and are taken with sigwaitinfo,
 * except in wait_readable(), where they are let in so that a stop can cut
 * a wait for a stuck child short. What came then is noted here and posted
 * again afterwards, for sigwaitinfo to take as usual.
 */
static volatile sig_atomic_t caught[NSIG];

static void
note_signal(int sig)
{
	if (sig > 0 && sig < NSIG)
		caught[sig] = 1;
}

/*
 * Waits until fd is readable or deadline passes, with the signals spawn
 * takes let in. Returns SIGTERM or SIGINT if one came, else 0. What came
 * stays noted until repost_caught().
 */
/*
 * ppoll() on one descriptor (-1: none) until deadline (<= 0: none), with
 * the signals spawn takes let in for the length of the wait only.
 */
static int
poll_with_signals(struct run *r, struct pollfd *pfd, long long deadline)
{
	struct timespec ts, *tsp = NULL;
	sigset_t mask;
	long long ms;
	int sig;

	if (deadline > 0) {
		ms = deadline - mono_ms();
		if (ms < 0)
			ms = 0;
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (ms % 1000) * 1000000;
		tsp = &ts;
	}
	pfd->revents = 0;
	sigprocmask(SIG_BLOCK, NULL, &mask);
	for (sig = 1; sig < NSIG; sig++)
		if (sigismember(&r->handled, sig) == 1)
			sigdelset(&mask, sig);
	return ppoll(pfd, 1, tsp, &mask);
}

static int
wait_readable(struct run *r, int fd, long long deadline)
{
	struct pollfd pfd;

	pfd.fd = fd;
	pfd.events = POLLIN;
	/* A deadline already past still polls once, at once. */
	(void)poll_with_signals(r, &pfd, deadline > 0 ? deadline : 1);
	return caught[SIGTERM] ? SIGTERM : caught[SIGINT] ? SIGINT : 0;
}

/*
 * Once the waiting is over: every signal noted meanwhile but the one taken
 * as a stop is made pending again, blocked, for sigwaitinfo. (Posted any
 * earlier, it would end the next ppoll() at once.) That includes SIGCHLD:
 * a child of another slot may have died meanwhile.
 */
static void
repost_caught(int taken)
{
	int sig;

	for (sig = 1; sig < NSIG; sig++) {
		if (!caught[sig])
			continue;
		caught[sig] = 0;
		if (sig != taken)
			raise(sig);
	}
}

/*
 * Does pid still hold the pipe whose inode is ino, that is, has it not
 * yet exec'd? Linux only (/proc); elsewhere, or inside a chroot without
 * /proc, nobody can be named.
 */
static int
holds_pipe(pid_t pid, ino_t ino)
{
#ifdef __linux__
	char dir[64], link[64], want[64];
	struct dirent *de;
	ssize_t len;
	DIR *d;
	int found = 0;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
	snprintf(want, sizeof(want), "pipe:[%llu]", (unsigned long long)ino);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while (!found && (de = readdir(d)) != NULL) {
		if ((len = readlinkat(dirfd(d), de->d_name, link,
		    sizeof(link) - 1)) > 0) {
			link[len] = '\0';
			found = strcmp(link, want) == 0;
		}
	}
	closedir(d);
	return found;
#else
	(void)pid;
	(void)ino;
	return 0;
#endif
}

/*
 * Reaps a child just sent SIGKILL, waiting a second at most: one that even
 * SIGKILL cannot end yet (stuck in the kernel) is reaped later, as an
 * orphan would be.
 */
static void
reap_killed(pid_t pid)
{
	struct timespec ts;
	int i, status;

	ts.tv_sec = 0;
	ts.tv_nsec = 10 * 1000000;
	for (i = 0; i < 100; i++) {
		if (waitpid(pid, &status, WNOHANG) != 0)
			return;
		nanosleep(&ts, NULL);
	}
}

/*
 * The first start: reaps the children that died (kept in their slot as
 * "gone" for start_deaths_told) and marks each child that was alive
 * --min-uptime after its own fork as verified. "seen" is taken before the
 * waitpid that found nothing more, so every child not reaped was alive
 * then.
 */
static void
start_sweep(struct run *r)
{
	struct slot *sl;
	long long seen;
	int status, i;
	pid_t pid;

	for (;;) {
		seen = mono_ms();
		if ((pid = waitpid(-1, &status, WNOHANG)) <= 0)
			break;
		for (i = 0; i < r->nslots; i++) {
			sl = &r->slots[i];
			if (sl->pid == pid) {
				sl->pid = 0;
				sl->gone = pid;
				sl->gone_status = status;
				break;
			}
		}
		/* Not one of ours: an orphan reaped as subreaper or PID 1. */
	}
	for (i = 0; i < r->nslots; i++) {
		sl = &r->slots[i];
		if (sl->pid > 0 && !sl->verified &&
		    seen >= sl->started + r->o->min_uptime)
			sl->verified = 1;
	}
}

/*
 * The first start: one line for every child that died before it was
 * verified; returns how many. A verified child that died stays "gone"
 * until start() hands it to the supervisor: it did start.
 */
static int
start_deaths_told(struct run *r)
{
	struct slot *sl;
	int i, died = 0;

	for (i = 0; i < r->nslots; i++) {
		sl = &r->slots[i];
		if (sl->gone > 0 && !sl->verified) {
			report_exit(sl->gone, sl->gone_status, " during start-up");
			r->start_deaths++;
			sl->gone = 0;
			died++;
		}
	}
	return died;
}

/*
 * Forks one child per slot in which[0..n), all sharing one close-on-exec
 * pipe: it reaches end-of-file once every child has either exec'd or
 * failed, so a whole batch is confirmed with one read loop, and a failure
 * names its slot. out[i] is the child of which[i], 0 when it failed (and
 * was reaped). With r->starting (the first start) the children go
 * straight into r->slots, each with the time of its own fork, and are
 * swept for deaths and verified while the batch is still confirming.
 *
 * The read has a deadline: a child that has neither exec'd nor failed
 * EXEC_TIMEOUT_MS after the last fork is stuck (a --chdir into a hung
 * file system, say); it is killed and counts as failed. A SIGTERM or
 * SIGINT meanwhile ends the wait at once: *stop is set, and the children
 * not yet confirmed are left running for the stop to end. Returns how
 * many failed.
 */
static int
fork_batch(struct run *r, const int *which, int n, pid_t *out, int *stop)
{
	struct child_error ce;
	struct slot *sl;
	struct stat st;
	char why[512];
	int p[2], i, j, failed = 0, status, eof = 0, stuck;
	long long deadline, next;
	ssize_t got;
	pid_t pid;

	*stop = 0;
	if (pipe2(p, O_CLOEXEC) < 0) {
		say("pipe: %s", strerror(errno));
		for (i = 0; i < n; i++)
			out[i] = 0;
		return n;
	}
	/* From now on the output file may hold what a child said. */
	if (r->out_dirfd >= 0) {
		close(r->out_dirfd);
		r->out_dirfd = -1;
	}
	for (i = 0; i < n; i++) {
		if (r->starting)
			r->slots[which[i]].started = mono_ms();
		/* The child's activity cell starts empty (--cgi pool). */
		sl = &r->slots[which[i]];
		sl->next_act = sl->pid > 0 ? !sl->act : sl->pending > 0 ?
		    !sl->pending_act : sl->old > 0 ? !sl->old_act : 0;
		if (r->activity != NULL)
			memset((void *)act_cell(r, which[i], sl->next_act), 0,
			    2 * sizeof(unsigned));
		pid = fork();
		if (pid == 0) {
			close(p[0]);
			child_main(r, which[i], p[1]);
		}
		if (pid < 0) {
			say("fork: %s", strerror(errno));
			failed = n - i;
			for (; i < n; i++)
				out[i] = 0;
			break;
		}
		out[i] = pid;
		if (r->starting) {
			r->slots[which[i]].pid = pid;
			start_sweep(r);
		}
	}
	close(p[1]);
	/* Non-blocking: each wake-up reads what is there, then waits again. */
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	deadline = mono_ms() + EXEC_TIMEOUT_MS;
	while (!eof) {
		got = read(p[0], &ce, sizeof(ce));
		if (got == 0) {
			eof = 1;
			break;
		}
		if (got == sizeof(ce)) {
			for (i = 0; i < n; i++)
				if (which[i] == ce.slot && out[i] > 0)
					break;
			if (i == n)
				continue;
			describe_stage(r, why, sizeof(why), &ce);
			say("child %ld: %s", (long)out[i], why);
			sl = &r->slots[which[i]];
			/* It wrote this just before _exit(): a short wait. */
			if (!r->starting || sl->pid == out[i])
				waitpid(out[i], &status, 0);
			if (r->starting) {
				sl->pid = 0;
				sl->gone = 0;
			}
			out[i] = 0;
			failed++;
			continue;
		}
		if (got > 0 || (errno != EAGAIN && errno != EINTR))
			break;
		if (mono_ms() >= deadline)
			break;
		next = deadline;
		if (r->starting) {
			/* Wake up when the next child is due for verification. */
			start_sweep(r);
			for (j = 0; j < r->nslots; j++) {
				sl = &r->slots[j];
				if (sl->pid > 0 && !sl->verified &&
				    sl->started + r->o->min_uptime < next)
					next = sl->started + r->o->min_uptime;
			}
		}
		if ((*stop = wait_readable(r, p[0], next)) != 0)
			break;
	}
	if (!eof && *stop == 0) {
		/* The deadline: whoever still holds the pipe is stuck. */
		stuck = 0;
		if (fstat(p[0], &st) == 0) {
			for (i = 0; i < n; i++) {
				if (out[i] <= 0 || !holds_pipe(out[i], st.st_ino))
					continue;
				say("child %ld: no exec after %d s (stuck before exec?), "
				    "killing it", (long)out[i], EXEC_TIMEOUT_MS / 1000);
				kill(out[i], SIGKILL);
				stuck++;
				/* The first start's stop reaps it with the others. */
				if (!r->starting) {
					reap_killed(out[i]);
					out[i] = 0;
				}
			}
		}
		if (stuck == 0 && n == 1 && out[0] > 0) {
			say("child %ld: no exec after %d s (stuck before exec?), "
			    "killing it", (long)out[0], EXEC_TIMEOUT_MS / 1000);
			kill(out[0], SIGKILL);
			stuck = 1;
			if (!r->starting) {
				reap_killed(out[0]);
				out[0] = 0;
			}
		}
		if (stuck == 0) {
			say("start: not every child exec'd within %d s (stuck before "
			    "exec?)", EXEC_TIMEOUT_MS / 1000);
			stuck = 1;
		}
		failed += stuck;
	}
	close(p[0]);
	repost_caught(*stop);
	if (r->starting && *stop == 0) {
		start_sweep(r);
		failed += start_deaths_told(r);
	}
	return failed;
}

/*
 * Progress lines ("child spawned successfully") are never worth a hang:
 * they go out without blocking for more than PROGRESS_WAIT_MS at a time,
 * and whatever cannot be written then (nobody reads the pipe, or it was
 * closed) is dropped, with one note on stderr. The pids are in the pid
 * file; the exit status does not depend on these lines.
 */
#define PROGRESS_WAIT_MS 1000

/*
 * A descriptor of our own for stdout when it is a pipe, opened with
 * O_NONBLOCK: setting the flag on fd 1 would change it for every process
 * sharing that pipe. Through /proc (Linux), so before any chroot; -1
 * where that cannot be done, and then fd 1 is written after poll() said
 * there is room.
 */
static void
progress_open(struct run *r)
{
	struct stat st;

	r->progress_fd = -1;
	r->progress_sock = 0;
	if (fstat(1, &st) < 0)
		return;
	if (S_ISSOCK(st.st_mode))
		r->progress_sock = 1;
	else if (S_ISFIFO(st.st_mode))
		r->progress_fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK |
		    O_CLOEXEC | O_NOCTTY);
}

/* Writes len bytes (whole lines, at most PIPE_BUF); 0, or -1 and errno. */
static int
progress_put(struct run *r, const char *buf, size_t len)
{
	struct pollfd pfd;
	long long deadline = mono_ms() + PROGRESS_WAIT_MS, ms;
	ssize_t w;

	while (len > 0) {
		ms = deadline - mono_ms();
		pfd.fd = 1;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		if (ms <= 0 || poll(&pfd, 1, (int)ms) == 0) {
			errno = EAGAIN;
			return -1;
		}
		if (r->progress_sock)
			w = send(1, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		else
			w = write(r->progress_fd >= 0 ? r->progress_fd : 1, buf, len);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			return -1;
		}
		buf += w;
		len -= (size_t)w;
		deadline = mono_ms() + PROGRESS_WAIT_MS;
	}
	return 0;
}

static void
progress(struct run *r, const pid_t *pids, int n)
{
	char buf[PIPE_BUF];
	size_t len = 0;
	int i, sent = 0, e = 0, k;

	for (i = 0; i < n && e == 0; i++) {
		k = snprintf(buf + len, sizeof(buf) - len,
		    "spawn: child spawned successfully: PID: %ld\n", (long)pids[i]);
		len += (size_t)k;
		if (len + 64 > sizeof(buf) || i == n - 1) {
			if (progress_put(r, buf, len) < 0)
				e = errno;
			else
				sent = i + 1;
			len = 0;
		}
	}
	if (r->progress_fd >= 0)
		close(r->progress_fd);
	r->progress_fd = -1;
	if (e == EAGAIN)
		say("stdout: not read for %d s: %d of %d progress lines not written",
		    PROGRESS_WAIT_MS / 1000, n - sent, n);
	else if (e != 0)
		say("stdout: %s: %d of %d progress lines not written", strerror(e),
		    n - sent, n);
}

/* Start-up verification and the FastCGI health check. */

static int
wait_signal(struct run *r, long long deadline, siginfo_t *si)
{
	struct timespec ts;
	long long ms;
	int sig;

	for (;;) {
		if (deadline < 0) {
			sig = sigwaitinfo(&r->handled, si);
		} else {
			ms = deadline - mono_ms();
			if (ms <= 0)
				return 0;
			ts.tv_sec = ms / 1000;
			ts.tv_nsec = (ms % 1000) * 1000000;
			sig = sigtimedwait(&r->handled, si, &ts);
			if (sig < 0 && errno == EAGAIN)
				return 0;
		}
		if (sig > 0)
			return sig;
		if (errno != EINTR)
			return 0;
	}
}

static void
report_exit(pid_t pid, int status, const char *when)
{
	char how[128];

	describe_status(how, sizeof(how), status);
	say("child %ld %s%s", (long)pid, how, when);
}

/*
 * The first start, once every child has exec'd: waits until each one has
 * been seen alive --min-uptime after its own fork, so that a large batch
 * on a slow machine is not held to the time its last child took to start.
 * A child that dies before that fails the start. Returns how many died,
 * or -signal when spawn itself was told to stop meanwhile.
 */
static void signal_all(struct run *r, int sig);

static int
verify_start(struct run *r, int *hup)
{
	struct slot *sl;
	long long next;
	siginfo_t si;
	int i, died, sig;

	for (;;) {
		start_sweep(r);
		if ((died = start_deaths_told(r)) > 0)
			return died;
		next = 0;
		for (i = 0; i < r->nslots; i++) {
			sl = &r->slots[i];
			if (sl->pid > 0 && !sl->verified &&
			    (next == 0 || sl->started + r->o->min_uptime < next))
				next = sl->started + r->o->min_uptime;
		}
		if (next == 0)
			return 0;
		sig = wait_signal(r, next, &si);
		if (sig == SIGTERM || sig == SIGINT)
			return -sig;
		/* A reload asked for now runs once the start is done. */
		if (sig == SIGHUP && r->o->respawn)
			*hup = 1;
		else if (sig == SIGHUP || sig == SIGQUIT || sig == SIGUSR1 ||
		    sig == SIGUSR2)
			signal_all(r, sig);
	}
}

/* The address a client would use to reach our own listening socket. */
static int
connect_self(int sock)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = sizeof(ss);
	int fd;

	if (getsockname(sock, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET && sin->sin_addr.s_addr == htonl(INADDR_ANY))
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
		sin6->sin6_addr = in6addr_loopback;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 &&
	    errno != EINPROGRESS && errno != EAGAIN) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
probe(struct spawn_opts *o)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *why;
	char out[4096];
	int fd;

	if ((why = spawn_parse_target(o->probe, &ss, &len)) != NULL) {
		say("probe \"%s\": %s", o->probe, why);
		return SPAWN_EXIT_USAGE;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || (connect(fd, (struct sockaddr *)&ss, len) < 0 &&
	    errno != EINPROGRESS)) {
		/* On a unix socket EAGAIN means the backlog is full. */
		say("probe %s: %s", o->probe, errno == EAGAIN ?
		    "listen backlog full" : strerror(errno));
		if (fd >= 0)
			close(fd);
		return SPAWN_EXIT_FAIL;
	}
	why = fcgi_exchange(fd, o->check_timeout, out, sizeof(out));
	close(fd);
	if (why != NULL) {
		say("probe %s: %s", o->probe, why);
		return SPAWN_EXIT_FAIL;
	}
	fputs(out, stdout);
	return fflush(stdout) == 0 ? SPAWN_EXIT_OK : SPAWN_EXIT_FAIL;
}

/* systemd readiness (sd_notify(3)), without libsystemd. */

static void
notify_open(struct run *r)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un addr;
	socklen_t alen;
	size_t n;

	r->notify_fd = -1;
	/* Only a launcher that stays can speak for the service. */
	if (path == NULL || !r->o->wait || (n = strlen(path)) < 2 ||
	    n >= sizeof(addr.sun_path) || (*path != '/' && *path != '@'))
		return;
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, path, n);
	if (*path == '@')
		addr.sun_path[0] = '\0';
	alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (*path == '/'));
	/* Connected now, so that the path still resolves after a chroot. */
	r->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (r->notify_fd >= 0 && connect(r->notify_fd,
	    (struct sockaddr *)&addr, alen) < 0) {
		say("NOTIFY_SOCKET %s: %s", path, strerror(errno));
		close(r->notify_fd);
		r->notify_fd = -1;
	}
}

static void notify(struct run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
notify(struct run *r, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	if (r->notify_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(buf))
		(void)!send(r->notify_fd, buf, (size_t)n, MSG_NOSIGNAL);
}

/*
 * Supervisor: -w and -r. One event loop: it waits in ppoll() for the
 * listening socket (when the pool may grow) and for the signals it takes,
 * which are blocked everywhere else, so none is missed between a look at
 * the state and the wait. Deadlines (restarts, verification, kills, the
 * pool's checks) are merged into the wait's timeout.
 */

struct sup {
	int stopping;
	long long stop_deadline;  /* -1 when none */
	int killed;               /* someone needed SIGKILL */
	int gave_up;              /* a slot failed too often */
	int first_status;         /* -w: exit code of the first failure */
	int have_status;
	int start_failed;         /* stopping the rest of a failed start */
	int reload_slot;          /* -1 when no reload runs */
	int reload_again;
	int ready;                /* READY=1 sent: STATUS= may follow */

	/* The dynamic pool. */
	int sock_ready;           /* the socket was readable */
	int sock_broken;          /* it polls as hung up: never watched again */
	long long scale_at;       /* look at the listen queue then, 0: none */
	long long scale_hold;     /* no scale-up before, after failures */
	int scale_fails;          /* failed scale-up starts in a row */
	uint32_t waiting[256];    /* unix socket: the connections that waited */
	int nwaiting;             /* at the last look, or -1: not told */

	/* The figures of the status file and of STATUS=. */
	unsigned long starts, start_failures, restarts, reloads;
	unsigned long scale_ups, scale_downs;
	unsigned queue, queue_peak;
	int queue_seen;           /* queue is fresh: look at the file again */
	char last[2048];          /* what was last written */
	char said[256];           /* what STATUS= last said */
};

/* Never restart one slot more often than this, whatever --min-uptime is. */
#define RESTART_FLOOR_MS 100
#define BACKOFF_CAP_MS 30000

static int
alive(struct run *r)
{
	int i, n = 0;

	for (i = 0; i < r->nslots; i++)
		n += (r->slots[i].pid > 0) + (r->slots[i].pending > 0) +
		    (r->slots[i].old > 0);
	return n;
}

static void
signal_all(struct run *r, int sig)
{
	int i;

	for (i = 0; i < r->nslots; i++) {
		if (r->slots[i].pid > 0)
			kill(r->slots[i].pid, sig);
		if (r->slots[i].pending > 0)
			kill(r->slots[i].pending, sig);
		if (r->slots[i].old > 0)
			kill(r->slots[i].old, sig);
	}
}

/* Slots at and above -F are the dynamic pool's; below, the minimum's. */
static int
dynamic_slot(struct run *r, int i)
{
	return i >= r->o->children;
}

/*
 * What a child has been doing, for the idle check: *mark changes whenever
 * it did anything (Linux: its context switches; a --cgi worker: the
 * connections it opened and closed), and the return is 1 when it is
 * waiting for a connection now. 0 means busy, or that it cannot be told:
 * such a child is never taken for idle.
 */
static int
activity(struct run *r, int i, long long *mark)
{
	struct slot *sl = &r->slots[i];
	volatile unsigned *cell;
	int in;

	if (r->activity != NULL) {
		cell = act_cell(r, i, sl->act);
		*mark = cell[1];
		return cell[0] == 0;
	}
	*mark = -1;
	if (sl->pid <= 0)
		return 0;
	if ((*mark = pool_switches(sl->pid)) < 0)
		return 0;
	in = pool_in_accept(sl->pid, 0);
	return in == 1;
}

/* The one place where a slot changes state, and the figures with it. */
static void
slot_to(struct run *r, struct sup *s, int i, enum slot_state st)
{
	struct slot *sl = &r->slots[i];

	if (st == SLOT_RUNNING && sl->state != SLOT_RUNNING) {
		s->starts++;
		if (dynamic_slot(r, i))
			s->scale_fails = 0;
		sl->seen_at = mono_ms();
		(void)activity(r, i, &sl->mark);
	}
	if (st == SLOT_STOPPING)
		s->scale_downs++;
	if (st != SLOT_STOPPING)
		sl->kill_at = 0;
	sl->state = st;
}

static int
count_state(struct run *r, enum slot_state st)
{
	int i, n = 0;

	for (i = 0; i < r->nslots; i++)
		n += r->slots[i].state == st;
	return n;
}

/* Children that are or will soon be accepting connections. */
static int
serving(struct run *r)
{
	int i, n = 0;

	for (i = 0; i < r->nslots; i++)
		n += (r->slots[i].pid > 0 && r->slots[i].state != SLOT_STOPPING) ||
		    r->slots[i].pending > 0;
	return n;
}

static void
begin_stop(struct run *r, struct sup *s)
{
	if (s->stopping)
		return;
	s->stopping = 1;
	s->reload_slot = -1;
	s->ready = 0;
	s->sock_ready = 0;
	notify(r, "STOPPING=1\nSTATUS=stopping\n");
	signal_all(r, r->o->stop_signal);
	/* A stopped child would never see the stop signal. */
	if (r->o->stop_signal != SIGCONT && r->o->stop_signal != SIGKILL)
		signal_all(r, SIGCONT);
	s->stop_deadline = mono_ms() + (long long)r->o->stop_timeout * 1000;
}

static void
kill_all(struct run *r, struct sup *s, int second_signal)
{
	if (alive(r) > 0) {
		if (second_signal)
			say("stop: asked twice, sending SIGKILL to %d child(ren) now",
			    alive(r));
		else
			say("stop: %d child(ren) still running after %d s, sending "
			    "SIGKILL", alive(r), r->o->stop_timeout);
		signal_all(r, SIGKILL);
		s->killed = 1;
	}
	s->stop_deadline = -1;
}

/*
 * Forks the child of one slot: 0 when it exec'd, -1 when it failed, 1
 * when a stop came before it had done either. Then the child is kept, for
 * the stop to end, and the signal is posted again for the supervisor's
 * loop.
 */
static int
start_one(struct run *r, int slot, pid_t *pid)
{
	int failed, stop;

	failed = fork_batch(r, &slot, 1, pid, &stop);
	if (stop != 0)
		raise(stop);
	if (failed)
		return -1;
	return stop != 0 ? 1 : 0;
}

/* The back-off after n failed starts in a row. */
static long long
backoff_ms(int n)
{
	long long delay = (long long)RESTART_FLOOR_MS << (n > 9 ? 9 : n - 1);

	return delay > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : delay;
}

static void
give_up(struct run *r, struct sup *s, const char *what, int n)
{
	say("%s failed to start %d times in a row, giving up", what, n);
	s->gave_up = 1;
	begin_stop(r, s);
}

static void
failed_start(struct run *r, struct sup *s, int i)
{
	struct slot *sl = &r->slots[i];
	char what[64];

	s->start_failures++;
	sl->fails++;
	if (r->o->retries > 0 && sl->fails >= r->o->retries) {
		snprintf(what, sizeof(what), "child slot %d", i + 1);
		slot_to(r, s, i, SLOT_EMPTY);
		give_up(r, s, what, sl->fails);
		return;
	}
	sl->restart_at = mono_ms() + backoff_ms(sl->fails);
	slot_to(r, s, i, SLOT_BACKOFF);
}

/*
 * A child of the dynamic pool failed to start: its slot empties (demand
 * fills it again), and scale-ups back off as a slot of the minimum would.
 */
static void
scale_failed(struct run *r, struct sup *s, int i)
{
	s->start_failures++;
	s->scale_fails++;
	slot_to(r, s, i, SLOT_EMPTY);
	if (r->o->retries > 0 && s->scale_fails >= r->o->retries) {
		give_up(r, s, "the pool's new children", s->scale_fails);
		return;
	}
	s->scale_hold = mono_ms() + backoff_ms(s->scale_fails);
}

static void
restart_slot(struct run *r, struct sup *s, int i)
{
	struct slot *sl = &r->slots[i];

	sl->restart_at = 0;
	sl->started = mono_ms();
	switch (start_one(r, i, &sl->pid)) {
	case -1:
		sl->pid = 0;
		failed_start(r, s, i);
		break;
	case 0:
		s->restarts++;
		sl->act = sl->next_act;
		slot_to(r, s, i, r->o->min_uptime > 0 ? SLOT_STARTING :
		    SLOT_RUNNING);
		say("child %ld (slot %d) started", (long)sl->pid, i + 1);
		break;
	default:
		/* A stop came first: the stop ends it. */
		sl->act = sl->next_act;
		slot_to(r, s, i, SLOT_STARTING);
		break;
	}
}

static void begin_reload(struct run *r, struct sup *s);
static void status_text(struct run *r, struct sup *s, char *buf, size_t len);

/* Moves a reload on to the next slot that has a running child. */
static void
reload_next(struct run *r, struct sup *s)
{
	struct slot *sl;

	while (++s->reload_slot < r->nslots) {
		sl = &r->slots[s->reload_slot];
		if (sl->pid <= 0 || sl->state == SLOT_STOPPING)
			continue;
		sl->pending_started = mono_ms();
		if (start_one(r, s->reload_slot, &sl->pending) >= 0) {
			sl->pending_act = sl->next_act;
			return;
		}
		sl->pending = 0;
		s->start_failures++;
		say("reload: new child for slot %d failed to start; the running "
		    "children stay", s->reload_slot + 1);
		break;
	}
	s->reload_slot = -1;
	if (s->stopping)
		return;
	s->ready = 1;
	status_text(r, s, s->said, sizeof(s->said));
	notify(r, "READY=1\nSTATUS=%s\n", s->said);
	if (s->reload_again) {
		s->reload_again = 0;
		begin_reload(r, s);
	}
}

static void
begin_reload(struct run *r, struct sup *s)
{
	if (s->stopping)
		return;
	if (s->reload_slot >= 0) {
		s->reload_again = 1;
		return;
	}
	s->reloads++;
	notify(r, "RELOADING=1\nSTATUS=reloading\n");
	s->reload_slot = -1;
	reload_next(r, s);
}

/* The new child of a reload has lived --min-uptime: it takes over. */
static void
promote(struct run *r, struct sup *s, int i)
{
	struct slot *sl = &r->slots[i];

	sl->old = sl->pid;
	sl->old_act = sl->act;
	sl->pid = sl->pending;
	sl->started = sl->pending_started;
	sl->act = sl->pending_act;
	sl->pending = 0;
	sl->fails = 0;
	sl->state = SLOT_EMPTY;   /* counted as a start once more below */
	slot_to(r, s, i, SLOT_RUNNING);
	say("reload: slot %d: child %ld replaces %ld", i + 1, (long)sl->pid,
	    (long)sl->old);
	if (sl->old > 0) {
		kill(sl->old, r->o->stop_signal);
		kill(sl->old, SIGCONT);
		sl->old_kill_at = mono_ms() + (long long)r->o->stop_timeout * 1000;
	} else {
		reload_next(r, s);
	}
}

static void
child_exited(struct run *r, struct sup *s, pid_t pid, int status)
{
	char how[128];
	struct slot *sl;
	long long lived;
	int i;

	for (i = 0; i < r->nslots; i++) {
		sl = &r->slots[i];
		if (sl->old == pid) {
			sl->old = 0;
			sl->old_kill_at = 0;
			if (s->reload_slot == i)
				reload_next(r, s);
			return;
		}
		lived = mono_ms() - sl->pending_started;
		if (sl->pending == pid && !s->stopping &&
		    lived >= r->o->min_uptime) {
			/*
			 * It lived --min-uptime, but the supervisor was busy and
			 * had not promoted it yet: it took over the slot in time,
			 * and its exit is that of the slot's child.
			 */
			promote(r, s, i);
		} else if (sl->pending == pid) {
			sl->pending = 0;
			if (s->stopping)
				return;
			s->start_failures++;
			describe_status(how, sizeof(how), status);
			say("reload: new child %ld %s before %ld ms; the running "
			    "children stay", (long)pid, how, r->o->min_uptime);
			/* The slot's old child died meanwhile: refill it. */
			if (sl->pid == 0 && sl->restart_at == 0) {
				if (dynamic_slot(r, i))
					slot_to(r, s, i, SLOT_EMPTY);
				else
					failed_start(r, s, i);
			}
			s->reload_slot = r->nslots;
			reload_next(r, s);
			return;
		}
		if (sl->pid != pid)
			continue;
		sl->pid = 0;
		lived = mono_ms() - sl->started;
		/* One line for every child that failed on its own. */
		if (s->start_failed && (WIFEXITED(status) ? status != 0 :
		    WTERMSIG(status) != r->o->stop_signal &&
		    WTERMSIG(status) != SIGKILL)) {
			report_exit(pid, status, " during start-up");
			r->start_deaths++;
		}
		if (s->stopping || sl->state == SLOT_STOPPING) {
			slot_to(r, s, i, SLOT_EMPTY);
			return;
		}
		if (!r->o->respawn) {
			slot_to(r, s, i, SLOT_EMPTY);
			if (status != 0)
				report_exit(pid, status, "");
			if (status != 0 && !s->have_status) {
				s->first_status = spawn_exit_code(status);
				s->have_status = 1;
			}
			return;
		}
		describe_status(how, sizeof(how), status);
		/* Above the minimum, demand fills the slot again, not a restart. */
		if (dynamic_slot(r, i)) {
			say("child %ld (slot %d) %s after %lld ms", (long)pid, i + 1,
			    how, lived);
			if (sl->pending > 0)
				slot_to(r, s, i, SLOT_EMPTY);
			else if (lived < r->o->min_uptime)
				scale_failed(r, s, i);
			else
				slot_to(r, s, i, SLOT_EMPTY);
			return;
		}
		say("child %ld (slot %d) %s after %lld ms, restarting", (long)pid,
		    i + 1, how, lived);
		/* A reload waits for its new child; that one takes the slot. */
		if (sl->pending > 0) {
			slot_to(r, s, i, SLOT_EMPTY);
			return;
		}
		if (lived < r->o->min_uptime) {
			failed_start(r, s, i);
		} else {
			sl->fails = 0;
			sl->restart_at = sl->started + RESTART_FLOOR_MS;
			slot_to(r, s, i, SLOT_BACKOFF);
			if (sl->restart_at <= mono_ms())
				restart_slot(r, s, i);
		}
		return;
	}
	/* Not ours: an orphan that we reaped as subreaper or PID 1. */
}

static long long
earliest(long long a, long long b)
{
	if (a <= 0)
		return b;
	if (b <= 0)
		return a;
	return a < b ? a : b;
}

/* The dynamic pool. */

/*
 * Of the connections waiting now, how many were already waiting at the
 * last look, as far as the system names them (Linux, unix sockets): on a
 * busy machine connections come and go between two looks without ever
 * waiting long, and only one that waited the whole time needs a new
 * child. Sets *q to how many wait now; returns -1 where connections are
 * not named, and then only *q counts.
 */
static int
listen_waited(struct run *r, struct sup *s, unsigned *q)
{
	uint32_t now[256];
	int n, i, j, same = 0;

	n = pool_listen_waiting(r->sock, now, 256, q);
	if (n < 0) {
		s->nwaiting = -1;
		return -1;
	}
	for (i = 0; i < n && s->nwaiting > 0; i++)
		for (j = 0; j < s->nwaiting; j++)
			if (now[i] == s->waiting[j]) {
				same++;
				break;
			}
	/* More than can be named: the oldest may be among the rest. */
	if (s->nwaiting == 256 && same == 0)
		same = 1;
	memcpy(s->waiting, now, (size_t)n * sizeof(now[0]));
	s->nwaiting = n;
	return same;
}

/* Connections waiting on the socket: asked of the system, else guessed. */
static unsigned
listen_queue(struct run *r)
{
	struct pollfd pfd;
	unsigned cur, max;

	if (pool_listen_queue(r->sock, &cur, &max) == 0)
		return cur;
	pfd.fd = r->sock;
	pfd.events = POLLIN;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) > 0 ? 1 : 0;
}

/*
 * Children that would take a waiting connection now: on a busy machine a
 * connection can wait only because such a child has not been scheduled
 * yet, and starting more then would only add to the load. Linux: children
 * blocked in accept(); --cgi workers below --cgi-max. Counting stops at
 * enough.
 */
static int
would_take(struct run *r, int enough)
{
	volatile unsigned *cell;
	struct slot *sl;
	int i, n = 0;

	for (i = 0; i < r->nslots && n < enough; i++) {
		sl = &r->slots[i];
		if (sl->pid <= 0 || sl->state != SLOT_RUNNING)
			continue;
		if (r->activity != NULL) {
			cell = act_cell(r, i, sl->act);
			n += cell[0] < (unsigned)r->o->cgi_max;
		} else {
			n += pool_in_accept(sl->pid, 0) == 1;
		}
	}
	return n;
}

/* Starts up to k children in empty slots, lowest first. */
static void
scale_up(struct run *r, struct sup *s, unsigned waiting, int k)
{
	int which[SPAWN_MAX_CHILDREN];
	pid_t pids[SPAWN_MAX_CHILDREN];
	long long t;
	int i, n = 0, stop;

	for (i = 0; i < r->nslots && n < k; i++)
		if (r->slots[i].state == SLOT_EMPTY && r->slots[i].pid == 0 &&
		    r->slots[i].pending == 0 && r->slots[i].old == 0)
			which[n++] = i;
	if (n == 0)
		return;
	say("pool: %u waiting, starting %d child(ren)", waiting, n);
	t = mono_ms();
	(void)fork_batch(r, which, n, pids, &stop);
	for (i = 0; i < n; i++) {
		if (pids[i] <= 0) {
			scale_failed(r, s, which[i]);
			continue;
		}
		r->slots[which[i]].pid = pids[i];
		r->slots[which[i]].started = t;
		r->slots[which[i]].act = r->slots[which[i]].next_act;
		s->scale_ups++;
		slot_to(r, s, which[i], r->o->min_uptime > 0 ? SLOT_STARTING :
		    SLOT_RUNNING);
	}
	if (stop != 0)
		raise(stop);
}

/*
 * Grows the pool: a connection that waited unaccepted for the scale delay
 * starts as many children as there are connections waiting, less those
 * already starting (they will take one each), never past the maximum.
 * With no child at all, nobody will accept: no delay then. While
 * connections wait, the queue is looked at once per scale delay; once it
 * is empty, the socket is watched again. Returns whether to watch it.
 */
static int
pool_grow(struct run *r, struct sup *s, long long now, long long *next)
{
	unsigned q;
	int room, k, waited;

	room = r->o->max_children - (r->nslots - count_state(r, SLOT_EMPTY));
	if (s->sock_ready) {
		s->sock_ready = 0;
		s->scale_at = serving(r) == 0 ? now : now + r->o->scale_delay;
		(void)listen_waited(r, s, &q);
	}
	if (s->scale_at == 0)
		return room > 0;
	if (now < s->scale_at) {
		*next = earliest(*next, s->scale_at);
		return 0;
	}
	s->scale_at = 0;
	waited = listen_waited(r, s, &q);
	if (waited < 0)
		q = listen_queue(r);
	s->queue = q;
	s->queue_seen = 1;
	if (q > s->queue_peak)
		s->queue_peak = q;
	if (q == 0)
		return room > 0;
	k = (int)q - count_state(r, SLOT_STARTING);
	if (k > 0)
		k -= would_take(r, k);
	/* Named connections: none waited the whole delay, none is needed. */
	if (waited == 0)
		k = 0;
	if (serving(r) == 0 && k < 1)
		k = 1;
	if (k > room)
		k = room;
	if (k > 0 && now >= s->scale_hold)
		scale_up(r, s, q, k);
	else if (k > 0)
		s->scale_at = s->scale_hold;
	if (s->scale_at == 0)
		s->scale_at = now + r->o->scale_delay;
	*next = earliest(*next, s->scale_at);
	return 0;
}

/*
 * Shrinks the pool: once a child above the minimum has been waiting for a
 * connection, and done nothing else, for --idle-timeout, the pool has had
 * a child too many for that long, and one child is stopped with the stop
 * signal: the newest of those idle now, so that the longest-lived (and
 * warmest) stay. One at a time; the next once that one has exited. A
 * child is looked at when its last look is --idle-timeout old; one that
 * did something meanwhile starts a new period.
 */
static void
pool_shrink(struct run *r, struct sup *s, long long now, long long *next)
{
	long long period = (long long)r->o->idle_timeout * 1000, mark;
	struct slot *sl;
	int i, victim = -1, due = 0;

	if (s->reload_slot >= 0 || count_state(r, SLOT_STOPPING) > 0)
		return;
	for (i = r->o->children; i < r->nslots; i++) {
		sl = &r->slots[i];
		if (sl->state != SLOT_RUNNING || sl->pid <= 0 || sl->pending > 0 ||
		    now < sl->seen_at + period)
			continue;
		if (activity(r, i, &mark) && mark == sl->mark) {
			due = 1;
			continue;
		}
		sl->seen_at = now;
		sl->mark = mark;
	}
	for (i = r->o->children; i < r->nslots; i++) {
		sl = &r->slots[i];
		if (sl->state != SLOT_RUNNING || sl->pid <= 0 || sl->pending > 0)
			continue;
		if (!due)
			*next = earliest(*next, sl->seen_at + period);
		else if (activity(r, i, &mark) && mark == sl->mark &&
		    (victim < 0 || sl->started >= r->slots[victim].started))
			victim = i;
	}
	/* It did something between the two looks: look again soon. */
	if (due && victim < 0)
		*next = earliest(*next, now + 100);
	if (victim < 0)
		return;
	sl = &r->slots[victim];
	say("pool: child %ld idle for %d s, stopping it", (long)sl->pid,
	    r->o->idle_timeout);
	kill(sl->pid, r->o->stop_signal);
	kill(sl->pid, SIGCONT);
	slot_to(r, s, victim, SLOT_STOPPING);
	sl->kill_at = now + (long long)r->o->stop_timeout * 1000;
	*next = earliest(*next, sl->kill_at);
}

/* Live status: STATUS= and --status-file, written when they change. */

static void
status_text(struct run *r, struct sup *s, char *buf, size_t len)
{
	int up = count_state(r, SLOT_RUNNING) + count_state(r, SLOT_STARTING);

	const char *noun = up == 1 ? "child" : "children";

	if (r->o->dynamic)
		snprintf(buf, len, "%d %s running (%d..%d); %lu started, "
		    "%lu failed, %lu restarted, %lu scaled up, %lu scaled down",
		    up, noun, r->o->children, r->o->max_children, s->starts,
		    s->start_failures, s->restarts, s->scale_ups, s->scale_downs);
	else
		snprintf(buf, len, "%d %s running; %lu started, %lu failed, "
		    "%lu restarted", up, noun, s->starts, s->start_failures,
		    s->restarts);
}

static int
status_prom(struct run *r, struct sup *s, char *buf, size_t len)
{
	int starting = 0, running = 0, stopping = 0, backoff = 0, i;
	struct slot *sl;

	for (i = 0; i < r->nslots; i++) {
		sl = &r->slots[i];
		starting += sl->pending > 0;
		stopping += sl->old > 0;
		if (sl->state == SLOT_BACKOFF)
			backoff++;
		else if (sl->pid <= 0)
			continue;
		else if (s->stopping || sl->state == SLOT_STOPPING)
			stopping++;
		else if (sl->state == SLOT_STARTING)
			starting++;
		else
			running++;
	}
	return snprintf(buf, len,
	    "# HELP spawn_children Children of the pool, by state.\n"
	    "# TYPE spawn_children gauge\n"
	    "spawn_children{state=\"starting\"} %d\n"
	    "spawn_children{state=\"running\"} %d\n"
	    "spawn_children{state=\"stopping\"} %d\n"
	    "spawn_children{state=\"backoff\"} %d\n"
	    "# HELP spawn_children_min The pool's minimum (-F).\n"
	    "# TYPE spawn_children_min gauge\n"
	    "spawn_children_min %d\n"
	    "# HELP spawn_children_max The pool's maximum (--max-children, "
	    "else -F).\n"
	    "# TYPE spawn_children_max gauge\n"
	    "spawn_children_max %d\n"
	    "# HELP spawn_starts_total Children started and verified.\n"
	    "# TYPE spawn_starts_total counter\n"
	    "spawn_starts_total %lu\n"
	    "# HELP spawn_start_failures_total Children that failed to start.\n"
	    "# TYPE spawn_start_failures_total counter\n"
	    "spawn_start_failures_total %lu\n"
	    "# HELP spawn_restarts_total Children restarted after they exited.\n"
	    "# TYPE spawn_restarts_total counter\n"
	    "spawn_restarts_total %lu\n"
	    "# HELP spawn_reloads_total Reloads (SIGHUP) begun.\n"
	    "# TYPE spawn_reloads_total counter\n"
	    "spawn_reloads_total %lu\n"
	    "# HELP spawn_scale_ups_total Children started because connections "
	    "waited.\n"
	    "# TYPE spawn_scale_ups_total counter\n"
	    "spawn_scale_ups_total %lu\n"
	    "# HELP spawn_scale_downs_total Idle children stopped.\n"
	    "# TYPE spawn_scale_downs_total counter\n"
	    "spawn_scale_downs_total %lu\n"
	    "# HELP spawn_listen_queue Connections waiting to be accepted, when "
	    "last seen.\n"
	    "# TYPE spawn_listen_queue gauge\n"
	    "spawn_listen_queue %u\n"
	    "# HELP spawn_listen_queue_peak The most connections seen waiting.\n"
	    "# TYPE spawn_listen_queue_peak gauge\n"
	    "spawn_listen_queue_peak %u\n",
	    starting, running, stopping, backoff, r->o->children,
	    r->o->max_children, s->starts, s->start_failures, s->restarts,
	    s->reloads, s->scale_ups, s->scale_downs, s->queue, s->queue_peak);
}

/*
 * Replaces the status file: a new file beside it, renamed over it, so a
 * reader sees the old figures or the new ones, never half of either. A
 * failure is said once and tried again at the next change.
 */
static void
status_write(struct run *r, const char *buf, size_t len)
{
	static int warned;
	static unsigned serial;
	char tmp[NAME_MAX + 1];
	struct stat st;
	int fd = -1, e = 0, i;

	/*
	 * A new name each time, made with O_EXCL: whatever someone else put
	 * at a name (a FIFO, a file of theirs, a link) is never opened, only
	 * skipped.
	 */
	for (i = 0; i < 16 && fd < 0; i++) {
		snprintf(tmp, sizeof(tmp), ".%.200s.%ld.%u.tmp", r->status_base,
		    (long)getpid(), serial++);
		fd = openat(r->status_dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0 || write_all(fd, buf, len) < 0 || fstat(fd, &st) < 0)
		e = errno;
	if (fd >= 0)
		close(fd);
	if (e == 0 && renameat(r->status_dirfd, tmp, r->status_dirfd,
	    r->status_base) < 0)
		e = errno;
	if (e != 0) {
		if (fd >= 0)
			unlinkat(r->status_dirfd, tmp, 0);
		if (!warned)
			say("status-file %s: %s", r->o->status_file, strerror(e));
		warned = 1;
		return;
	}
	warned = 0;
	r->status_written = 1;
	r->status_dev = st.st_dev;
	r->status_ino = st.st_ino;
}

static void
status_update(struct run *r, struct sup *s)
{
	char text[256], prom[2048];
	int n;

	if (r->o->status_file == NULL && r->notify_fd < 0)
		return;
	/* The queue is worth a look whenever anything else is written. */
	if (!s->queue_seen && r->o->status_file != NULL && !r->o->dynamic) {
		s->queue = listen_queue(r);
		if (s->queue > s->queue_peak)
			s->queue_peak = s->queue;
	}
	s->queue_seen = 0;
	n = status_prom(r, s, prom, sizeof(prom));
	if (n < 0 || (size_t)n >= sizeof(prom) || strcmp(prom, s->last) == 0)
		return;
	memcpy(s->last, prom, (size_t)n + 1);
	if (r->o->status_file != NULL && !s->stopping)
		status_write(r, prom, (size_t)n);
	if (s->ready && s->reload_slot < 0 && !s->stopping) {
		status_text(r, s, text, sizeof(text));
		if (strcmp(text, s->said) != 0) {
			memcpy(s->said, text, sizeof(s->said));
			notify(r, "STATUS=%s\n", text);
		}
	}
}

/*
 * Waits for the socket (when watched), a signal or the deadline. The
 * signals spawn takes are let in only here; their handler notes them.
 */
static void
wait_events(struct run *r, struct sup *s, long long deadline, int watch)
{
	struct pollfd pfd;

	pfd.fd = watch ? r->sock : -1;
	pfd.events = POLLIN;
	if (poll_with_signals(r, &pfd, deadline) <= 0)
		return;
	if (pfd.revents & POLLIN)
		s->sock_ready = 1;
	/*
	 * A listener that was shut down (a child may do that to its copy)
	 * polls as hung up for good: watching it would spin.
	 */
	if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) {
		say("pool: the listening socket reports %s; the pool no longer "
		    "grows", pfd.revents & POLLNVAL ? "an invalid descriptor" :
		    pfd.revents & POLLERR ? "an error" : "a hang-up");
		s->sock_broken = 1;
		s->sock_ready = 0;
	}
}

/*
 * A child sent the stop signal alone (a reload's replaced child, an idle
 * one) gets SIGKILL once *at passes; until then *at is a deadline.
 */
static void
kill_when_due(struct run *r, const char *what, pid_t pid, long long *at,
    long long now, long long *next)
{
	if (*at <= 0)
		return;
	if (now < *at) {
		*next = earliest(*next, *at);
		return;
	}
	say("%s: child %ld still running after %d s, sending SIGKILL", what,
	    (long)pid, r->o->stop_timeout);
	kill(pid, SIGKILL);
	*at = 0;
}

static int
supervise(struct run *r, struct sup *s)
{
	struct slot *sl;
	long long now, next;
	int status, sig, i, watch;
	pid_t pid;

	for (;;) {
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			child_exited(r, s, pid, status);
		if (s->stopping && alive(r) == 0)
			return s->gave_up || s->killed ? SPAWN_EXIT_FAIL : SPAWN_EXIT_OK;
		if (!r->o->respawn && alive(r) == 0)
			return s->have_status ? s->first_status : SPAWN_EXIT_OK;

		now = mono_ms();
		next = 0;
		if (s->stopping && s->stop_deadline >= 0) {
			if (now >= s->stop_deadline)
				kill_all(r, s, 0);
			else
				next = s->stop_deadline;
		}
		for (i = 0; i < r->nslots; i++) {
			sl = &r->slots[i];
			if (!s->stopping && sl->state == SLOT_BACKOFF &&
			    sl->pid == 0 && sl->pending == 0 && sl->restart_at > 0) {
				if (now >= sl->restart_at)
					restart_slot(r, s, i);
				else
					next = earliest(next, sl->restart_at);
			}
			if (!s->stopping && sl->state == SLOT_STARTING &&
			    sl->pid > 0) {
				if (now >= sl->started + r->o->min_uptime)
					slot_to(r, s, i, SLOT_RUNNING);
				else
					next = earliest(next,
					    sl->started + r->o->min_uptime);
			}
			if (!s->stopping && sl->pending > 0) {
				if (now >= sl->pending_started + r->o->min_uptime)
					promote(r, s, i);
				else
					next = earliest(next,
					    sl->pending_started + r->o->min_uptime);
			}
			if (sl->old > 0)
				kill_when_due(r, "reload", sl->old, &sl->old_kill_at,
				    now, &next);
			if (sl->state == SLOT_STOPPING && sl->pid > 0)
				kill_when_due(r, "pool", sl->pid, &sl->kill_at, now,
				    &next);
		}
		watch = 0;
		if (r->o->dynamic && !s->stopping && !s->gave_up) {
			watch = pool_grow(r, s, now, &next) && !s->sock_broken;
			pool_shrink(r, s, now, &next);
		}
		status_update(r, s);
		/* Work done above may have changed what is due: look again. */
		if ((next > 0 && next <= mono_ms()) ||
		    (s->sock_ready && !s->stopping))
			continue;

		wait_events(r, s, next, watch);
		/* In signal order, as sigwaitinfo would have taken them. */
		for (sig = 1; sig < NSIG; sig++) {
			if (!caught[sig] || sig == SIGCHLD)
				continue;
			caught[sig] = 0;
			switch (sig) {
			case SIGTERM:
			case SIGINT:
				if (s->stopping)
					kill_all(r, s, 1);
				else
					begin_stop(r, s);
				break;
			case SIGHUP:
				if (r->o->respawn)
					begin_reload(r, s);
				else
					signal_all(r, sig);
				break;
			case SIGQUIT:
			case SIGUSR1:
			case SIGUSR2:
				signal_all(r, sig);
				break;
			}
		}
		caught[SIGCHLD] = 0;
	}
}

/* Starting: -n in place, or N verified children. */

static void __attribute__((noreturn))
exec_in_place(struct run *r)
{
	struct child_error ce;
	char why[512];
	pid_t self = getpid();

	if (write_pid_file(r, &self, 1) < 0)
		die(r, SPAWN_EXIT_FAIL);
	if (r->out_dirfd >= 0) {
		close(r->out_dirfd);
		r->out_dirfd = -1;
	}
	memset(&ce, 0, sizeof(ce));
	if (!r->o->cgi) {
		prepare_and_exec(r, &ce);
	} else if (prepare_child(r, &ce) == 0) {
		/* -n --cgi: spawn itself is the one worker. */
		each_fd_above_stderr(close);
		exit(cgi_worker(&r->cgi));
	}
	describe_stage(r, why, sizeof(why), &ce);
	say("%s", why);
	die(r, ce.stage != ST_EXEC ? SPAWN_EXIT_FAIL :
	    ce.err == ENOENT ? SPAWN_EXIT_NOTFOUND : SPAWN_EXIT_NOEXEC);
}

static int
start(struct run *r)
{
	static struct sup s;
	pid_t *pids, self = getpid();
	int *which, i, n = r->o->children, failed, hup = 0, stop;
	char values[1024];
	const char *why;
	void *m;

	memset(&s, 0, sizeof(s));
	s.reload_slot = -1;
	s.stop_deadline = -1;
	/* Sized by the maximum: the dynamic pool grows into them. */
	r->nslots = r->o->max_children;
	r->slots = calloc((size_t)r->nslots, sizeof(*r->slots));
	pids = calloc((size_t)n + 1, sizeof(*pids));
	which = calloc((size_t)n + 1, sizeof(*which));
	if (r->slots == NULL || pids == NULL || which == NULL) {
		say("start: %s", strerror(ENOMEM));
		die(r, SPAWN_EXIT_FAIL);
	}
#ifdef MAP_ANONYMOUS
	/*
	 * --cgi workers of a dynamic pool tell spawn what they are doing
	 * through shared memory: two cells per slot (a reload's new child
	 * beside the old one), each its open connections and the count of
	 * those it took.
	 */
	if (r->o->cgi && r->o->dynamic) {
		m = mmap(NULL, (size_t)r->nslots * 4 * sizeof(unsigned),
		    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (m != MAP_FAILED)
			r->activity = m;
	}
#else
	(void)m;
#endif
	for (i = 0; i < n; i++)
		which[i] = i;
	/* --min-uptime 0: the exec is the whole check, nothing to sweep. */
	r->starting = r->o->min_uptime > 0;
	failed = fork_batch(r, which, n, pids, &stop);
	if (!r->starting)
		for (i = 0; i < n; i++) {
			r->slots[i].pid = pids[i];
			r->slots[i].started = mono_ms();
		}
	if (stop != 0)
		failed = -stop;
	else if (!failed && r->starting)
		failed = verify_start(r, &hup);
	r->starting = 0;
	if (failed < 0)
		say("start: stopped by SIG%s", spawn_signal_name(-failed));
	if (!failed && r->check_fd >= 0) {
		why = fcgi_exchange(r->check_fd, r->o->check_timeout, values,
		    sizeof(values));
		if (why != NULL) {
			say("check: %s", why);
			failed = 1;
		}
		close(r->check_fd);
		r->check_fd = -1;
	}
	if (!failed && write_pid_file(r, r->o->wait ? &self : pids,
	    r->o->wait ? 1 : n) < 0)
		failed = 1;
	free(which);
	if (failed) {
		free(pids);
		s.start_failed = failed > 0;
		begin_stop(r, &s);
		i = supervise(r, &s);
		if (r->start_deaths > 0 && r->o->output == NULL && !r->o->wait)
			say("start failed; the children's output went to /dev/null: "
			    "rerun with -w or --output FILE to see it");
		/*
		 * With -w, a stop asked for during start-up is a stop like any
		 * other; without it, the start did not complete.
		 */
		if (failed < 0 && r->o->wait) {
			cleanup(r);
			return i;
		}
		die(r, SPAWN_EXIT_FAIL);
	}
	progress(r, pids, n);
	free(pids);
	for (i = 0; i < n; i++) {
		r->slots[i].act = r->slots[i].next_act;
		slot_to(r, &s, i, SLOT_RUNNING);
	}
	status_text(r, &s, s.said, sizeof(s.said));
	notify(r, "READY=1\nSTATUS=%s\n", s.said);
	s.ready = 1;
	if (!r->o->wait)
		return SPAWN_EXIT_OK;
	/* Children that started, then exited before the others had. */
	for (i = 0; i < n; i++) {
		if (r->slots[i].gone > 0) {
			r->slots[i].pid = r->slots[i].gone;
			r->slots[i].gone = 0;
			child_exited(r, &s, r->slots[i].pid, r->slots[i].gone_status);
		}
	}
	if (hup)
		begin_reload(r, &s);
	i = supervise(r, &s);
	cleanup(r);
	return i;
}

/* Usage: the SYNOPSIS of spawn.1, word for word, then every option. */

static const char usage_text[] =
"usage: spawn [-hnSvwrE] [-a addr] [-p port | -s path | --fd n] [-M mode]\n"
"             [-U user] [-G group] [-b backlog] [-F children] [-C php-children]\n"
"             [-d dir] [-c dir] [-u user] [-g group] [-P pidfile]\n"
"             [-e name[=value]] [options] [--] program [arg ...]\n"
"       spawn [options] -f command\n"
"       spawn --cgi [options] [--] program [arg ...]\n"
"       spawn --cgi-dir dir [options]\n"
"       spawn --probe addr [--check-timeout ms]\n"
"\n"
"Socket:\n"
"  -a, --address ADDR        IPv4 or IPv6 literal to bind with -p (0.0.0.0)\n"
"  -p, --port PORT           bind a TCP socket on PORT (1..65535)\n"
"  -s, --socket PATH         bind a unix socket at PATH\n"
"      --fd N                use the listening socket already open on fd N\n"
"      --fd-name NAME        take the systemd-activated socket named NAME\n"
"  -M, --socket-mode MODE    unix socket mode, octal (0660 masked by umask)\n"
"  -U, --socket-user USER    unix socket owner (the -u user)\n"
"  -G, --socket-group GROUP  unix socket group (the -u user's group)\n"
"  -b, --backlog N           listen backlog (1024; 1..65535)\n"
"Children:\n"
"  -F, --children N          how many children to start (1; 1..4096; with\n"
"                            --max-children the minimum, 0 allowed)\n"
"  -C, --php-children N      set PHP_FCGI_CHILDREN=N for them (0..4096)\n"
"  -d, --chdir DIR           working directory of the children\n"
"  -c, --chroot DIR          chroot to DIR before starting them\n"
"  -S, --bind-before-chroot  bind the socket before the chroot\n"
"  -u, --user USER           run them as USER (name or number; never root)\n"
"  -g, --group GROUP         run them with GROUP (the user's primary group)\n"
"  -e, --env NAME[=VALUE]    set NAME, or pass NAME through (repeatable)\n"
"  -E, --clear-env           start from an empty environment plus -e\n"
"      --limit RES=VALUE     set a resource limit (nofile core nproc as data\n"
"                            stack fsize cpu memlock; a number or unlimited)\n"
"      --umask MODE          their umask, octal\n"
"      --nice N              their nice value (-20..19)\n"
"      --no-new-privs        set no_new_privs for them (Linux)\n"
"      --output FILE         append their stdout and stderr to FILE\n"
"  -n, --no-fork             exec the program in place of spawn\n"
"  -f, --shell-command CMD   run CMD through /bin/sh (deprecated)\n"
"Start-up and supervision:\n"
"      --min-uptime MS       how long a child must live to count as started\n"
"                            (100; 0..3600000)\n"
"      --check               ask the socket for FCGI_GET_VALUES after start\n"
"      --check-timeout MS    how long --check and --probe wait (3000)\n"
"  -P, --pid-file FILE       write the children's pids (with -w: spawn's own)\n"
"  -w, --wait                stay in the foreground until the children exit\n"
"  -r, --respawn             restart children that exit (implies -w)\n"
"      --retries N           give up after N failed starts in a row\n"
"                            (5; 0 never gives up)\n"
"      --stop-signal SIG     signal that stops a child (TERM)\n"
"      --stop-timeout SECS   then SIGKILL after SECS (10; 0..86400)\n"
"      --subreaper           reap orphaned descendants (Linux)\n"
"Dynamic pool:\n"
"      --max-children MAX    grow the pool on demand up to MAX (-F is then\n"
"                            the minimum, 0 allowed; needs -r; 1..4096)\n"
"      --scale-delay MS      start more children when a connection waited\n"
"                            this long unaccepted (20; 1..60000)\n"
"      --idle-timeout SECS   stop surplus children idle this long\n"
"                            (10; 1..86400)\n"
"      --status-file FILE    keep the pool's figures in FILE (Prometheus\n"
"                            text format; needs -w or -r)\n"
"CGI bridge (the workers run a CGI program once per request):\n"
"      --cgi                 serve FastCGI in spawn's own workers and run\n"
"                            program as a CGI/1.1 script for each request\n"
"      --cgi-dir DIR         run the script SCRIPT_FILENAME names, if it is\n"
"                            an executable file inside DIR (implies --cgi)\n"
"      --cgi-timeout SECS    end a request with no progress for SECS\n"
"                            (60; 1..86400)\n"
"      --cgi-max N           scripts at once per worker (64; 1..4096)\n"
"Other:\n"
"      --probe ADDR          ask a running server for FCGI_GET_VALUES and exit\n"
"  -v, --version             print the version and exit\n"
"  -h, --help                print this help and exit\n";

/* main: the recipe, in the order the work happens. */

static void
setup_signals(struct run *r)
{
	static const int taken[] = {
		SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
	};
	struct sigaction sa;
	sigset_t blocked;
	size_t i;

	sigemptyset(&r->handled);
	for (i = 0; i < sizeof(taken) / sizeof(taken[0]); i++)
		sigaddset(&r->handled, taken[i]);
	blocked = r->handled;
	/* A closed stdout or check socket must give EPIPE, not kill us. */
	sigaddset(&blocked, SIGPIPE);
	sigprocmask(SIG_BLOCK, &blocked, NULL);
	/*
	 * Blocked, they are taken with sigwaitinfo and the handler never
	 * runs, except while wait_readable() lets them in. It also replaces
	 * an inherited SIG_IGN, which for SIGCHLD would reap our children
	 * before we see them.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = note_signal;
	sigfillset(&sa.sa_mask);
	for (i = 0; i < sizeof(taken) / sizeof(taken[0]); i++)
		sigaction(taken[i], &sa, NULL);
}

static void
enter_chroot(struct run *r)
{
	if (chroot(r->o->chroot_dir) < 0 || chdir("/") < 0) {
		say("chroot %s: %s", r->o->chroot_dir, strerror(errno));
		die(r, SPAWN_EXIT_FAIL);
	}
}

/*
 * --check connects as soon as the socket listens, while its path still
 * resolves (before a chroot); the connection waits in the backlog.
 */
static void
check_connect(struct run *r)
{
	if ((r->check_fd = connect_self(r->sock)) < 0) {
		say("check: connect to own socket: %s", strerror(errno));
		die(r, SPAWN_EXIT_FAIL);
	}
}

static void
open_devnull(struct run *r)
{
	if ((r->out_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
		say("open /dev/null: %s", strerror(errno));
		die(r, SPAWN_EXIT_FAIL);
	}
}

int
main(int argc, char **argv)
{
	/* Static, so that what hangs off them stays reachable to the end. */
	static struct spawn_opts o;
	static struct run r;
	static char **envbuf;
	char err[512];
	const char *why;
	int code;

	if ((envbuf = calloc((size_t)argc + 1, sizeof(char *))) == NULL)
		return SPAWN_EXIT_FAIL;
	if (spawn_parse_args(argc, argv, &o, envbuf, err, sizeof(err)) != 0) {
		say("%s", err);
		return SPAWN_EXIT_USAGE;
	}
	if (o.show_help) {
		fputs(usage_text, stdout);
		return fflush(stdout) == 0 ? SPAWN_EXIT_OK : SPAWN_EXIT_FAIL;
	}
	if (o.show_version) {
		puts("spawn " SPAWN_VERSION);
		return fflush(stdout) == 0 ? SPAWN_EXIT_OK : SPAWN_EXIT_FAIL;
	}
	if ((why = spawn_check_conflicts(&o)) != NULL) {
		say("%s", why);
		return SPAWN_EXIT_USAGE;
	}
	memset(&r, 0, sizeof(r));
	r.o = &o;
	r.sock = r.sock_dirfd = r.pid_dirfd = r.out_fd = r.check_fd = -1;
	r.out_dirfd = r.pid_fd = -1;
	r.notify_fd = r.progress_fd = r.status_dirfd = -1;
	r.backlog_given = o.backlog >= 0;
	r.is_root = geteuid() == 0;
	r.self = getpid();
	spawn_apply_defaults(&o);
	if (o.probe)
		return probe(&o);

	setup_signals(&r);
	ensure_std_fds();
	cloexec_inherited();
	resolve_ids(&r);
	check_root_only(&r);
	if (o.output)
		open_output(&r);
	else if (!o.no_fork && !o.wait)
		open_devnull(&r);
	if (o.pid_file)
		open_pid_file(&r);
	if (o.status_file)
		open_status_file(&r);
	notify_open(&r);
	if (!o.no_fork)
		progress_open(&r);
	/* Inherited sockets need no file system: take them before chroot. */
	if (!o.chroot_dir || o.bind_before_chroot || o.fd >= 0 ||
	    (!o.socket_path && !o.port))
		open_socket(&r);
	if (o.check && r.sock >= 0)
		check_connect(&r);
	if (o.chroot_dir)
		enter_chroot(&r);
	if (r.sock < 0) {
		open_socket(&r);
		if (o.check)
			check_connect(&r);
	}
#ifdef __linux__
	if (o.subreaper && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		say("subreaper: %s", strerror(errno));
		die(&r, SPAWN_EXIT_FAIL);
	}
#else
	if (o.subreaper || o.no_new_privs) {
		say("%s: not supported on this system",
		    o.subreaper ? "subreaper" : "no-new-privs");
		die(&r, SPAWN_EXIT_USAGE);
	}
#endif
	build_env(&r);
	if (o.cgi)
		setup_cgi(&r);
	else
		resolve_program(&r);
	if (o.no_fork)
		exec_in_place(&r);
	code = start(&r);
	release(&r);
	return code;
}

#endif /* SPAWN_NO_MAIN */
