/*
 * services.h - the table of host services each backend instance gets at
 * open (struct lh_host_services in <layerhost/backend.h>): its requests go
 * to the instance's host, its log lines carry the instance's name, its
 * mount counter is its UVM's.
 */
#ifndef LH_SERVICES_H
#define LH_SERVICES_H

#include "host.h"

/* Fill svc for inst, which is its context; svc lives in inst. */
void lh_services_init(struct lh_host_services *svc, struct lh_instance *inst);

#endif
