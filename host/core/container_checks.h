/*
 * container_checks.h - refusals of a container's folders that need more
 * than a look at each one alone (lh_pipeline_validate calls them before
 * any request): a layer listed twice, a system folder offered to a guest
 * as a WCOW layer, a host-mode scratch that is a system folder or on a
 * read-only filesystem.
 */
#ifndef LH_CONTAINER_CHECKS_H
#define LH_CONTAINER_CHECKS_H

#include "config.h"

/* Refuse a layer folder listed twice (by its identity: "a", "a/." and a
 * symlink to a are one), naming both places. -EINVAL. */
int lh_check_layers_distinct(const struct lh_container_config *c, struct lh_error *err);

/* Refuse a WCOW layer folder that is / or one of the host's system
 * folders (/etc, /usr, /usr/lib, ...): a WCOW layer is shared with the
 * guest as it is. -EPERM naming the layer and the folder. */
int lh_check_wcow_layers(const struct lh_container_config *c, struct lh_error *err);

/* Refuse a host-mode scratch folder on a read-only filesystem (the
 * overlay's upper and work folders go there). -EROFS. */
int lh_check_scratch_writable(const struct lh_container_config *c, struct lh_error *err);

/* Refuse a host-mode scratch folder that is / or one of the host's system
 * folders, as for WCOW layers: the overlay writes into it and empties
 * its work/work. -LH_EREFUSED naming the scratch and the folder. */
int lh_check_scratch_not_system(const struct lh_container_config *c, struct lh_error *err);

#endif
