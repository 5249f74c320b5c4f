/*
 * Fuzzes the environment a script gets: the input is a request's PARAMS
 * stream, handed to cgi.c's build_envp with a fixed set of -e variables
 * (PATH last among them, as spawn.c adds it). What spawn(1) promises:
 * every entry is NAME=VALUE; a param reaches the script only when
 * cgi_param_allowed says so and its value holds no NUL; every -e variable
 * is there exactly once and wins over a param of the same name; nothing
 * else is added or lost.
 */
#include "cgi_whole.h"

/* As spawn.c's setup_cgi builds it: the -e variables, then PATH. */
static char *admin_env[] = {
	"HTTP_HOST=admin.example",
	"GIT_PROJECT_ROOT=/srv/git",
	"REMOTE_USER=",
	"PATH=/usr/local/bin:/usr/bin:/bin",
	NULL,
};
static struct cgi_config fcfg;

/* The length of the NAME in "NAME=VALUE". */
static size_t
name_len(const char *e)
{
	const char *eq = strchr(e, '=');

	return eq ? (size_t)(eq - e) : strlen(e);
}

/* Which -e variable has this name, or -1. */
static int
admin_index(const char *name, size_t len)
{
	int i;

	for (i = 0; admin_env[i] != NULL; i++)
		if (name_len(admin_env[i]) == len &&
		    memcmp(admin_env[i], name, len) == 0)
			return i;
	return -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *name, *value;
	size_t off, k, nlen, vlen, len;
	int seen[8] = { 0 }, i, j, n, found;
	struct conn *c;
	char **envp;

	fcfg.env = admin_env;
	cfg = &fcfg;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->params = malloc(size + 1)) == NULL)
		abort();
	memcpy(c->params, data, size);
	c->plen = size;
	c->proc = -1;
	c->fd = c->in_fd = c->out_fd = c->err_fd = -1;

	envp = build_envp(c);
	CHECK(envp != NULL, "an environment");
	for (n = 0; envp[n] != NULL; n++) {
		len = name_len(envp[n]);
		CHECK(len > 0 && envp[n][len] == '=', "NAME=VALUE");
		if ((i = admin_index(envp[n], len)) >= 0) {
			CHECK(strcmp(envp[n], admin_env[i]) == 0,
			    "an -e variable wins over a param of its name");
			CHECK(seen[i]++ == 0, "each -e variable once");
			continue;
		}
		CHECK(cgi_param_allowed(envp[n], len), "only allowed params");
		/*
		 * It is the first of the request's pairs of that name that may
		 * pass (a name sent twice: the first counts), as sent.
		 */
		found = 0;
		for (off = 0; off < size; off += k) {
			if ((k = fcgi_decode_pair(data + off, size - off, &name, &nlen,
			    &value, &vlen)) == 0)
				break;
			if (nlen != len || memcmp(name, envp[n], len) != 0 ||
			    memchr(value, '\0', vlen) != NULL)
				continue;
			found = strlen(envp[n] + len + 1) == vlen &&
			    memcmp(value, envp[n] + len + 1, vlen) == 0;
			break;
		}
		CHECK(found, "a param entry is the first pair of its name");
		for (j = 0; j < n; j++)
			CHECK(name_len(envp[j]) != len ||
			    memcmp(envp[j], envp[n], len) != 0, "each name once");
	}
	for (i = 0; admin_env[i] != NULL; i++)
		CHECK(seen[i] == 1, "every -e variable is there");
	/*
	 * Nothing lost: every name with a pair that may pass, and not
	 * overridden by -e, once.
	 */
	for (off = 0; off < size; off += k) {
		if ((k = fcgi_decode_pair(data + off, size - off, &name, &nlen,
		    &value, &vlen)) == 0)
			break;
		if (!cgi_param_allowed((const char *)name, nlen) ||
		    memchr(value, '\0', vlen) != NULL ||
		    admin_index((const char *)name, nlen) >= 0)
			continue;
		found = 0;
		for (j = 0; j < n && !found; j++)
			found = name_len(envp[j]) == nlen &&
			    memcmp(envp[j], name, nlen) == 0;
		CHECK(found, "every allowed param name is passed");
	}
	for (j = 0; j < n; j++)
		CHECK(strlen(envp[j]) > 0, "no empty entry");
	free_envp(envp);
	free(c->params);
	free(c);
	return 0;
}
