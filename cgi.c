/*
 * The CGI bridge (spawn --cgi): a worker that accepts FastCGI connections
 * on fd 0 and runs a CGI/1.1 program once per request.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "spawn.h"
#include "fcgi.h"
