/*
 * replay.c - run a fuzz target's LLVMFuzzerTestOneInput over every file of
 * the folders or files named on the command line, so the committed seed
 * corpus (and any crash reproducer) is checked by every compiler, with or
 * without libFuzzer.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;
	int rc = 1;

	if (!f) {
		perror(path);
		return 1;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		/* Exactly sized, so an over-read is caught by valgrind / ASan. */
		buf = malloc(n ? (size_t)n : 1);
		if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
			LLVMFuzzerTestOneInput(buf, (size_t)n);
			rc = 0;
		}
	}
	free(buf);
	fclose(f);
	if (rc)
		fprintf(stderr, "%s: cannot read\n", path);
	return rc;
}

int main(int argc, char **argv)
{
	char path[4096];
	size_t files = 0;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *dir;
		struct dirent *e;

		if (stat(argv[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
			rc |= replay_file(argv[i]);
			files++;
			continue;
		}
		dir = opendir(argv[i]);
		while (dir && (e = readdir(dir)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			rc |= replay_file(path);
			files++;
		}
		if (dir)
			closedir(dir);
	}
	printf("replayed %zu inputs\n", files);
	return rc || files == 0;
}
