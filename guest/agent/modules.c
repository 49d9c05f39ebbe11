/* modules.c - load the guest's kernel modules, in the order the initramfs
 * lists them, with finit_module from this one process. */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MODULES_LIST "/etc/layerhost/modules"
#define MODULES_DIR "/lib/modules"

char *ga_modules_load(void)
{
	struct ga_buf failed = { 0 };
	int64_t t0 = ga_now_ms();
	FILE *list = fopen(MODULES_LIST, "re");
	char line[256];
	int loaded = 0, n_failed = 0;

	ga_buf_puts(&failed, "[");
	if (!list)
		ga_log("%s: %s: no modules loaded", MODULES_LIST, strerror(errno));
	while (list && fgets(line, sizeof(line), list)) {
		char path[sizeof(line) + 32];
		size_t n = strcspn(line, "\r\n#");
		int fd, e = 0;

		line[n] = '\0';
		while (n && line[n - 1] == ' ')
			line[--n] = '\0';
		if (!n)
			continue;
		/* The list is in dependency order (mkinitramfs.sh checks it),
		 * so no modules.dep is needed. */
		snprintf(path, sizeof(path), "%s/%s.ko", MODULES_DIR, line);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			e = errno;
		else if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
			e = errno;
		if (fd >= 0)
			close(fd);
		if (e) {
			ga_log("module %s: %s", path, strerror(e));
			ga_buf_puts(&failed, n_failed++ ? "," : "");
			ga_buf_json_string(&failed, line, n);
			continue;
		}
		loaded++;
	}
	if (list)
		fclose(list);
	ga_buf_puts(&failed, "]");
	ga_log("%d modules loaded in %lld ms%s", loaded, (long long)(ga_now_ms() - t0),
	       n_failed ? ", some failed" : "");
	if (failed.failed)
		return NULL;
	return failed.data;
}
