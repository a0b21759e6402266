// SPDX-License-Identifier: MIT
/*
 * softiommu dump names an SMMUv3 device's StreamID and the model's event counters (the
 * driver's dump_dev hook): one forwarded event (F_TRANSLATION to the vEVENTQ) and one left
 * to the host's log (a stage-2 fault) each move their counter by one, in the text and the
 * JSON forms; the counters are the process's (smmuv3_event_counts).
 */
#include <stdio.h>

#include "nest_fixture.h"

/* The dump of @fd as a string (malloc'ed) */
static char *dump(int fd, unsigned int flags)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK(f != NULL);
	CHECK_OK(softiommu_dump(fd, f, flags));
	fclose(f);
	return buf;
}

/* The dump's counters of the device with StreamID @sid; false when not found */
static bool counters(const char *text, uint32_t sid, unsigned long long *fwd,
		     unsigned long long *host)
{
	char key[32];
	const char *p;

	snprintf(key, sizeof(key), "sid=0x%x ", sid);
	p = strstr(text, key);
	return p && sscanf(p + strlen(key), "events_forwarded=%llu events_host_log=%llu", fwd,
			   host) == 2;
}

int main(void)
{
	unsigned long long fwd0, host0, fwd, host;
	uint64_t f, h;
	struct nest n;
	char out[2], *text;

	nest_init(&n);
	CHECK_OK(nest_ste(&n, STE_S1 | n.cdt, 0));
	text = dump(n.fd, 0);
	CHECK(counters(text, PSID, &fwd0, &host0));
	smmuv3_event_counts(&f, &h);
	CHECK(fwd0 == f && host0 == h);
	free(text);

	/* A stage-1 fault: forwarded */
	guest_unmap(&n.g, n.root, VA);
	CHECK_OK(t_inv1(n.fd, n.viommu, 0x10, 0));
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA, out, 2));
	expect_s1_event(&n, 0x10, VA, false);
	text = dump(n.fd, 0);
	CHECK(counters(text, PSID, &fwd, &host));
	CHECK(fwd == fwd0 + 1 && host == host0);
	free(text);

	/* A stage-2 fault (an output IPA beyond the guest's RAM): the host's log */
	guest_map(&n.g, n.root, VA, GIPA + (16 << 20), S1_RW);
	CHECK_OK(t_inv1(n.fd, n.viommu, 0x10, 0));
	CHECK_ERR(EFAULT, softiommu_dma_read(n.dev, 0, VA, out, 2));
	text = dump(n.fd, 0);
	CHECK(counters(text, PSID, &fwd, &host));
	CHECK(fwd == fwd0 + 1 && host == host0 + 1);
	free(text);

	/* JSON: the same words as the device's "driver" member */
	text = dump(n.fd, SOFTIOMMU_DUMP_JSON);
	CHECK(strstr(text, "\"driver\": \"sid=0x42 events_forwarded=") != NULL);
	free(text);
	nest_fini(&n);
	return t_done();
}
