/*
 * test_import_tree.c - the importer's name cleaning and the layer rules
 * tree.c applies (whiteouts, opaque folders, duplicates, implicit parents,
 * hard links), on the tree directly: no tar, no image.
 */
#include "cutest.h"
#include "path.h"
#include "tree.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

/* ---- names ---------------------------------------------------------------- */

static void clean_ok(const char *in, const char *want)
{
	char out[512];
	const char *why = NULL;
	int rc = lh_path_clean(in, out, sizeof(out), &why);

	CU_ASSERT_EQUAL(rc, 0);
	if (rc == 0 && strcmp(out, want))
		fprintf(stderr, "\n  clean('%s') = '%s', want '%s'\n", in, out, want);
	CU_ASSERT(rc == 0 && strcmp(out, want) == 0);
}

static void test_path_clean(void)
{
	char out[600], name[300];
	const char *why;

	clean_ok("./usr//bin/", "usr/bin");
	clean_ok("usr/./bin/sh", "usr/bin/sh");
	clean_ok("a/b/../c", "a/c");
	clean_ok("a/..", "");
	clean_ok("./", "");
	clean_ok("", "");
	clean_ok("...", "...");
	clean_ok(".wh..wh..opq", ".wh..wh..opq");
	CU_ASSERT_EQUAL(lh_path_clean("/etc/passwd", out, sizeof(out), &why), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "absolute"));
	CU_ASSERT_EQUAL(lh_path_clean("../x", out, sizeof(out), &why), -EINVAL);
	CU_ASSERT_EQUAL(lh_path_clean("a/../../x", out, sizeof(out), &why), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "'..'"));
	memset(name, 'n', 255);
	name[255] = '\0';
	clean_ok(name, name);
	name[255] = 'n';
	name[256] = '\0';
	CU_ASSERT_EQUAL(lh_path_clean(name, out, sizeof(out), &why), -ENAMETOOLONG);
	CU_ASSERT_EQUAL(lh_path_clean("abcdef", out, 4, &why), -ENAMETOOLONG);
}

/* ---- the tree ------------------------------------------------------------ */

static struct lh_tree *tree;

static int apply(const char *path, enum lh_tree_kind kind, const char *target,
		 enum lh_tree_effect *effect, struct lh_error *err)
{
	struct lh_tree_entry e = {
		.path = path, .kind = kind, .perm = kind == LH_TREE_DIR ? 0755 : 0644,
		.target = target, .mtime = { 1700000000, 5 },
	};

	return lh_tree_apply(tree, &e, NULL, effect, err);
}

static int add(const char *path, enum lh_tree_kind kind)
{
	struct lh_error err = { 0 };
	int rc = apply(path, kind, kind == LH_TREE_SYMLINK ? "target" : NULL, NULL, &err);

	if (rc)
		fprintf(stderr, "\n  apply %s: %s\n", path, err.message);
	return rc;
}

static struct lh_tree_inode *at(const char *path)
{
	struct lh_tree_node *n = lh_tree_lookup(tree, path);

	return n ? n->inode : NULL;
}

static size_t children(const char *path)
{
	struct lh_tree_node *n = lh_tree_lookup(tree, path);
	size_t count = 0;

	for (n = n ? n->first_child : NULL; n; n = n->next_sibling)
		count++;
	return count;
}

static int setup(void)
{
	return lh_tree_create(&tree);
}

static int teardown(void)
{
	lh_tree_destroy(tree);
	tree = NULL;
	return 0;
}

static void fresh(void)
{
	teardown();
	CU_ASSERT_EQUAL_FATAL(setup(), 0);
}

static void test_implicit_parents(void)
{
	fresh();
	CU_ASSERT_EQUAL(add("a/b/c/file", LH_TREE_REG), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(at("a/b"));
	CU_ASSERT_EQUAL(at("a/b")->mode, S_IFDIR | 0755);
	CU_ASSERT_EQUAL(at("a/b")->uid, 0);
	CU_ASSERT_EQUAL(at("a/b")->mtime.sec, 1700000000);
	CU_ASSERT_EQUAL(lh_tree_stats(tree)->implicit_dirs, 3);
	/* the folder's own entry later: its attributes, its children kept */
	{
		struct lh_error err = { 0 };
		struct lh_tree_entry e = { .path = "a/b", .kind = LH_TREE_DIR, .perm = 0700,
					   .uid = 5 };

		CU_ASSERT_EQUAL(lh_tree_apply(tree, &e, NULL, NULL, &err), 0);
	}
	CU_ASSERT_EQUAL(at("a/b")->mode, S_IFDIR | 0700);
	CU_ASSERT_EQUAL(at("a/b")->uid, 5);
	CU_ASSERT_PTR_NOT_NULL(at("a/b/c/file"));
}

static void test_duplicates(void)
{
	struct lh_tree_inode *first;

	fresh();
	CU_ASSERT_EQUAL(add("etc/f", LH_TREE_REG), 0);
	first = at("etc/f");
	CU_ASSERT_EQUAL(add("etc/f", LH_TREE_SYMLINK), 0);
	CU_ASSERT_PTR_NOT_EQUAL(at("etc/f"), first);
	CU_ASSERT(S_ISLNK(at("etc/f")->mode));
	CU_ASSERT_EQUAL(children("etc"), 1);
	/* a file over a folder drops the folder's subtree */
	CU_ASSERT_EQUAL(add("d/x/y", LH_TREE_REG), 0);
	CU_ASSERT_EQUAL(add("d", LH_TREE_REG), 0);
	CU_ASSERT(S_ISREG(at("d")->mode));
	CU_ASSERT_PTR_NULL(lh_tree_lookup(tree, "d/x"));
	CU_ASSERT_EQUAL(lh_tree_stats(tree)->replaced, 2);
}

static void test_whiteouts(void)
{
	enum lh_tree_effect effect;
	struct lh_error err = { 0 };

	fresh();
	CU_ASSERT_EQUAL(apply("etc/.wh.gone", LH_TREE_REG, NULL, &effect, &err), 0);
	CU_ASSERT_EQUAL(effect, LH_TREE_WHITEOUT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(at("etc/gone"));
	CU_ASSERT(at("etc/gone")->whiteout);
	CU_ASSERT_EQUAL(at("etc/gone")->mode, S_IFCHR);
	CU_ASSERT_EQUAL(at("etc/gone")->rdev_major + at("etc/gone")->rdev_minor, 0);
	CU_ASSERT_PTR_NULL(lh_tree_lookup(tree, "etc/.wh.gone"));

	/* a same-layer file stays, whichever comes first */
	CU_ASSERT_EQUAL(add("etc/keep", LH_TREE_REG), 0);
	CU_ASSERT_EQUAL(apply("etc/.wh.keep", LH_TREE_REG, NULL, &effect, &err), 0);
	CU_ASSERT_EQUAL(effect, LH_TREE_SKIPPED);
	CU_ASSERT(!at("etc/keep")->whiteout);
	CU_ASSERT_EQUAL(apply("etc/.wh.early", LH_TREE_REG, NULL, &effect, &err), 0);
	CU_ASSERT_EQUAL(add("etc/early", LH_TREE_REG), 0);
	CU_ASSERT(!at("etc/early")->whiteout && S_ISREG(at("etc/early")->mode));

	/* a same-layer folder becomes opaque: the lower one stays hidden */
	CU_ASSERT_EQUAL(add("var/d/x", LH_TREE_REG), 0);
	CU_ASSERT_EQUAL(apply("var/.wh.d", LH_TREE_REG, NULL, &effect, &err), 0);
	CU_ASSERT_EQUAL(effect, LH_TREE_OPAQUE);
	CU_ASSERT(at("var/d")->opaque);
	CU_ASSERT_EQUAL(apply("opt/.wh.d", LH_TREE_REG, NULL, &effect, &err), 0);
	CU_ASSERT_EQUAL(add("opt/d/new", LH_TREE_REG), 0); /* its parent replaces the whiteout */
	CU_ASSERT(S_ISDIR(at("opt/d")->mode) && at("opt/d")->opaque);

	/* opaque markers, aufs bookkeeping, names that name nothing */
	CU_ASSERT_EQUAL(apply("srv/.wh..wh..opq", LH_TREE_REG, NULL, &effect, &err), 0);
	CU_ASSERT_EQUAL(effect, LH_TREE_OPAQUE);
	CU_ASSERT(at("srv")->opaque);
	CU_ASSERT_EQUAL(children("srv"), 0);
	CU_ASSERT_EQUAL(apply(".wh..wh.plnk", LH_TREE_REG, NULL, &effect, &err), 0);
	CU_ASSERT_EQUAL(effect, LH_TREE_SKIPPED);
	CU_ASSERT_EQUAL(apply("etc/.wh.", LH_TREE_REG, NULL, &effect, &err), -EINVAL);
	ASSERT_MSG_HAS(err, "entry 'etc/.wh.': a whiteout that names no file");
}

static void test_hard_links(void)
{
	struct lh_error err = { 0 };

	fresh();
	CU_ASSERT_EQUAL(add("bin/tool", LH_TREE_REG), 0);
	CU_ASSERT_EQUAL(add("bin/sh", LH_TREE_SYMLINK), 0);
	CU_ASSERT_EQUAL(apply("bin/tool2", LH_TREE_HARDLINK, "bin/tool", NULL, &err), 0);
	CU_ASSERT_EQUAL(apply("bin/sh2", LH_TREE_HARDLINK, "bin/sh", NULL, &err), 0);
	CU_ASSERT_PTR_EQUAL(at("bin/tool2"), at("bin/tool"));
	CU_ASSERT_EQUAL(at("bin/tool")->names, 2);
	CU_ASSERT(S_ISLNK(at("bin/sh2")->mode));
	/* the original replaced: the link keeps the old inode */
	CU_ASSERT_EQUAL(add("bin/tool", LH_TREE_REG), 0);
	CU_ASSERT_PTR_NOT_EQUAL(at("bin/tool2"), at("bin/tool"));
	CU_ASSERT_EQUAL(at("bin/tool2")->names, 1);
	/* a link over the folder holding its target */
	CU_ASSERT_EQUAL(add("x/y", LH_TREE_REG), 0);
	CU_ASSERT_EQUAL(apply("x", LH_TREE_HARDLINK, "x/y", NULL, &err), 0);
	CU_ASSERT(S_ISREG(at("x")->mode));
	CU_ASSERT_EQUAL(at("x")->names, 1);

	CU_ASSERT_EQUAL(apply("l1", LH_TREE_HARDLINK, "missing", NULL, &err), -ENOENT);
	ASSERT_MSG_HAS(err, "entry 'l1': hard link to 'missing', which is not in this layer");
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(apply("l2", LH_TREE_HARDLINK, "bin", NULL, &err), -EPERM);
	ASSERT_MSG_HAS(err, "hard link to the directory 'bin'");
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(add("w/.wh.z", LH_TREE_REG), 0);
	CU_ASSERT_EQUAL(apply("l3", LH_TREE_HARDLINK, "w/z", NULL, &err), -EPERM);
	ASSERT_MSG_HAS(err, "hard link to the whiteout 'w/z'");
	CU_ASSERT_PTR_NULL(lh_tree_lookup(tree, "l1"));
}

static void test_refusals_change_nothing(void)
{
	struct lh_error err = { 0 };
	uint64_t implicit;

	fresh();
	CU_ASSERT_EQUAL(add("f", LH_TREE_REG), 0);
	implicit = lh_tree_stats(tree)->implicit_dirs;
	CU_ASSERT_EQUAL(apply("f/g/h", LH_TREE_REG, NULL, NULL, &err), -EEXIST);
	ASSERT_MSG_HAS(err, "entry 'f/g/h': 'f' is not a directory in this layer");
	CU_ASSERT_EQUAL(lh_tree_stats(tree)->implicit_dirs, implicit);
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(apply("", LH_TREE_REG, NULL, NULL, &err), -EEXIST);
	ASSERT_MSG_HAS(err, "the layer's root must be a directory");
	/* the root's own entry sets its attributes */
	CU_ASSERT_EQUAL(add("", LH_TREE_DIR), 0);
	CU_ASSERT_EQUAL(lh_tree_root(tree)->inode->mode, S_IFDIR | 0755);
}

static void test_deep_tree_freed(void)
{
	char path[20001];

	/* 10,000 levels: freeing must not recurse */
	fresh();
	for (int i = 0; i < 10000; i++)
		memcpy(path + 2 * i, "d/", 2);
	strcpy(path + 19999, "f");
	CU_ASSERT_EQUAL(add(path, LH_TREE_REG), 0);
	CU_ASSERT_EQUAL(add("d", LH_TREE_REG), 0); /* drops all 10,000 */
	CU_ASSERT_PTR_NULL(lh_tree_lookup(tree, "d/d"));
}

int main(void)
{
	static const struct cutest_case path_cases[] = {
		{ "lh_path_clean", test_path_clean },
		{ NULL, NULL },
	};
	static const struct cutest_case tree_cases[] = {
		{ "missing parents made, then their own entry", test_implicit_parents },
		{ "a later duplicate replaces an earlier one", test_duplicates },
		{ "whiteouts and opaque folders", test_whiteouts },
		{ "hard links", test_hard_links },
		{ "a refused entry changes nothing", test_refusals_change_nothing },
		{ "a 10,000-deep tree is freed", test_deep_tree_freed },
		{ NULL, NULL },
	};
	static const struct cutest_suite suites[] = {
		{ "import names", path_cases, NULL, NULL },
		{ "import tree", tree_cases, setup, teardown },
		{ NULL, NULL, NULL, NULL },
	};

	return cutest_run_suites(suites, NULL);
}
