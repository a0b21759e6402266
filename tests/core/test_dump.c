// SPDX-License-Identifier: MIT
/*
 * softiommu_dump(): the text and JSON descriptions of a context name every object with its
 * type, users and mappings; the JSON is well formed (balanced, no trailing commas); the dump
 * itself leaves the users counts as they were.
 */
#include <sys/mman.h>

#include "testlib.h"

static int balanced(const char *s)
{
	int depth = 0, in_str = 0;

	for (; *s; s++) {
		if (*s == '"')
			in_str = !in_str;
		else if (!in_str && (*s == '{' || *s == '['))
			depth++;
		else if (!in_str && (*s == '}' || *s == ']'))
			depth--;
		else if (!in_str && *s == ',' && (s[1] == ']' || s[1] == '}'))
			return 0;
		if (depth < 0)
			return 0;
	}
	return depth == 0 && !in_str;
}

int main(void)
{
	char *buf = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd), stdev;
	uint64_t iova = MOCK_APERTURE_START;
	char *text = NULL, *json = NULL;
	size_t tlen, jlen;
	FILE *f;

	stdev = t_mock_domain(fd, ioas, NULL, NULL);
	CHECK_OK(t_map(fd, ioas, buf, 4 * 4096, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
				IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
	f = open_memstream(&text, &tlen);
	CHECK_OK(softiommu_dump(fd, f, 0));
	fclose(f);
	f = open_memstream(&json, &jlen);
	CHECK_OK(softiommu_dump(fd, f, SOFTIOMMU_DUMP_JSON));
	fclose(f);
	CHECK(strstr(text, "ioas") && strstr(text, "hwpt_paging") && strstr(text, "device"));
	CHECK(strstr(text, "[0x1000000, 0x1003fff] user") && strstr(text, "rw pinned"));
	CHECK(strstr(json, "\"type\": \"ioas\"") && strstr(json, "\"iova\": 16777216"));
	CHECK(strstr(json, "\"pinned\": true") && strstr(json, "\"auto\": true"));
	CHECK(balanced(json));
	/* The IOAS's users as the graph sees them: the table, the HWPT */
	CHECK(strstr(json, "\"id\": 1, \"type\": \"ioas\", \"users\": 2"));
	/* The dump did not disturb the counts: the IOAS is still busy, not more */
	CHECK_ERR(EBUSY, t_destroy(fd, ioas));
	CHECK_OK(t_destroy(fd, stdev));
	CHECK_OK(t_destroy(fd, ioas));
	CHECK_ERR(EBADF, softiommu_dump(0, stderr, 0));
	CHECK_OK(softiommu_close(fd));
	free(text);
	free(json);
	return t_done();
}
