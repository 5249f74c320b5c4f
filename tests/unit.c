/* Unit tests for the pure functions of spawn.h. */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spawn.h"
#include "fcgi.h"

static int failed;

static void
ok(int cond, const char *name)
{
	printf("%s - unit: %s\n", cond ? "ok" : "not ok", name);
	if (!cond)
		failed++;
}

static int
streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static void
test_numbers(void)
{
	long long v = -1;

	ok(spawn_parse_number("42", 1, 100, &v) == NULL && v == 42, "number 42");
	ok(streq(spawn_parse_number("0", 1, 100, &v), "too small"), "number too small");
	ok(streq(spawn_parse_number("101", 1, 100, &v), "too large"), "number too large");
	ok(streq(spawn_parse_number("12x", 1, 100, &v), "not a number"), "number trailing junk");
	ok(streq(spawn_parse_number("", 1, 100, &v), "not a number"), "number empty");
	ok(streq(spawn_parse_number(" 5", 1, 100, &v), "not a number"), "number leading space");
	ok(streq(spawn_parse_number("+5", 1, 100, &v), "not a number"), "number plus sign");
	ok(streq(spawn_parse_number("-5", 1, 100, &v), "too small"), "number negative");
	ok(spawn_parse_number("-20", -20, 19, &v) == NULL && v == -20, "number negative in range");
	ok(streq(spawn_parse_number("99999999999999999999", 1, 100, &v), "too large"),
	    "number overflow");
	ok(streq(spawn_parse_number("0x10", 0, 100, &v), "not a number"), "number hex rejected");
	ok(streq(spawn_parse_number("-0", 0, 100, &v), "too small"), "number -0 rejected where no sign is allowed");
	ok(streq(spawn_parse_number("-0x", 0, 100, &v), "not a number"), "number -0x is not a number");
}

static void
test_modes(void)
{
	int m = -1;

	ok(spawn_parse_mode("0660", &m) == NULL && m == 0660, "mode 0660");
	ok(spawn_parse_mode("777", &m) == NULL && m == 0777, "mode 777");
	ok(spawn_parse_mode("0", &m) == NULL && m == 0, "mode 0");
	ok(spawn_parse_mode("0800", &m) != NULL, "mode 0800 rejected");
	ok(spawn_parse_mode("1777", &m) != NULL, "mode 1777 rejected");
	ok(spawn_parse_mode("", &m) != NULL, "mode empty rejected");
	ok(spawn_parse_mode("-1", &m) != NULL, "mode negative rejected");
	ok(spawn_parse_mode("66o", &m) != NULL, "mode junk rejected");
}

static void
test_signals(void)
{
	int s = 0;

	ok(spawn_parse_signal("TERM", &s) == NULL && s == SIGTERM, "signal TERM");
	ok(spawn_parse_signal("sigquit", &s) == NULL && s == SIGQUIT, "signal sigquit");
	ok(spawn_parse_signal("9", &s) == NULL && s == 9, "signal 9");
	ok(spawn_parse_signal("0", &s) != NULL, "signal 0 rejected");
	ok(spawn_parse_signal("999", &s) != NULL, "signal 999 rejected");
	ok(spawn_parse_signal("TERMX", &s) != NULL, "signal TERMX rejected");
	ok(streq(spawn_signal_name(SIGUSR1), "USR1"), "signal name USR1");
}

static void
test_limits(void)
{
	struct spawn_limit l;

	ok(spawn_parse_limit("nofile=4096", &l) == NULL &&
	    l.resource == RLIMIT_NOFILE && l.value == 4096, "limit nofile=4096");
	ok(spawn_parse_limit("core=unlimited", &l) == NULL &&
	    l.resource == RLIMIT_CORE && l.value == RLIM_INFINITY, "limit core=unlimited");
	ok(spawn_parse_limit("nofile", &l) != NULL, "limit without value");
	ok(spawn_parse_limit("files=1", &l) != NULL, "limit unknown resource");
	ok(spawn_parse_limit("nofile=-1", &l) != NULL, "limit negative");
	ok(spawn_parse_limit("nofile=1k", &l) != NULL, "limit junk");
}

static void
test_exit_codes(void)
{
	ok(spawn_exit_code(0) == 0, "exit code 0");
	ok(spawn_exit_code(3 << 8) == 3, "exit code 3");
	ok(spawn_exit_code(SIGKILL) == 128 + SIGKILL, "exit code for SIGKILL is 137");
	ok(spawn_exit_code(SIGTERM | 0x80) == 128 + SIGTERM, "exit code for SIGTERM with core");
}

static void
test_addresses(void)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
	socklen_t len;

	ok(spawn_parse_inet("127.0.0.1", 9000, &ss, &len) == NULL &&
	    ss.ss_family == AF_INET && ntohs(sin->sin_port) == 9000 &&
	    len == sizeof(*sin), "inet 127.0.0.1");
	ok(spawn_parse_inet("::1", 80, &ss, &len) == NULL &&
	    ss.ss_family == AF_INET6 && ntohs(sin6->sin6_port) == 80, "inet ::1");
	ok(spawn_parse_inet("[::]", 80, &ss, &len) == NULL &&
	    ss.ss_family == AF_INET6, "inet [::]");
	ok(spawn_parse_inet("localhost", 80, &ss, &len) != NULL, "inet name rejected");
	ok(spawn_parse_inet("1.2.3.256", 80, &ss, &len) != NULL, "inet bad octet");
	ok(spawn_parse_target("/run/php.sock", &ss, &len) == NULL &&
	    ss.ss_family == AF_UNIX && streq(sun->sun_path, "/run/php.sock"),
	    "target unix path");
	ok(spawn_parse_target("127.0.0.1:9000", &ss, &len) == NULL &&
	    ss.ss_family == AF_INET && ntohs(sin->sin_port) == 9000, "target v4");
	ok(spawn_parse_target("[::1]:9001", &ss, &len) == NULL &&
	    ss.ss_family == AF_INET6 && ntohs(sin6->sin6_port) == 9001, "target v6");
	ok(spawn_parse_target("localhost:9000", &ss, &len) == NULL &&
	    ss.ss_family == AF_INET && sin->sin_addr.s_addr == htonl(INADDR_LOOPBACK),
	    "target localhost");
	ok(spawn_parse_target("127.0.0.1:0", &ss, &len) != NULL, "target port 0");
	ok(spawn_parse_target("127.0.0.1:x", &ss, &len) != NULL, "target port junk");
	ok(spawn_parse_target("::1:9000", &ss, &len) != NULL, "target v6 without brackets");
	ok(spawn_parse_target("", &ss, &len) != NULL, "target empty");
	ok(spawn_parse_target("127.0.0.1", &ss, &len) != NULL, "target IP without a port");
	ok(spawn_parse_target("php.sock", &ss, &len) == NULL && ss.ss_family == AF_UNIX,
	    "target relative path");
}

static void
test_fcgi(void)
{
	unsigned char buf[600], big[300];
	const unsigned char *n, *v;
	struct fcgi_header h;
	size_t len, nl, vl, k, off;
	int names = 0;

	fcgi_encode_header(buf, FCGI_STDOUT, 0x1234, 0x5678, 7);
	ok(buf[0] == 1 && buf[1] == 6 && buf[2] == 0x12 && buf[3] == 0x34 &&
	    buf[4] == 0x56 && buf[5] == 0x78 && buf[6] == 7 && buf[7] == 0,
	    "fcgi header bytes");
	ok(fcgi_decode_header(buf, &h) == 0 && h.type == 6 &&
	    h.request_id == 0x1234 && h.content_length == 0x5678 &&
	    h.padding_length == 7, "fcgi header round trip");
	buf[0] = 'H';
	ok(fcgi_decode_header(buf, &h) < 0, "fcgi header bad version");

	len = fcgi_encode_pair(buf, sizeof(buf), "A", 1, "xy", 2);
	ok(len == 5 && buf[0] == 1 && buf[1] == 2 && memcmp(buf + 2, "Axy", 3) == 0,
	    "fcgi short pair");
	memset(big, 'v', sizeof(big));
	len = fcgi_encode_pair(buf, sizeof(buf), "NAME", 4, (char *)big, 300);
	ok(len == 1 + 4 + 4 + 300 && buf[1] == 0x80 && buf[2] == 0 &&
	    buf[3] == 1 && buf[4] == 44, "fcgi long value uses 4 bytes");
	k = fcgi_decode_pair(buf, len, &n, &nl, &v, &vl);
	ok(k == len && nl == 4 && vl == 300 && memcmp(n, "NAME", 4) == 0,
	    "fcgi long pair round trip");
	ok(fcgi_decode_pair(buf, len - 1, &n, &nl, &v, &vl) == 0,
	    "fcgi truncated pair rejected");
	ok(fcgi_encode_pair(buf, 4, "NAME", 4, "", 0) == 0, "fcgi pair too big for buffer");

	len = fcgi_get_values_query(buf, sizeof(buf));
	fcgi_decode_header(buf, &h);
	ok(h.type == FCGI_GET_VALUES && h.request_id == 0 &&
	    (size_t)h.content_length == len - FCGI_HEADER_LEN, "get-values header");
	for (off = FCGI_HEADER_LEN; off < len; off += k) {
		k = fcgi_decode_pair(buf + off, len - off, &n, &nl, &v, &vl);
		if (k == 0 || vl != 0)
			break;
		names++;
	}
	ok(names == 3 && off == len, "get-values asks three names with empty values");
}

static void
test_fcgi_records(void)
{
	unsigned char buf[64], body[5] = { 'h', 'e', 'l', 'l', 'o' };
	struct fcgi_header h;
	size_t len, nl = 0, vl = 0;

	ok(fcgi_padding(0) == 0 && fcgi_padding(1) == 7 && fcgi_padding(8) == 0 &&
	    fcgi_padding(13) == 3, "fcgi padding to a multiple of 8");
	len = fcgi_record(buf, sizeof(buf), FCGI_STDOUT, 3, body, 5);
	fcgi_decode_header(buf, &h);
	ok(len == 16 && h.content_length == 5 && h.padding_length == 3 &&
	    h.request_id == 3 && memcmp(buf + 8, "hello", 5) == 0 &&
	    buf[13] == 0 && buf[15] == 0, "fcgi record padded with zeros");
	ok(fcgi_record(buf, 15, FCGI_STDOUT, 3, body, 5) == 0,
	    "fcgi record refused when the buffer is short");
	len = fcgi_end_request(buf, 7, 137, FCGI_REQUEST_COMPLETE);
	fcgi_decode_header(buf, &h);
	ok(len == 16 && h.type == FCGI_END_REQUEST && h.content_length == 8 &&
	    buf[11] == 137 && buf[12] == 0, "fcgi END_REQUEST carries appStatus");
	buf[0] = 0x80; buf[1] = 0; buf[2] = 0; buf[3] = 5;
	ok(fcgi_pair_lengths(buf, 4, &nl, &vl) == 0,
	    "fcgi pair lengths need both lengths");
	buf[4] = 0xff; buf[5] = 0xff; buf[6] = 0xff; buf[7] = 0xff;
	ok(fcgi_pair_lengths(buf, 8, &nl, &vl) == 8 && nl == 5 &&
	    vl == 0x7fffffff, "fcgi pair lengths read a huge claim before its bytes");
}

static void
test_cgi(void)
{
	char b[256];
	size_t n;

	ok(cgi_param_allowed("REQUEST_METHOD", 14), "cgi: REQUEST_METHOD passes");
	ok(cgi_param_allowed("HTTP_HOST", 9), "cgi: HTTP_HOST passes");
	ok(cgi_param_allowed("GIT_PROJECT_ROOT", 16), "cgi: GIT_PROJECT_ROOT passes");
	ok(!cgi_param_allowed("HTTP_PROXY", 10), "cgi: HTTP_PROXY dropped (httpoxy)");
	ok(!cgi_param_allowed("LD_PRELOAD", 10), "cgi: LD_PRELOAD dropped");
	ok(!cgi_param_allowed("LD_LIBRARY_PATH", 15), "cgi: LD_LIBRARY_PATH dropped");
	ok(!cgi_param_allowed("BASH_ENV", 8), "cgi: BASH_ENV dropped");
	ok(!cgi_param_allowed("BASH_FUNC_x%%", 13), "cgi: BASH_FUNC_ dropped");
	ok(!cgi_param_allowed("PATH", 4), "cgi: PATH dropped");
	ok(!cgi_param_allowed("IFS", 3), "cgi: IFS dropped");
	ok(cgi_param_allowed("PATHX", 5) && cgi_param_allowed("HTTP_PROXYX", 11),
	    "cgi: only whole names are dropped");
	ok(!cgi_param_allowed("", 0), "cgi: empty name dropped");
	ok(!cgi_param_allowed("A=B", 3), "cgi: a name with = dropped");
	ok(!cgi_param_allowed("A\0B", 3), "cgi: a name with NUL dropped");

	ok(cgi_header_end("Content-Type: a\n\nbody", 21, 100) == 17,
	    "cgi header end after LF LF");
	ok(cgi_header_end("Content-Type: a\r\n\r\nbody", 23, 100) == 19,
	    "cgi header end after CRLF CRLF");
	ok(cgi_header_end("Content-Type: a\r\n", 17, 100) == 0,
	    "cgi header end: more needed");
	ok(cgi_header_end("Content-Type: a\r\n\r", 18, 100) == 0,
	    "cgi header end: more needed after CR");
	ok(cgi_header_end("Content-Type: aaaa", 18, 18) == -1,
	    "cgi header end: over the limit");
	ok(cgi_header_end("\nbody", 5, 100) == 1, "cgi header end: empty block");

	strcpy(b, "Content-Type: text/plain\r\n\r\n");
	ok(cgi_check_header(b, strlen(b), &n) == NULL && n == strlen(b),
	    "cgi header: Content-Type");
	strcpy(b, "Location: /x\n\n");
	ok(cgi_check_header(b, strlen(b), &n) == NULL, "cgi header: Location");
	strcpy(b, "status: 404 Not Found\n\n");
	ok(cgi_check_header(b, strlen(b), &n) == NULL, "cgi header: status, any case");
	strcpy(b, "X-Foo: 1\n\n");
	ok(streq(cgi_check_header(b, strlen(b), &n),
	    "no Content-Type, Location or Status header"), "cgi header: none of the three");
	strcpy(b, "just text\n\n");
	ok(streq(cgi_check_header(b, strlen(b), &n), "malformed header line"),
	    "cgi header: a line without a colon");
	strcpy(b, "Status: abc\n\n");
	ok(streq(cgi_check_header(b, strlen(b), &n), "malformed Status header"),
	    "cgi header: a Status without a code");
	strcpy(b, "HTTP/1.1 200 OK\r\nContent-Type: x\r\n\r\n");
	ok(cgi_check_header(b, strlen(b), &n) == NULL && n == strlen(b) - 1 &&
	    strncmp(b, "Status: 200 OK\r\nContent-Type: x\r\n\r\n", n) == 0,
	    "cgi header: NPH status line becomes Status");
	strcpy(b, "HTTP/1.0 404 Not Found\n\n");
	ok(cgi_check_header(b, strlen(b), &n) == NULL &&
	    strncmp(b, "Status: 404 Not Found\n\n", n) == 0,
	    "cgi header: NPH status alone is enough");
	strcpy(b, "HTTP/1.1\n\n");
	ok(cgi_check_header(b, strlen(b), &n) != NULL, "cgi header: NPH without a code");
	strcpy(b, "\n");
	ok(cgi_check_header(b, strlen(b), &n) != NULL, "cgi header: empty block");
	strcpy(b, "Bad Name: 1\nContent-Type: x\n\n");
	ok(cgi_check_header(b, strlen(b), &n) != NULL, "cgi header: space in a name");
}

static int
streq0(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Field by field: the strings point into different argv copies. */
static int
same_opts(const struct spawn_opts *a, const struct spawn_opts *b)
{
	return streq0(a->address, b->address) && a->port == b->port &&
	    streq0(a->socket_path, b->socket_path) &&
	    a->socket_mode == b->socket_mode &&
	    streq0(a->socket_user, b->socket_user) &&
	    streq0(a->socket_group, b->socket_group) &&
	    a->backlog == b->backlog && a->children == b->children &&
	    a->php_children == b->php_children &&
	    streq0(a->chdir_dir, b->chdir_dir) &&
	    streq0(a->chroot_dir, b->chroot_dir) &&
	    a->bind_before_chroot == b->bind_before_chroot &&
	    streq0(a->user, b->user) && streq0(a->group, b->group) &&
	    streq0(a->pid_file, b->pid_file) && a->no_fork == b->no_fork &&
	    streq0(a->shell_command, b->shell_command) &&
	    a->wait == b->wait && a->respawn == b->respawn &&
	    a->clear_env == b->clear_env && a->nenv == b->nenv;
}

static int
parse(const char *line, struct spawn_opts *o, char *err)
{
	/* Two sets of buffers, used in turn, so two parses can be compared. */
	static char copy[2][1024];
	static char *argv[2][64], *envbuf[2][64];
	static int turn;
	int argc = 0, t = turn;
	char *p;

	turn = !turn;
	snprintf(copy[t], sizeof(copy[t]), "spawn %s", line);
	for (p = strtok(copy[t], " "); p && argc < 63; p = strtok(NULL, " "))
		argv[t][argc++] = p;
	argv[t][argc] = NULL;
	err[0] = '\0';
	return spawn_parse_args(argc, argv[t], o, envbuf[t], err, 256);
}

static void
test_args(void)
{
	struct spawn_opts o;
	char err[256];

	ok(parse("-s /tmp/x -F 4 -u nobody -- php-cgi -c /etc/php.ini", &o, err) == 0 &&
	    streq(o.socket_path, "/tmp/x") && o.children == 4 &&
	    streq(o.user, "nobody") && o.argc == 3 && streq(o.argv[0], "php-cgi") &&
	    streq(o.argv[1], "-c"), "args: program arguments never parsed");
	ok(parse("-s/tmp/x -F4 php-cgi -F 2", &o, err) == 0 && o.children == 4 &&
	    o.argc == 3 && streq(o.argv[1], "-F"), "args: first non-option ends options");
	ok(parse("--socket=/tmp/x --children 3 --wait -- a", &o, err) == 0 &&
	    o.children == 3 && o.wait && streq(o.socket_path, "/tmp/x"), "args: long forms");
	ok(parse("-nS -c /srv -- a", &o, err) == 0 && o.no_fork &&
	    o.bind_before_chroot, "args: bundled flags");
	ok(parse("-F 0 -- a", &o, err) == 2 &&
	    streq(err, "children \"0\": too small (1..4096)"), "args: -F 0 message");
	ok(parse("-F 4097 -- a", &o, err) == 2 &&
	    streq(err, "children \"4097\": too large (1..4096)"), "args: -F 4097");
	ok(parse("-p 80x -- a", &o, err) == 2 &&
	    streq(err, "port \"80x\": not a number (1..65535)"), "args: port junk");
	ok(parse("-p 0 -- a", &o, err) == 2, "args: port 0");
	ok(parse("-p 65536 -- a", &o, err) == 2, "args: port 65536");
	ok(parse("-M 999 -- a", &o, err) == 2 &&
	    streq(err, "socket-mode \"999\": not an octal mode (0..0777)"), "args: bad mode");
	ok(parse("-b -1 -- a", &o, err) == 2, "args: negative backlog");
	ok(parse("-C abc -- a", &o, err) == 2, "args: -C junk");
	ok(parse("-x -- a", &o, err) == 2 && streq(err, "unknown option -x"),
	    "args: unknown short option");
	ok(parse("--frobnicate -- a", &o, err) == 2 &&
	    streq(err, "unknown option --frobnicate"), "args: unknown long option");
	ok(parse("-p", &o, err) == 2 && streq(err, "option -p needs a value"),
	    "args: missing value");
	ok(parse("--port", &o, err) == 2 && streq(err, "option --port needs a value"),
	    "args: missing long value");
	ok(parse("--wait=1 a", &o, err) == 2, "args: flag with value");
	ok(parse("-a 1.2.3 -p 1 a", &o, err) == 2, "args: bad address");
	ok(parse("--stop-signal FOO a", &o, err) == 2, "args: bad signal");
	ok(parse("--nice 20 a", &o, err) == 2 && parse("--nice -21 a", &o, err) == 2 &&
	    parse("--nice -20 a", &o, err) == 0, "args: nice bounds");
	ok(parse("--limit nofile=1024 --limit core=unlimited a", &o, err) == 0 &&
	    o.nlimits == 2, "args: two limits");
	ok(parse("-e A=1 -e B a", &o, err) == 0 && o.nenv == 2 &&
	    streq(o.env[0], "A=1") && streq(o.env[1], "B") && o.env[2] == NULL,
	    "args: env list");
	ok(parse("-e =x a", &o, err) == 2, "args: env without name");
	ok(parse("--min-uptime 3600001 a", &o, err) == 2, "args: min-uptime bound");
}

/* Every spawn-fcgi option's long form parses as its letter does. */
static void
test_long_forms(void)
{
	static const char *const pairs[][2] = {
		{ "-a 127.0.0.1 -p 9000", "--address 127.0.0.1 --port 9000" },
		{ "-s /x -M 0600 -U u -G g -b 16", "--socket /x --socket-mode 0600 --socket-user u --socket-group g --backlog 16" },
		{ "-F 3 -C 2 -d /d -c /c -S", "--children 3 --php-children 2 --chdir /d --chroot /c --bind-before-chroot" },
		{ "-u nobody -g nogroup -P /p -n", "--user nobody --group nogroup --pid-file /p --no-fork" },
		{ "-f cmd", "--shell-command cmd" },
		{ "-w -r -E -e A=1", "--wait --respawn --clear-env --env A=1" },
	};
	struct spawn_opts a, b;
	char err[256], name[300];
	size_t i;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		parse(pairs[i][0], &a, err);
		a.argv = NULL;
		a.env = NULL;
		parse(pairs[i][1], &b, err);
		b.argv = NULL;
		b.env = NULL;
		a.nother = b.nother = 0;
		snprintf(name, sizeof(name), "long forms: %s", pairs[i][1]);
		ok(same_opts(&a, &b), name);
	}
}

static const char *
conflict(const char *line)
{
	static struct spawn_opts o;
	char err[256];

	if (parse(line, &o, err) != 0)
		return "parse failed";
	return spawn_check_conflicts(&o);
}

static void
test_conflicts(void)
{
	ok(conflict("-s /x -- a") == NULL, "conflict: none");
	ok(streq(conflict("-s /x -p 9000 -- a"), "-s and -p are exclusive"), "conflict: -s -p");
	ok(conflict("-s /x --fd 3 -- a") != NULL, "conflict: -s --fd");
	ok(streq(conflict("-a 127.0.0.1 -s /x -- a"), "-a needs -p"), "conflict: -a without -p");
	ok(streq(conflict("-p 9000 -M 0600 -- a"), "-M needs -s"), "conflict: -M without -s");
	ok(streq(conflict("-s /x -S -- a"), "-S needs -c"), "conflict: -S without -c");
	ok(streq(conflict("-s /x"), "no program given"), "conflict: no program");
	ok(conflict("-s /x -f cmd -- a") != NULL, "conflict: -f and program");
	ok(conflict("-s /x -n -F 2 -- a") != NULL, "conflict: -n -F 2");
	ok(conflict("-s /x -n -w -- a") != NULL, "conflict: -n -w");
	ok(conflict("-s /x -n -r -- a") != NULL, "conflict: -n -r");
	ok(conflict("-s /x -n --check -- a") != NULL, "conflict: -n --check");
	ok(conflict("--fd 3 -b 10 -- a") != NULL, "conflict: --fd -b");
	ok(conflict("--probe /x -s /y") != NULL, "conflict: --probe with -s");
	ok(conflict("--probe /x --check-timeout 100") == NULL, "conflict: --probe alone");
	ok(conflict("--probe /x -u nobody") != NULL, "conflict: --probe with -u");
	ok(conflict("--probe /x -P /p") != NULL, "conflict: --probe with -P");
	ok(streq(conflict("-s /x -w --retries 2 -- a"), "--retries needs -r"), "conflict: --retries without -r");
	ok(conflict("-s /x -r --retries 2 -- a") == NULL, "conflict: --retries with -r");
}

static void
test_defaults(void)
{
	struct spawn_opts o;
	char err[256];

	parse("-s /x -r -- a", &o, err);
	spawn_apply_defaults(&o);
	ok(o.children == 1 && o.backlog == 1024 && o.min_uptime == 100 &&
	    o.wait == 1 && o.retries == 5 && o.stop_signal == SIGTERM &&
	    o.stop_timeout == 10 && o.check_timeout == 3000 &&
	    streq(o.address, "0.0.0.0"), "defaults");
}

int
main(void)
{
	test_numbers();
	test_modes();
	test_signals();
	test_limits();
	test_exit_codes();
	test_addresses();
	test_fcgi();
	test_fcgi_records();
	test_cgi();
	test_args();
	test_long_forms();
	test_conflicts();
	test_defaults();
	return failed ? 1 : 0;
}
