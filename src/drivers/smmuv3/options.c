// SPDX-License-Identifier: MIT
/*
 * The options of an SMMUv3 device after the model's name (softiommu_dev_create(fd,
 * "smmuv3:smmu=gpu0,sid=0x10", ...)): comma-separated key=value pairs, each at most once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "smmuv3_int.h"

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* One "key=value" of length @len at @p */
static int parse_one(const char *p, size_t len, struct smmu_dev_opts *o)
{
	const char *eq = memchr(p, '=', len);
	size_t klen, vlen;
	const char *v;

	if (!eq)
		return -EINVAL;
	klen = (size_t)(eq - p);
	v = eq + 1;
	vlen = len - klen - 1;
	if (klen == 4 && !memcmp(p, "smmu", 4)) {
		if (o->smmu[0] || !vlen || vlen > SMMUV3_NAME_MAX)
			return -EINVAL;
		for (size_t i = 0; i != vlen; i++)
			if (!name_char(v[i]))
				return -EINVAL;
		memcpy(o->smmu, v, vlen);
		o->smmu[vlen] = 0;
		return 0;
	}
	if (klen == 3 && !memcmp(p, "sid", 3)) {
		char buf[24], *end;
		unsigned long long sid;

		if (o->sid_given || !vlen || vlen >= sizeof(buf) || v[0] == '-')
			return -EINVAL;
		memcpy(buf, v, vlen);
		buf[vlen] = 0;
		errno = 0;
		sid = strtoull(buf, &end, 0);
		if (errno || *end || sid > UINT32_MAX)
			return -EINVAL;
		o->sid = (uint32_t)sid;
		o->sid_given = true;
		return 0;
	}
	return -EINVAL;
}

/** smmu_parse_opts() - @opts into @o (zeroed first). Return: 0, or -EINVAL. */
int smmu_parse_opts(const char *opts, struct smmu_dev_opts *o)
{
	memset(o, 0, sizeof(*o));
	while (*opts) {
		const char *comma = strchr(opts, ',');
		size_t len = comma ? (size_t)(comma - opts) : strlen(opts);
		int rc = parse_one(opts, len, o);

		if (rc)
			return rc;
		opts += len;
		if (comma && !*++opts)
			return -EINVAL; /* a trailing comma */
	}
	return 0;
}
