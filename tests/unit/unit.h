/*
 * Tiny helpers for host unit tests. Each test prints one line per failed
 * check and ends with "NAME: N passed, M failed" (the line CI reads), then
 * exits non-zero if anything failed.
 */
#ifndef TESTS_UNIT_H
#define TESTS_UNIT_H

#include <stdio.h>

static unsigned long unit_passed __attribute__((unused));
static unsigned long unit_failed __attribute__((unused));

/* Count a check; on failure say where and what, with a printf-style note. */
#define CHECK_MSG(cond, ...)                                                 \
	do {                                                                 \
		if (cond) {                                                  \
			unit_passed++;                                       \
		} else {                                                     \
			unit_failed++;                                       \
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__);                                 \
			printf("\n");                                        \
		}                                                            \
	} while (0)

#define CHECK(cond) CHECK_MSG(cond, "%s", "")

/* Integer equality that prints both values. */
#define CHECK_EQ(a, b)                                                       \
	do {                                                                 \
		unsigned long long unit_a_ = (unsigned long long)(a);        \
		unsigned long long unit_b_ = (unsigned long long)(b);        \
		CHECK_MSG(unit_a_ == unit_b_, "%s = %#llx, %s = %#llx",     \
			  #a, unit_a_, #b, unit_b_);                         \
	} while (0)

/* Print the closing line and turn the counts into an exit status. */
static inline int unit_finish(const char *name)
{
	printf("%s: %lu passed, %lu failed\n", name, unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}

#endif /* TESTS_UNIT_H */
