/*
 * spawn: a FastCGI launcher and supervisor.
 *
 * This header is the contract between spawn.c and its unit tests: the
 * parsed command line, the exit codes, and the pure functions (no I/O, no
 * exit, no global state) that turn text into values.
 */
#ifndef SPAWN_H
#define SPAWN_H

#include <stddef.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#define SPAWN_VERSION "1.1.0"

/* Exit codes, documented under EXIT STATUS in spawn.1. */
enum spawn_exit {
	SPAWN_EXIT_OK = 0,
	SPAWN_EXIT_FAIL = 1,      /* a failure at run time */
	SPAWN_EXIT_USAGE = 2,     /* the command line cannot work as written */
	SPAWN_EXIT_NOEXEC = 126,  /* -n: the program exists but cannot run */
	SPAWN_EXIT_NOTFOUND = 127 /* -n: the program was not found */
};

/* Bounds that the man page documents. */
#define SPAWN_MAX_CHILDREN 4096
#define SPAWN_MAX_LIMITS 16
#define SPAWN_DEFAULT_BACKLOG 1024
#define SPAWN_DEFAULT_MIN_UPTIME 100   /* ms */
#define SPAWN_DEFAULT_RETRIES 5
#define SPAWN_DEFAULT_STOP_TIMEOUT 10  /* s */
#define SPAWN_DEFAULT_CHECK_TIMEOUT 3000 /* ms */
#define SPAWN_DEFAULT_CGI_TIMEOUT 60   /* s */
#define SPAWN_DEFAULT_CGI_MAX 64       /* scripts at once per worker */
#define SPAWN_DEFAULT_SCALE_DELAY 20   /* ms */
#define SPAWN_DEFAULT_IDLE_TIMEOUT 10  /* s */

struct spawn_limit {
	int resource;   /* RLIMIT_* */
	rlim_t value;   /* RLIM_INFINITY for "unlimited" */
};

/* Every option, as parsed; -1 (or NULL) means "not given". */
struct spawn_opts {
	const char *address;       /* -a */
	int port;                  /* -p, 0 when not given */
	const char *socket_path;   /* -s */
	int socket_mode;           /* -M, -1 when not given */
	const char *socket_user;   /* -U */
	const char *socket_group;  /* -G */
	int backlog;               /* -b, -1 when not given */
	int children;              /* -F, -1 when not given */
	int php_children;          /* -C, -1 when not given */
	const char *chdir_dir;     /* -d */
	const char *chroot_dir;    /* -c */
	int bind_before_chroot;    /* -S */
	const char *user;          /* -u */
	const char *group;         /* -g */
	const char *pid_file;      /* -P */
	int no_fork;               /* -n */
	const char *shell_command; /* -f */
	int show_version;          /* -v */
	int show_help;             /* -h */
	long min_uptime;           /* --min-uptime, ms, -1 when not given */

	int wait;                  /* -w */
	int respawn;               /* -r */
	int retries;               /* --retries, -1 when not given */
	int stop_signal;           /* --stop-signal, 0 when not given */
	int stop_timeout;          /* --stop-timeout, s, -1 when not given */
	int subreaper;             /* --subreaper */

	int fd;                    /* --fd, -1 when not given */
	const char *fd_name;       /* --fd-name */
	int check;                 /* --check */
	long check_timeout;        /* --check-timeout, ms, -1 when not given */
	const char *probe;         /* --probe */

	char **env;                /* -e, in order; NULL-terminated */
	int nenv;
	int clear_env;             /* -E */
	struct spawn_limit limits[SPAWN_MAX_LIMITS]; /* --limit */
	int nlimits;
	int umask_mode;            /* --umask, -1 when not given */
	int nice_set;              /* --nice given */
	int nice_value;
	int no_new_privs;          /* --no-new-privs */
	const char *output;        /* --output */

	int cgi;                   /* --cgi (and --cgi-dir) */
	const char *cgi_dir;       /* --cgi-dir */
	int cgi_timeout;           /* --cgi-timeout, s, -1 when not given */
	int cgi_max;               /* --cgi-max, -1 when not given */

	int max_children;          /* --max-children, -1 when not given */
	int dynamic;               /* --max-children was given */
	long scale_delay;          /* --scale-delay, ms, -1 when not given */
	int idle_timeout;          /* --idle-timeout, s, -1 when not given */
	const char *status_file;   /* --status-file */

	int nother;                /* options other than --probe/--check-timeout */

	char **argv;               /* the program and its arguments */
	int argc;
};

/*
 * Parsers return NULL on success, or a short static reason ("not a
 * number", "too small (1..4096)") that the caller puts in its message.
 */
const char *spawn_parse_number(const char *s, long long lo, long long hi,
    long long *out);
const char *spawn_parse_mode(const char *s, int *out);
const char *spawn_parse_signal(const char *s, int *out);
const char *spawn_parse_limit(const char *s, struct spawn_limit *out);
const char *spawn_signal_name(int sig);

/*
 * Parses argv into o. envbuf must have room for argc + 1 pointers; o->env
 * points into it. Returns 0, or SPAWN_EXIT_USAGE with a one-line message
 * (without the "spawn: " prefix) in err.
 */
int spawn_parse_args(int argc, char **argv, struct spawn_opts *o,
    char **envbuf, char *err, size_t errlen);

/* Conflicts between options, after parsing: NULL or one message. */
const char *spawn_check_conflicts(const struct spawn_opts *o);

/* Fills in the defaults for everything left unset. */
void spawn_apply_defaults(struct spawn_opts *o);

/* A wait(2) status as a shell would report it: the code, or 128+signal. */
int spawn_exit_code(int wstatus);

/*
 * Address parsing. spawn_parse_inet takes an IPv4 or IPv6 literal and a
 * port; spawn_parse_target takes "/path", "HOST:PORT" or "[V6]:PORT" and
 * fills a sockaddr (HOST must be a literal or "localhost").
 */
const char *spawn_parse_inet(const char *addr, int port,
    struct sockaddr_storage *ss, socklen_t *len);
const char *spawn_parse_target(const char *s, struct sockaddr_storage *ss,
    socklen_t *len);

/*
 * The CGI bridge (cgi.c). spawn.c fills a cgi_config in a worker after
 * the privilege drop; cgi_worker serves fd 0 until drained and returns the
 * worker's exit code.
 */
struct cgi_config {
	const char *path;          /* --cgi: the program; NULL with --cgi-dir */
	char **argv;               /* its arguments, argv[0] included */
	const char *dir;           /* --cgi-dir, resolved, no trailing slash */
	char **env;                /* what -e gives, NAME=VALUE, NULL-terminated */
	int timeout;               /* --cgi-timeout, s */
	int max;                   /* --cgi-max */
	int drain_signal;          /* --stop-signal: finish, then exit */
	long drain_ms;             /* --stop-timeout, ms */
	const char *allow;         /* FCGI_WEB_SERVER_ADDRS, or NULL */
	volatile unsigned *activity; /* dynamic pool: [0] connections open,
	                              * [1] connections opened and closed;
	                              * or NULL */
};

int cgi_worker(const struct cgi_config *c);

/*
 * Every signal to its default disposition and none blocked, whatever spawn
 * inherited: what a program and a CGI script start with. System calls
 * only, so it is safe between vfork and exec.
 */
void spawn_reset_signals(void);

/* Limits of the bridge, documented in spawn.1. */
#define CGI_PARAMS_MAX (128 * 1024)   /* name-value bytes per request */
#define CGI_HEADER_MAX (16 * 1024)    /* the script's header block */
#define CGI_HOLD_MAX (64 * 1024)      /* output held until the body is in */
#define CGI_KILL_GRACE_MS 1000        /* SIGTERM, then SIGKILL */

/* A param that may reach a script's environment (not HTTP_PROXY, LD_*...). */
int cgi_param_allowed(const char *name, size_t len);
/*
 * The end of a CGI header block in buf[0..len): returns the length of the
 * block with its blank line, 0 when more bytes are needed, -1 when len
 * already passed max without one.
 */
long cgi_header_end(const char *buf, size_t len, size_t max);
/*
 * Checks a complete header block (RFC 3875 section 6) and rewrites a
 * non-parsed-header first line ("HTTP/1.1 200 OK") to "Status: 200 OK" in
 * place; *outlen is the block's new length. NULL when valid, else why not.
 */
const char *cgi_check_header(char *buf, size_t len, size_t *outlen);

#endif
