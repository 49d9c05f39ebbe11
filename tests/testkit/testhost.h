/*
 * testhost.h - a real host opened from INI text for host-level tests: the
 * build tree's plugins (or a test's own), a recording fault driver.
 */
#ifndef LH_TEST_TESTHOST_H
#define LH_TEST_TESTHOST_H

#include "faultdriver.h"
#include "host.h"

struct testhost {
	struct lh_config *cfg;
	struct fault_driver *driver;
	struct lh_host *host;
};

/*
 * Open a host for "[host] plugin_dir = <plugin_dir>" followed by `ini`,
 * relative paths taken from the fixture folder; uvm_id NULL: the
 * config's. A config or host that does not open fails the test (fatally)
 * after printing why.
 */
void testhost_open(struct testhost *t, const char *plugin_dir, const char *ini,
		   const char *uvm_id);
void testhost_close(struct testhost *t);

/* Live attachments `backend` lists (fatal if it is not loaded). */
size_t testhost_live(struct testhost *t, const char *backend);
/* References on the attachment of host_path in `backend`; 0: none. */
uint32_t testhost_refs(struct testhost *t, const char *backend, const char *host_path);

#endif
