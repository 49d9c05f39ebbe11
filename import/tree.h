/*
 * tree.h - one layer's file tree, held in memory while its tar streams by,
 * so that directories are written once at the end (adding names to an
 * on-disk directory one at a time costs O(entries) each) and so that the
 * image-spec's rules can be applied whatever order the entries come in:
 *
 *  - a later entry replaces an earlier one of the same path (a directory
 *    over a directory only updates its attributes and keeps its children);
 *  - ".wh.NAME" becomes the overlay whiteout NAME (char device 0:0, mode
 *    0000, owner 0:0); ".wh..wh..opq" marks its directory opaque;
 *  - a whiteout never hides an entry of its own layer: it only hides lower
 *    layers, so a same-layer directory of that name becomes opaque instead,
 *    and a same-layer non-directory stays as it is;
 *  - missing parent directories are created as mode 0755, owner 0:0, with
 *    the mtime of the entry that needed them (deterministic);
 *  - a hard link names an inode already in the tree (a symlink too, never
 *    a directory or a whiteout).
 *
 * The structures are public to the converter's other files (the ext4 writer
 * walks them); only tree.c changes the links between nodes.
 */
#ifndef LH_IMPORT_TREE_H
#define LH_IMPORT_TREE_H

#include <layerhost/backend.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lh_tree_time {
	int64_t sec;
	uint32_t nsec;
};

struct lh_xattr {
	char *name; /* full name, "user.x", "security.capability" */
	void *value;
	size_t len;
};

/* A run of a file's blocks: logical block lblk on maps to physical pblk on. */
struct lh_extent {
	uint64_t lblk;
	uint64_t pblk;
	uint32_t len;
};

struct lh_tree_inode {
	uint32_t mode; /* S_IFMT and the permission bits, setuid/setgid/sticky included */
	uint32_t uid, gid;
	struct lh_tree_time atime, mtime, ctime;
	uint64_t size; /* regular files: the apparent size */
	uint32_t rdev_major, rdev_minor;
	char *target;               /* symlinks: the target, owned */
	struct lh_extent *extents;  /* by ascending lblk: &extent0, or owned */
	uint32_t n_extents, cap_extents;
	struct lh_extent extent0;   /* most files have one extent: no allocation */
	uint64_t data_blocks;       /* blocks the extents cover */
	struct lh_xattr *xattrs;    /* owned, names unique */
	uint32_t n_xattrs;
	uint32_t names;             /* tree nodes naming this inode */
	bool opaque;                /* directories: trusted.overlay.opaque = "y" */
	bool whiteout;              /* made from a .wh.NAME entry */
	/* The ext4 writer's: the inode number, child directories, and where the
	 * inode's metadata blocks go: meta_blocks of content (a directory's
	 * entries, a long symlink's target) from meta_pblk on, then tree_blocks
	 * of extent tree. */
	uint32_t ino;
	uint32_t subdirs;
	uint64_t meta_pblk;
	uint32_t meta_blocks;
	uint32_t tree_blocks;
};

struct lh_tree_node {
	struct lh_tree_node *parent;
	struct lh_tree_node *first_child, *last_child, *next_sibling; /* entry order */
	struct lh_tree_node *hash_next;
	struct lh_tree_inode *inode; /* shared by hard links */
	uint32_t hash;
	uint16_t name_len;
	char name[]; /* NUL-terminated; "" for the root */
};

enum lh_tree_kind {
	LH_TREE_REG,
	LH_TREE_DIR,
	LH_TREE_SYMLINK,
	LH_TREE_CHR,
	LH_TREE_BLK,
	LH_TREE_FIFO,
	LH_TREE_HARDLINK,
};

/* One tar entry, as lh_tree_apply takes it. Everything is copied. */
struct lh_tree_entry {
	const char *path; /* cleaned by lh_path_clean; "" is the root */
	enum lh_tree_kind kind;
	uint32_t perm; /* 07777 */
	uint32_t uid, gid;
	struct lh_tree_time atime, mtime, ctime;
	uint64_t size; /* regular files: apparent size */
	uint32_t rdev_major, rdev_minor;
	const char *target; /* symlink target; hard links: the cleaned path linked to */
	const struct lh_xattr *xattrs;
	uint32_t n_xattrs;
};

/* What lh_tree_apply did with an entry. */
enum lh_tree_effect {
	LH_TREE_ADDED,    /* a new or replacing node, or a directory's new attributes */
	LH_TREE_WHITEOUT, /* a whiteout node made */
	LH_TREE_OPAQUE,   /* a directory marked opaque */
	LH_TREE_SKIPPED,  /* nothing to do: a whiteout of a same-layer file, aufs metadata */
};

struct lh_tree_stats {
	uint64_t entries, whiteouts, opaque, replaced, skipped, implicit_dirs;
};

struct lh_tree;

/* A tree holding only the root directory. 0 or -ENOMEM. */
int lh_tree_create(struct lh_tree **out);

/* Free the tree, every node and inode. NULL is accepted. */
void lh_tree_destroy(struct lh_tree *t);

/*
 * Apply one entry. For a regular file *data_inode (may be NULL) receives
 * the new inode the caller fills with the file's data (the tree keeps
 * owning it); for anything else it is set to NULL. *effect (may be NULL)
 * says what happened. Errors, each naming the entry: -EEXIST for a path
 * whose parent is not a directory or a root entry that is not one,
 * -ENOENT for a hard link to a path not (yet) in this layer, -EPERM for a
 * hard link to a directory or a whiteout, -EINVAL for a whiteout naming
 * nothing, -ENOMEM. The tree is unchanged by a failed call.
 */
int lh_tree_apply(struct lh_tree *t, const struct lh_tree_entry *e,
		  struct lh_tree_inode **data_inode, enum lh_tree_effect *effect,
		  struct lh_error *err);

/* The root node (its inode is the root directory). */
struct lh_tree_node *lh_tree_root(struct lh_tree *t);

/* The node at a cleaned path, or NULL. */
struct lh_tree_node *lh_tree_lookup(struct lh_tree *t, const char *path);

const struct lh_tree_stats *lh_tree_stats(const struct lh_tree *t);

/* The latest mtime of any entry applied (0 before any). */
int64_t lh_tree_newest(const struct lh_tree *t);

#endif
