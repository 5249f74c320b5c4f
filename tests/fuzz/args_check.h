/*
 * The checks both argv harnesses (args, args_grammar) make on one command
 * line: spawn_parse_args, then spawn_check_conflicts and
 * spawn_apply_defaults when it parsed, against what spawn.h promises.
 * Included by each harness (static functions, one user per program).
 */
#ifndef ARGS_CHECK_H
#define ARGS_CHECK_H

#include <signal.h>
#include <string.h>

#include "spawn.h"
#include "fuzz.h"

/* A value is "not given" (the sentinel) or inside its bounds. */
#define IN(v, unset, lo, hi) ((v) == (unset) || ((v) >= (lo) && (v) <= (hi)))

static const char *block;       /* the argv strings, for pointer checks */
static size_t block_len;

static int
points_into_argv(const char *p)
{
	return p == NULL || (p >= block && p < block + block_len);
}

static void
check_parsed(const struct spawn_opts *o, int argc, char **argv)
{
	int i;

	CHECK(o->argc >= 0 && o->argc < argc, "program argc in range");
	CHECK(o->argv == argv + (argc - o->argc), "program argv is argv's tail");
	CHECK(o->argv[o->argc] == NULL, "program argv NULL-terminated");
	CHECK(o->nenv >= 0 && o->nenv < argc, "-e count bounded by argc");
	CHECK(o->env[o->nenv] == NULL, "env NULL-terminated");
	for (i = 0; i < o->nenv; i++)
		CHECK(o->env[i] != NULL && points_into_argv(o->env[i]),
		    "-e values point into argv");
	CHECK(o->nlimits >= 0 && o->nlimits <= SPAWN_MAX_LIMITS, "limit count");
	for (i = 0; i < o->nlimits; i++)
		CHECK(o->limits[i].resource >= 0 &&
		    o->limits[i].resource < RLIM_NLIMITS, "limit resource");
	CHECK(IN(o->port, 0, 1, 65535), "-p range");
	CHECK(IN(o->socket_mode, -1, 0, 0777), "-M range");
	CHECK(IN(o->backlog, -1, 1, 65535), "-b range");
	CHECK(IN(o->children, -1, 1, SPAWN_MAX_CHILDREN) ||
	    (o->children == 0 && o->max_children >= 1), "-F range (0 only with "
	    "--max-children)");
	CHECK(IN(o->max_children, -1, 1, SPAWN_MAX_CHILDREN),
	    "--max-children range");
	CHECK(IN(o->scale_delay, -1, 1, 60000), "--scale-delay range");
	CHECK(IN(o->idle_timeout, -1, 1, 86400), "--idle-timeout range");
	CHECK(IN(o->php_children, -1, 0, SPAWN_MAX_CHILDREN), "-C range");
	CHECK(IN(o->min_uptime, -1, 0, 3600000), "--min-uptime range");
	CHECK(IN(o->retries, -1, 0, 1000000), "--retries range");
	CHECK(IN(o->stop_signal, 0, 1, NSIG - 1), "--stop-signal range");
	CHECK(IN(o->stop_timeout, -1, 0, 86400), "--stop-timeout range");
	CHECK(IN(o->fd, -1, 0, 65535), "--fd range");
	CHECK(IN(o->check_timeout, -1, 1, 600000), "--check-timeout range");
	CHECK(IN(o->umask_mode, -1, 0, 0777), "--umask range");
	CHECK(!o->nice_set || (o->nice_value >= -20 && o->nice_value <= 19),
	    "--nice range");
	CHECK(IN(o->cgi_timeout, -1, 1, 86400), "--cgi-timeout range");
	CHECK(IN(o->cgi_max, -1, 1, SPAWN_MAX_CHILDREN), "--cgi-max range");
	CHECK(o->cgi_dir == NULL || o->cgi, "--cgi-dir implies --cgi");
	CHECK(points_into_argv(o->address) && points_into_argv(o->socket_path) &&
	    points_into_argv(o->socket_user) && points_into_argv(o->socket_group) &&
	    points_into_argv(o->chdir_dir) && points_into_argv(o->chroot_dir) &&
	    points_into_argv(o->user) && points_into_argv(o->group) &&
	    points_into_argv(o->pid_file) && points_into_argv(o->shell_command) &&
	    points_into_argv(o->fd_name) && points_into_argv(o->probe) &&
	    points_into_argv(o->output) && points_into_argv(o->cgi_dir) &&
	    points_into_argv(o->status_file),
	    "string options point into argv");
}

/* What spawn_check_conflicts lets through must be a startable set. */
static void
check_accepted(const struct spawn_opts *o)
{
	int sockets = (o->socket_path != NULL) + (o->port != 0) + (o->fd >= 0);

	if (o->probe != NULL) {
		CHECK(o->argc == 0, "--probe alone");
		return;
	}
	CHECK(sockets <= 1, "at most one socket source");
	CHECK(o->argc > 0 || o->shell_command != NULL || o->cgi_dir != NULL,
	    "something to run");
	CHECK(!(o->cgi && o->shell_command), "--cgi without -f");
	CHECK(!(o->cgi && o->php_children >= 0), "--cgi without -C");
	CHECK(!(o->cgi_dir && o->argc > 0), "--cgi-dir without a program");
	CHECK(o->cgi || (o->cgi_timeout < 0 && o->cgi_max < 0),
	    "--cgi-timeout/--cgi-max only with --cgi");
	CHECK(!o->no_fork || (o->children <= 1 && !o->wait && !o->respawn &&
	    !o->check && !o->subreaper), "-n alone");
	CHECK(o->retries < 0 || o->respawn, "--retries needs -r");
	CHECK(!o->bind_before_chroot || o->chroot_dir != NULL, "-S needs -c");
	CHECK(o->max_children < 0 || (o->respawn &&
	    o->max_children >= (o->children < 0 ? 1 : o->children)),
	    "--max-children needs -r and is at least -F");
	CHECK(o->max_children >= 0 || (o->scale_delay < 0 &&
	    o->idle_timeout < 0), "--scale-delay/--idle-timeout need a maximum");
	CHECK(o->status_file == NULL || o->wait || o->respawn,
	    "--status-file needs -w or -r");
	CHECK(o->children != 0 || !o->check, "--check needs a child");
}

static void
check_defaults(struct spawn_opts *o)
{
	struct spawn_opts again;

	spawn_apply_defaults(o);
	/* Also for rejected sets: then -F may exceed --max-children. */
	CHECK(o->max_children >= 1 - (o->children == 0) &&
	    o->scale_delay >= 1 && o->idle_timeout >= 1, "the pool's defaults");
	CHECK(o->dynamic || o->max_children == o->children,
	    "a fixed pool's maximum is -F");
	CHECK(o->backlog >= 1 && o->children >= 0 && o->min_uptime >= 0 &&
	    o->retries >= 0 && o->stop_signal >= 1 && o->stop_timeout >= 0 &&
	    o->check_timeout >= 1 && o->address != NULL &&
	    o->cgi_timeout >= 1 && o->cgi_max >= 1, "defaults fill every gap");
	CHECK(!o->respawn || o->wait, "-r implies -w");
	again = *o;
	spawn_apply_defaults(&again);
	CHECK(memcmp(&again, o, sizeof(again)) == 0, "defaults idempotent");
}

static int newline_noted;

/*
 * argv[0..argc) with argv[argc] == NULL; its strings (but argv[0]) lie in
 * blk[0..blen). seed picks the size of a short message buffer.
 */
static void
check_args(int argc, char **argv, const char *blk, size_t blen,
    unsigned int seed)
{
	struct spawn_opts o;
	char **envbuf, err[512], *small, *copy;
	const char *why;
	size_t smalllen;
	int rc, rc2;

	block = blk;
	block_len = blen;
	/* Exactly sized, so that any write past the end is a report. */
	if ((envbuf = malloc(((size_t)argc + 1) * sizeof(char *))) == NULL ||
	    (copy = malloc(blen)) == NULL)
		abort();
	memcpy(copy, blk, blen);
	memset(err, 'x', sizeof(err));
	rc = spawn_parse_args(argc, argv, &o, envbuf, err, sizeof(err));
	CHECK(rc == 0 || rc == SPAWN_EXIT_USAGE, "exit code 0 or 2");
	CHECK(memcmp(blk, copy, blen) == 0, "argv strings left unchanged");
	if (rc != 0) {
		CHECK(memchr(err, '\0', sizeof(err)) != NULL, "message terminated");
		CHECK(err[0] != '\0', "message not empty");
		/*
		 * A raw newline here is escaped by spawn's say() on the way
		 * out; noted once, not a failure.
		 */
		if (strpbrk(err, "\n\r") != NULL && !newline_noted) {
			newline_noted = 1;
			fprintf(stderr, "note: parse message holds a newline "
			    "(escaped later by say())\n");
		}
		/* A short buffer gets the same answer, truncated, no overflow. */
		smalllen = 1 + seed % 24;
		if ((small = malloc(smalllen)) == NULL)
			abort();
		rc2 = spawn_parse_args(argc, argv, &o, envbuf, small, smalllen);
		CHECK(rc2 == rc, "same result with a short message buffer");
		CHECK(memchr(small, '\0', smalllen) != NULL &&
		    strncmp(small, err, smalllen - 1) == 0,
		    "short message is a prefix of the whole one");
		free(small);
	} else {
		check_parsed(&o, argc, argv);
		why = spawn_check_conflicts(&o);
		if (why != NULL) {
			CHECK(*why != '\0' && strchr(why, '\n') == NULL,
			    "conflict message one line");
		} else {
			check_accepted(&o);
		}
		check_defaults(&o);
	}
	free(envbuf);
	free(copy);
}

#endif
