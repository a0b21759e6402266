// SPDX-License-Identifier: MIT
/*
 * State dumps from a program running under the shim, driven by the environment:
 *   SOFTIOMMU_DUMP=text|json      what to write (unset: nothing)
 *   SOFTIOMMU_DUMP_WHEN=close|exit  each iommufd as it is closed (default), or every iommufd
 *                                   still open when the program exits
 *   SOFTIOMMU_DUMP_FILE=path      where (default: standard error)
 * `softiommu dump [--json] -- CMD` sets these.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <softiommu/softiommu.h>

#include "../../core/sio.h"

static unsigned int dump_flags;
static FILE *dump_out;

static void dump_on_close(struct sio_ctx *ctx)
{
	sio_dump_ctx(ctx, dump_out, dump_flags);
}

static void dump_at_exit(void)
{
	softiommu_dump_all(dump_out, dump_flags);
}

__attribute__((constructor)) static void dump_hook_init(void)
{
	const char *what = getenv("SOFTIOMMU_DUMP");
	const char *when = getenv("SOFTIOMMU_DUMP_WHEN");
	const char *file = getenv("SOFTIOMMU_DUMP_FILE");

	if (!what || !*what)
		return;
	dump_flags = !strcmp(what, "json") ? SOFTIOMMU_DUMP_JSON : 0;
	dump_out = file && *file ? fopen(file, "ae") : NULL;
	if (!dump_out)
		dump_out = stderr;
	if (when && !strcmp(when, "exit"))
		atexit(dump_at_exit);
	else
		sio_ctx_release_hook = dump_on_close;
}
