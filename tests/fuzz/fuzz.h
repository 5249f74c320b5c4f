/*
 * Shared by the libFuzzer harnesses in this directory: the entry point's
 * prototype (the warning flags want one) and the one way a harness
 * reports a broken invariant.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A broken invariant is a crash to libFuzzer: abort() makes it save the
 * input and print the stack, like a sanitizer report would.
 */
#define CHECK(cond, what) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant failed: %s (%s)\n", \
		    __FILE__, __LINE__, (what), #cond); \
		abort(); \
	} \
} while (0)

#endif
