/* error.c - see error.h. */
#include "error.h"

#include <layerhost/backend.h>

#include <string.h>

const char *lh_strerror(int code)
{
	static const char *const domain[] = {
		[LH_ENOLOCATION - LH_ENOLOCATION] = "no free location",
		[LH_ETOOLARGE - LH_ENOLOCATION] = "too large for this backend",
		[LH_ENOTATTACHED - LH_ENOLOCATION] = "not attached",
		[LH_ENOCONTROLLERS - LH_ENOLOCATION] = "no controllers configured",
		[LH_EBADDISK - LH_ENOLOCATION] = "not a usable disk",
		[LH_EVERSION - LH_ENOLOCATION] = "unknown version",
		[LH_ECORRUPT - LH_ENOLOCATION] = "malformed data",
		[LH_EUNSUPPORTED - LH_ENOLOCATION] = "not supported",
		[LH_EDRIVER - LH_ENOLOCATION] = "the driver failed the request",
		[LH_ECONFIG - LH_ENOLOCATION] = "bad configuration",
		[LH_EREFUSED - LH_ENOLOCATION] = "refused",
	};
	int c = code < 0 ? -code : code;

	if (c >= LH_ENOLOCATION && c < LH_ESTATUS_END)
		return domain[c - LH_ENOLOCATION];
	return strerror(c);
}
