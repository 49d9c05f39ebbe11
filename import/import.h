/*
 * import.h - the `layerhost import` command: an OCI image layout's image
 * into layer folders a layerhost config mounts (importer.h does the work;
 * cli.c is the command line and what it prints).
 */
#ifndef LH_IMPORT_IMPORT_H
#define LH_IMPORT_IMPORT_H

enum {
	LH_IMPORT_EXIT_OK = 0,
	LH_IMPORT_EXIT_FAILED = 1, /* the image could not be imported */
	LH_IMPORT_EXIT_USAGE = 2,
};

/* Run `layerhost import ARGS...`: argv[0] is "import". Returns the exit
 * status. */
int lh_import_main(int argc, char **argv);

#endif
