/*
 * report.h - what the CLI prints: mounted containers and the host's
 * status, built once as JSON and printed either as JSON or as text.
 */
#ifndef LH_REPORT_H
#define LH_REPORT_H

#include "pipeline.h"

#include <stdio.h>

/* {"id","kind","rootfs","scratch":{...},"layers":[{...}]} */
cJSON *lh_report_container(const struct lh_mounted *m);
/* {"uvm":{...},"backends":[{"name","attachments":[...]}],"containers":[...]} */
cJSON *lh_report_status(struct lh_host *host);

void lh_report_print_container(FILE *out, const cJSON *container);
void lh_report_print_status(FILE *out, const cJSON *status);
/* Print JSON, pretty, followed by a newline. */
void lh_report_print_json(FILE *out, const cJSON *json);

#endif
