/*
 * The CGI bridge (spawn --cgi): a worker that accepts FastCGI connections
 * on fd 0 and runs a CGI/1.1 program once per request.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "spawn.h"
#include "fcgi.h"

int
cgi_worker(const struct cgi_config *c)
{
	(void)c;
	return 1;
}

int
cgi_param_allowed(const char *name, size_t len)
{
	(void)name;
	(void)len;
	return 0;
}
