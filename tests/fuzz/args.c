/*
 * Fuzzes the command line: the input, split on NUL bytes, is argv after
 * "spawn" (at most 256 words). args_check.h runs spawn_parse_args, then
 * spawn_check_conflicts and spawn_apply_defaults when it parsed, and
 * checks what spawn.h promises: the exit code, a message that fits its
 * buffer, every value within its documented range, argv left as it was,
 * defaults that fill every "not given".
 */
#include <stdlib.h>
#include <string.h>

#include "args_check.h"

#define MAX_ARGS 256

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char **argv, *buf;
	size_t i, start;
	int argc = 1;

	/* The strings, each NUL-terminated; the last one by us. */
	if ((buf = malloc(size + 1)) == NULL)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (i = 0; i < size && argc < MAX_ARGS; i++)
		if (buf[i] == '\0')
			argc++;
	if (size > 0 && buf[size - 1] != '\0' && argc < MAX_ARGS)
		argc++;
	/* Exactly sized, so that any read past the end is a sanitizer report. */
	if ((argv = malloc(((size_t)argc + 1) * sizeof(char *))) == NULL)
		abort();
	argv[0] = "spawn";
	for (i = 0, start = 0, argc = 1; start < size && argc < MAX_ARGS; i++) {
		if (i == size || buf[i] == '\0') {
			argv[argc++] = buf + start;
			start = i + 1;
		}
	}
	argv[argc] = NULL;
	check_args(argc, argv, buf, size + 1, size > 0 ? data[0] : 0);
	free(argv);
	free(buf);
	return 0;
}
