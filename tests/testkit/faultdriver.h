/*
 * faultdriver.h - a driver for host-level tests: records every request
 * like the plan driver and fails the k-th one on demand.
 */
#ifndef LH_TEST_FAULTDRIVER_H
#define LH_TEST_FAULTDRIVER_H

#include "driver.h"

#include <pthread.h>

struct fault_driver {
	struct lh_driver base;
	pthread_mutex_t lock;
	cJSON *requests;   /* every request that succeeded, in order */
	size_t attempts;   /* requests tried, failed ones included */
	size_t fail_at;    /* 1-based attempt to fail; 0: none */
	int fail_code;     /* default -LH_EDRIVER */
};

/* A new fault driver (free with lh_driver_close). */
struct fault_driver *fault_driver_new(void);
void fault_driver_reset(struct fault_driver *fd);

/*
 * Whether every resource the recorded requests added was removed again:
 * per ResourcePath (and per CombinedLayers ContainerRootPath) the Adds
 * equal the Removes. On imbalance prints the first unbalanced key.
 */
bool fault_driver_balanced(const struct fault_driver *fd);

#endif
