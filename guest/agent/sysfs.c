/* sysfs.c - see sysfs.h. */
#include "sysfs.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ga_path(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			buf[0] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}

/* Whether name is a whole PCI address, DDDD:BB:DD.F. */
static bool sysfs_is_pci_address(const char *name)
{
	unsigned domain, bus, dev, fn;
	int end = 0;

	return sscanf(name, "%4x:%2x:%2x.%1x%n", &domain, &bus, &dev, &fn, &end) == 4 &&
	       name[end] == '\0';
}

int ga_sysfs_child(const char *dir, const char *prefix, char *out, size_t cap)
{
	bool pci = strcmp(prefix, GA_SYSFS_PCI_DEVICE) == 0;
	size_t n = pci ? 0 : strlen(prefix);
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];
	struct stat st;
	int rc = -ENOENT;

	if (!d)
		return -ENOENT;
	while ((e = readdir(d))) {
		/* Folders only: beside region0/namespace0.0 lives the file
		 * region0/namespace_seed. */
		if (strncmp(e->d_name, prefix, n) != 0 || e->d_name[0] == '.' ||
		    (pci && !sysfs_is_pci_address(e->d_name)) ||
		    strlen(e->d_name) >= cap ||
		    ga_path(path, sizeof(path), "%s/%s", dir, e->d_name) || stat(path, &st) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		strcpy(out, e->d_name);
		rc = 0;
		break;
	}
	closedir(d);
	return rc;
}

bool ga_sysfs_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

int ga_sysfs_read(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	if (n < 0) {
		rc = -errno;
		n = 0;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	close(fd);
	return rc;
}

int ga_sysfs_write(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc = 0;
	size_t n = strlen(value);

	if (fd < 0)
		return -errno;
	if (write(fd, value, n) != (ssize_t)n)
		rc = errno ? -errno : -EIO;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}
