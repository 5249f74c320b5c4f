/*
 * Fuzzes the command line with structure: each input byte picks a word
 * (an option in one of its spellings, a value from a pool of edge cases
 * or raw input bytes, a program word, "--"), heavy on -e and --limit, so
 * that most runs parse and reach spawn_check_conflicts and
 * spawn_apply_defaults with many options at once. The checks are the
 * ones of the args harness (args_check.h).
 */
#include <stdlib.h>
#include <string.h>

#include "args_check.h"

#define MAX_ARGS 256
#define BLOCK 16384

struct opt {
	char short_name;        /* 0: long only */
	const char *long_name;
	int has_arg;
};

/* spawn(1)'s options, as the man page lists them. */
static const struct opt opts[] = {
	{ 'a', "address", 1 }, { 'p', "port", 1 }, { 's', "socket", 1 },
	{ 'M', "socket-mode", 1 }, { 'U', "socket-user", 1 },
	{ 'G', "socket-group", 1 }, { 'b', "backlog", 1 },
	{ 'F', "children", 1 }, { 'C', "php-children", 1 },
	{ 'd', "chdir", 1 }, { 'c', "chroot", 1 },
	{ 'S', "bind-before-chroot", 0 }, { 'u', "user", 1 },
	{ 'g', "group", 1 }, { 'P', "pid-file", 1 }, { 'n', "no-fork", 0 },
	{ 'f', "shell-command", 1 }, { 'v', "version", 0 },
	{ 'h', "help", 0 }, { 0, "min-uptime", 1 }, { 'w', "wait", 0 },
	{ 'r', "respawn", 0 }, { 0, "retries", 1 }, { 0, "stop-signal", 1 },
	{ 0, "stop-timeout", 1 }, { 0, "subreaper", 0 }, { 0, "fd", 1 },
	{ 0, "fd-name", 1 }, { 0, "check", 0 }, { 0, "check-timeout", 1 },
	{ 0, "probe", 1 }, { 'e', "env", 1 }, { 'E', "clear-env", 0 },
	{ 0, "limit", 1 }, { 0, "umask", 1 }, { 0, "nice", 1 },
	{ 0, "no-new-privs", 0 }, { 0, "output", 1 }, { 0, "cgi", 0 },
	{ 0, "cgi-dir", 1 }, { 0, "cgi-timeout", 1 }, { 0, "cgi-max", 1 },
	{ 0, "max-children", 1 }, { 0, "scale-delay", 1 },
	{ 0, "idle-timeout", 1 }, { 0, "status-file", 1 },
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* Values at and around every bound, and the shapes each option takes. */
static const char *const pool[] = {
	"", "0", "1", "2", "4", "-1", "-20", "-21", "19", "20", "100",
	"65535", "65536", "4096", "4097", "86400", "86401", "3600000",
	"600000", "1000000", "9223372036854775807", "9223372036854775808",
	"-9223372036854775809", "0660", "0777", "0800", "01000", "7", "022",
	"TERM", "SIGHUP", "sigusr1", "9", "64", "65", "KILL", "SIGFOO",
	"nofile=1024", "core=unlimited", "nproc=0", "as=-1", "cpu=infinity",
	"bogus=1", "memlock=", "A=1", "A", "=x", "PATH=/bin", "LD_PRELOAD=x",
	"/tmp/x.sock", "127.0.0.1", "::1", "[::1]", "0.0.0.0",
	"localhost:9000", "[::1]:9000", "/run/php.sock", "/srv/cgi",
	"x\ny", "\t", "web", "web:1", "nobody", "root", "/", ".", "--",
	"-", "php-cgi", "/usr/bin/php-cgi -b 9000",
};
#define NPOOL (sizeof(pool) / sizeof(pool[0]))

static char block_buf[BLOCK];
static size_t used;

/* Appends a word (n bytes) to the block; its offset, or -1 when full. */
static long
add_word(const char *a, size_t an, const char *b, size_t bn)
{
	long at = (long)used;

	if (BLOCK - used < an + bn + 1)
		return -1;
	memcpy(block_buf + used, a, an);
	memcpy(block_buf + used + an, b, bn);
	used += an + bn;
	block_buf[used++] = '\0';
	return at;
}

static const struct opt *
find(const char *name)
{
	size_t i;

	for (i = 0; i < NOPTS; i++)
		if (strcmp(opts[i].long_name, name) == 0)
			return &opts[i];
	abort();
}

struct input {
	const uint8_t *p;
	size_t n;
};

static int
next(struct input *in)
{
	if (in->n == 0)
		return -1;
	in->n--;
	return *in->p++;
}

/* A value: from the pool, or up to 31 raw input bytes (no NUL). */
static void
value(struct input *in, const char **v, size_t *vn, char *raw)
{
	int b = next(in), len, i, c;

	if (b < 0xe0) {
		*v = pool[(b < 0 ? 0 : b) % NPOOL];
		*vn = strlen(*v);
		return;
	}
	len = b & 31;
	for (i = 0; i < len && (c = next(in)) >= 0; i++)
		raw[i] = c == 0 ? '0' : (char)c;
	*v = raw;
	*vn = (size_t)i;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	long offs[MAX_ARGS];
	char **argv, word[64], raw[32];
	const struct opt *o;
	const char *v;
	size_t vn;
	int argc = 0, b, form, i;

	used = 0;
	while (argc < MAX_ARGS - 3 && (b = next(&in)) >= 0) {
		switch (b % 8) {
		case 5:
			/* -e and --limit, many times over: their arrays. */
			o = find("env");
			break;
		case 6:
			o = find("limit");
			break;
		case 7:
			/* A program word, "--", or a raw word. */
			value(&in, &v, &vn, raw);
			offs[argc++] = add_word(v, vn, "", 0);
			continue;
		default:
			o = &opts[(unsigned)next(&in) % NOPTS];
			break;
		}
		form = (b >> 3) % 4;
		if (o->short_name == 0 && form < 2)
			form = 2;
		word[0] = '-';
		word[1] = o->short_name;
		if (form >= 2) {
			word[1] = '-';
			strcpy(word + 2, o->long_name);
		} else {
			word[2] = '\0';
		}
		if (!o->has_arg) {
			offs[argc++] = add_word(word, strlen(word), "", 0);
			continue;
		}
		value(&in, &v, &vn, raw);
		switch (form) {
		case 0:
		case 2:
			/* "-s" "VALUE", "--socket" "VALUE" */
			offs[argc++] = add_word(word, strlen(word), "", 0);
			offs[argc++] = add_word(v, vn, "", 0);
			break;
		case 1:
			/* "-sVALUE" */
			offs[argc++] = add_word(word, 2, v, vn);
			break;
		default:
			/* "--socket=VALUE" */
			strcat(word, "=");
			offs[argc++] = add_word(word, strlen(word), v, vn);
			break;
		}
	}
	/* Words that did not fit the block are dropped. */
	for (i = b = 0; i < argc; i++)
		if (offs[i] >= 0)
			offs[b++] = offs[i];
	argc = b;
	if ((argv = malloc(((size_t)argc + 2) * sizeof(char *))) == NULL)
		abort();
	argv[0] = "spawn";
	for (i = 0; i < argc; i++)
		argv[i + 1] = block_buf + offs[i];
	argv[argc + 1] = NULL;
	check_args(argc + 1, argv, block_buf, used > 0 ? used : 1,
	    size > 0 ? data[size - 1] : 0);
	free(argv);
	return 0;
}
