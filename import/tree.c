/* tree.c - see tree.h. */
#include "tree.h"
#include "path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WH_PREFIX ".wh."
#define WH_PREFIX_LEN 4
#define WH_META_PREFIX ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"

/* Nodes and inodes come from chunks freed with the tree: a layer's entries
 * are many and small, and almost all live as long as the tree. */
struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

struct lh_tree {
	struct lh_tree_node *root;
	struct arena_chunk *arena;
	/* the folder the last entry went into: tars list a folder's entries
	 * together, so most parents need no walk from the root */
	char *cached_dir;
	size_t cached_len, cached_cap;
	struct lh_tree_node *cached_node;
	struct lh_tree_node **buckets; /* children of every directory, by (parent, name) */
	size_t n_buckets, n_nodes;
	struct lh_tree_stats stats;
	int64_t newest;
};

/* ---- nodes and inodes -------------------------------------------------- */

#define ARENA_CHUNK (256u * 1024)

/* Zeroed memory living as long as the tree. */
static void *arena_alloc(struct lh_tree *t, size_t size)
{
	struct arena_chunk *c = t->arena;
	void *p;

	size = (size + 15) & ~(size_t)15;
	if (!c || c->cap - c->used < size) {
		size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = t->arena;
		c->used = 0;
		c->cap = cap;
		t->arena = c;
	}
	p = c->data + c->used;
	c->used += size;
	return memset(p, 0, size);
}

static void arena_free(struct lh_tree *t)
{
	while (t->arena) {
		struct arena_chunk *next = t->arena->next;

		free(t->arena);
		t->arena = next;
	}
}

static uint32_t name_hash(const struct lh_tree_node *parent, const char *name, size_t len)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)parent;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
	return (uint32_t)(h ^ (h >> 32));
}

static struct lh_tree_inode *inode_new(struct lh_tree *t, uint32_t mode)
{
	struct lh_tree_inode *ino = arena_alloc(t, sizeof(*ino));

	if (ino)
		ino->mode = mode;
	return ino;
}

/* Drop a name's reference; the last one frees what the inode owns (the
 * inode itself is the arena's). */
static void inode_unref(struct lh_tree_inode *ino)
{
	if (!ino || --ino->names > 0)
		return;
	for (uint32_t i = 0; i < ino->n_xattrs; i++) {
		free(ino->xattrs[i].name);
		free(ino->xattrs[i].value);
	}
	free(ino->xattrs);
	if (ino->extents != &ino->extent0)
		free(ino->extents);
	free(ino->target);
	ino->xattrs = NULL;
	ino->extents = NULL;
	ino->target = NULL;
	ino->n_xattrs = ino->n_extents = ino->cap_extents = 0;
}

static void hash_insert(struct lh_tree *t, struct lh_tree_node *n)
{
	size_t b = n->hash & (t->n_buckets - 1);

	n->hash_next = t->buckets[b];
	t->buckets[b] = n;
	t->n_nodes++;
}

static void hash_remove(struct lh_tree *t, struct lh_tree_node *n)
{
	struct lh_tree_node **p = &t->buckets[n->hash & (t->n_buckets - 1)];

	while (*p && *p != n)
		p = &(*p)->hash_next;
	if (*p)
		*p = n->hash_next;
	t->n_nodes--;
}

/* Keep chains short: double the table when it holds as many nodes as buckets. */
static int hash_grow(struct lh_tree *t)
{
	size_t n = t->n_buckets * 2;
	struct lh_tree_node **b;

	if (t->n_nodes < t->n_buckets)
		return 0;
	b = calloc(n, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_buckets; i++) {
		struct lh_tree_node *c = t->buckets[i], *next;

		for (; c; c = next) {
			next = c->hash_next;
			c->hash_next = b[c->hash & (n - 1)];
			b[c->hash & (n - 1)] = c;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->n_buckets = n;
	return 0;
}

static struct lh_tree_node *child_find(const struct lh_tree *t, const struct lh_tree_node *dir,
				       const char *name, size_t len)
{
	uint32_t h = name_hash(dir, name, len);

	for (struct lh_tree_node *c = t->buckets[h & (t->n_buckets - 1)]; c; c = c->hash_next)
		if (c->hash == h && c->parent == dir && c->name_len == len &&
		    memcmp(c->name, name, len) == 0)
			return c;
	return NULL;
}

/* A new child of dir named name[0..len), naming ino (a reference is taken). */
static struct lh_tree_node *child_add(struct lh_tree *t, struct lh_tree_node *dir,
				      const char *name, size_t len, struct lh_tree_inode *ino)
{
	struct lh_tree_node *n;

	if (hash_grow(t))
		return NULL;
	n = arena_alloc(t, sizeof(*n) + len + 1);
	if (!n)
		return NULL;
	memcpy(n->name, name, len);
	n->name_len = (uint16_t)len;
	n->parent = dir;
	n->hash = name_hash(dir, name, len);
	n->inode = ino;
	ino->names++;
	if (dir->last_child)
		dir->last_child->next_sibling = n;
	else
		dir->first_child = n;
	dir->last_child = n;
	hash_insert(t, n);
	return n;
}

/* Free everything below dir (not dir itself), without recursion: a tar
 * can nest directories deeper than any stack. Post-order: a node whose
 * children are gone is freed, then its next sibling, else its parent. */
static void free_children(struct lh_tree *t, struct lh_tree_node *dir)
{
	struct lh_tree_node *n = dir->first_child, *next;

	dir->first_child = dir->last_child = NULL;
	t->cached_node = NULL; /* it may be one of those going */
	while (n) {
		if (n->first_child) {
			next = n->first_child;
			n->first_child = n->last_child = NULL;
			n = next;
			continue;
		}
		next = n->next_sibling ? n->next_sibling : (n->parent != dir ? n->parent : NULL);
		hash_remove(t, n);
		inode_unref(n->inode);
		n = next;
	}
}

/* Give node a new inode, dropping what it named (and its subtree). */
static void node_replace(struct lh_tree *t, struct lh_tree_node *n, struct lh_tree_inode *ino)
{
	ino->names++; /* first: a hard link may name an inode inside n's subtree */
	free_children(t, n);
	t->cached_node = NULL; /* n may have been the cached folder */
	inode_unref(n->inode);
	n->inode = ino;
	t->stats.replaced++;
}

/* ---- attributes ---------------------------------------------------------- */

static int copy_xattrs(struct lh_tree_inode *ino, const struct lh_xattr *x, uint32_t n)
{
	struct lh_xattr *a = n ? calloc(n, sizeof(*a)) : NULL;
	uint32_t kept = 0;

	if (n && !a)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t j;

		/* a name given twice: the later value wins */
		for (j = 0; j < kept && strcmp(a[j].name, x[i].name); j++)
			;
		if (j == kept) {
			a[j].name = strdup(x[i].name);
			if (!a[j].name)
				goto nomem;
			kept++;
		}
		free(a[j].value);
		a[j].value = malloc(x[i].len ? x[i].len : 1);
		if (!a[j].value)
			goto nomem;
		memcpy(a[j].value, x[i].value, x[i].len);
		a[j].len = x[i].len;
	}
	for (uint32_t i = 0; i < ino->n_xattrs; i++) {
		free(ino->xattrs[i].name);
		free(ino->xattrs[i].value);
	}
	free(ino->xattrs);
	ino->xattrs = a;
	ino->n_xattrs = kept;
	return 0;
nomem:
	for (uint32_t i = 0; i < n; i++) {
		free(a[i].name);
		free(a[i].value);
	}
	free(a);
	return -ENOMEM;
}

static uint32_t kind_mode(enum lh_tree_kind kind)
{
	switch (kind) {
	case LH_TREE_DIR: return S_IFDIR;
	case LH_TREE_SYMLINK: return S_IFLNK;
	case LH_TREE_CHR: return S_IFCHR;
	case LH_TREE_BLK: return S_IFBLK;
	case LH_TREE_FIFO: return S_IFIFO;
	default: return S_IFREG;
	}
}

static void set_times(struct lh_tree_inode *ino, const struct lh_tree_entry *e)
{
	ino->atime = e->atime;
	ino->mtime = e->mtime;
	ino->ctime = e->ctime;
}

/* An inode carrying e's attributes (not yet linked anywhere). */
static struct lh_tree_inode *inode_from_entry(struct lh_tree *t, const struct lh_tree_entry *e)
{
	struct lh_tree_inode *ino = inode_new(t, kind_mode(e->kind) | (e->perm & 07777));

	if (!ino)
		return NULL;
	ino->uid = e->uid;
	ino->gid = e->gid;
	set_times(ino, e);
	ino->rdev_major = e->rdev_major;
	ino->rdev_minor = e->rdev_minor;
	if (e->kind == LH_TREE_REG)
		ino->size = e->size;
	if (e->kind == LH_TREE_SYMLINK) {
		ino->target = strdup(e->target ? e->target : "");
		if (!ino->target)
			goto fail;
		ino->size = strlen(ino->target);
	}
	if (copy_xattrs(ino, e->xattrs, e->n_xattrs))
		goto fail;
	return ino;
fail:
	ino->names = 1;
	inode_unref(ino);
	return NULL;
}

static struct lh_tree_inode *implicit_dir(struct lh_tree *t, const struct lh_tree_entry *e)
{
	struct lh_tree_inode *ino = inode_new(t, S_IFDIR | 0755);

	if (ino)
		ino->atime = ino->mtime = ino->ctime = e->mtime;
	return ino;
}

static struct lh_tree_inode *whiteout_inode(struct lh_tree *t, const struct lh_tree_entry *e)
{
	struct lh_tree_inode *ino = inode_new(t, S_IFCHR);

	if (ino) {
		ino->whiteout = true;
		ino->atime = ino->mtime = ino->ctime = e->mtime;
	}
	return ino;
}

static bool is_dir(const struct lh_tree_node *n)
{
	return S_ISDIR(n->inode->mode);
}

/* ---- applying entries ---------------------------------------------------- */

/*
 * The directory at path[0..len), made (with its missing parents) when
 * absent. A same-layer whiteout in the way becomes an opaque directory:
 * the lower one stays hidden, this layer's entries show.
 */
static int ensure_dir(struct lh_tree *t, const char *path, size_t len,
		      const struct lh_tree_entry *e, struct lh_tree_node **out,
		      struct lh_error *err)
{
	struct lh_tree_node *dir = t->root;
	size_t pos = 0;

	if (t->cached_node && t->cached_len == len && memcmp(t->cached_dir, path, len) == 0) {
		*out = t->cached_node;
		return 0;
	}
	while (pos < len) {
		const char *name = path + pos;
		const char *slash = memchr(name, '/', len - pos);
		size_t n = slash ? (size_t)(slash - name) : len - pos;
		struct lh_tree_node *c = child_find(t, dir, name, n);

		if (!c || c->inode->whiteout) {
			struct lh_tree_inode *ino = implicit_dir(t, e);

			if (!ino)
				return LH_FAIL(err, -ENOMEM, "entry '%s': out of memory", e->path);
			if (c) {
				ino->opaque = true;
				node_replace(t, c, ino);
			} else if (!(c = child_add(t, dir, name, n, ino))) {
				ino->names = 1;
				inode_unref(ino);
				return LH_FAIL(err, -ENOMEM, "entry '%s': out of memory", e->path);
			}
			t->stats.implicit_dirs++;
		} else if (!is_dir(c)) {
			return LH_FAIL(err, -EEXIST, "entry '%s': '%.*s' is not a directory in this layer",
				       e->path, (int)(pos + n), path);
		}
		dir = c;
		pos += n + 1;
	}
	if (len + 1 > t->cached_cap) {
		char *p = realloc(t->cached_dir, len + 64);

		if (!p)
			goto done; /* no cache then: nothing wrong */
		t->cached_dir = p;
		t->cached_cap = len + 64;
	}
	memcpy(t->cached_dir, path, len);
	t->cached_len = len;
	t->cached_node = dir;
done:
	*out = dir;
	return 0;
}

/*
 * Checks that need no change to the tree come first, so that a failing
 * entry leaves the tree as it was (parents are only made once the entry is
 * known to be good).
 */
static int check_entry(struct lh_tree *t, const struct lh_tree_entry *e,
		       struct lh_tree_inode **link_to, struct lh_error *err)
{
	struct lh_tree_node *target;

	*link_to = NULL;
	if (e->path[0] == '\0' && e->kind != LH_TREE_DIR)
		return LH_FAIL(err, -EEXIST, "entry '.': the layer's root must be a directory");
	if (e->kind != LH_TREE_HARDLINK)
		return 0;
	target = lh_tree_lookup(t, e->target ? e->target : "");
	if (!target || !e->target || !e->target[0])
		return LH_FAIL(err, -ENOENT,
			       "entry '%s': hard link to '%s', which is not in this layer before it",
			       e->path, e->target ? e->target : "");
	if (is_dir(target))
		return LH_FAIL(err, -EPERM, "entry '%s': hard link to the directory '%s'", e->path,
			       e->target);
	if (target->inode->whiteout)
		return LH_FAIL(err, -EPERM, "entry '%s': hard link to the whiteout '%s'", e->path,
			       e->target);
	*link_to = target->inode;
	return 0;
}

static int apply_whiteout(struct lh_tree *t, const struct lh_tree_entry *e, size_t parent_len,
			  const char *base, enum lh_tree_effect *effect, struct lh_error *err)
{
	const char *name = base + WH_PREFIX_LEN;
	size_t n = strlen(name);
	struct lh_tree_node *dir, *c;
	struct lh_tree_inode *ino;
	int rc;

	if (strcmp(base, WH_OPAQUE) == 0) {
		rc = ensure_dir(t, e->path, parent_len, e, &dir, err);
		if (rc == 0) {
			dir->inode->opaque = true;
			t->stats.opaque++;
			*effect = LH_TREE_OPAQUE;
		}
		return rc;
	}
	if (strncmp(base, WH_META_PREFIX, strlen(WH_META_PREFIX)) == 0) {
		*effect = LH_TREE_SKIPPED; /* aufs bookkeeping (.wh..wh.plnk and the like) */
		t->stats.skipped++;
		return 0;
	}
	if (n == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return LH_FAIL(err, -EINVAL, "entry '%s': a whiteout that names no file", e->path);
	rc = ensure_dir(t, e->path, parent_len, e, &dir, err);
	if (rc)
		return rc;
	c = child_find(t, dir, name, n);
	if (c) {
		/* this layer's own entry stays; a directory hides the lower one */
		if (is_dir(c) && !c->inode->opaque) {
			c->inode->opaque = true;
			t->stats.opaque++;
			*effect = LH_TREE_OPAQUE;
		} else {
			*effect = LH_TREE_SKIPPED;
			t->stats.skipped++;
		}
		return 0;
	}
	ino = whiteout_inode(t, e);
	if (!ino || !child_add(t, dir, name, n, ino))
		return LH_FAIL(err, -ENOMEM, "entry '%s': out of memory", e->path);
	t->stats.whiteouts++;
	*effect = LH_TREE_WHITEOUT;
	return 0;
}

int lh_tree_apply(struct lh_tree *t, const struct lh_tree_entry *e,
		  struct lh_tree_inode **data_inode, enum lh_tree_effect *effect,
		  struct lh_error *err)
{
	enum lh_tree_effect dummy;
	struct lh_tree_inode *link_to, *ino = NULL;
	struct lh_tree_node *dir, *c;
	const char *base;
	size_t parent_len;
	int rc;

	if (data_inode)
		*data_inode = NULL;
	if (!effect)
		effect = &dummy;
	*effect = LH_TREE_ADDED;
	rc = check_entry(t, e, &link_to, err);
	if (rc)
		return rc;
	if (t->stats.entries++ == 0 && !t->root->inode->mtime.sec)
		t->root->inode->atime = t->root->inode->mtime = t->root->inode->ctime = e->mtime;
	if (e->mtime.sec > t->newest)
		t->newest = e->mtime.sec;

	if (e->path[0] == '\0') { /* "./": the root's own attributes */
		set_times(t->root->inode, e);
		t->root->inode->mode = S_IFDIR | (e->perm & 07777);
		t->root->inode->uid = e->uid;
		t->root->inode->gid = e->gid;
		return copy_xattrs(t->root->inode, e->xattrs, e->n_xattrs)
			       ? LH_FAIL(err, -ENOMEM, "entry '.': out of memory")
			       : 0;
	}
	parent_len = lh_path_split(e->path, &base);
	if (strncmp(base, WH_PREFIX, WH_PREFIX_LEN) == 0)
		return apply_whiteout(t, e, parent_len, base, effect, err);

	rc = ensure_dir(t, e->path, parent_len, e, &dir, err);
	if (rc)
		return rc;
	c = child_find(t, dir, base, strlen(base));
	if (link_to) {
		if (c && c->inode == link_to)
			return 0; /* a link to itself */
		if (c) {
			node_replace(t, c, link_to);
		} else if (!child_add(t, dir, base, strlen(base), link_to)) {
			return LH_FAIL(err, -ENOMEM, "entry '%s': out of memory", e->path);
		}
		return 0;
	}
	if (c && e->kind == LH_TREE_DIR && is_dir(c)) {
		/* a directory again: new attributes, same children */
		c->inode->mode = S_IFDIR | (e->perm & 07777);
		c->inode->uid = e->uid;
		c->inode->gid = e->gid;
		set_times(c->inode, e);
		if (copy_xattrs(c->inode, e->xattrs, e->n_xattrs))
			return LH_FAIL(err, -ENOMEM, "entry '%s': out of memory", e->path);
		return 0;
	}
	ino = inode_from_entry(t, e);
	if (!ino)
		return LH_FAIL(err, -ENOMEM, "entry '%s': out of memory", e->path);
	if (c) {
		/* a directory over this layer's whiteout hides the lower directory */
		if (c->inode->whiteout && e->kind == LH_TREE_DIR)
			ino->opaque = true;
		node_replace(t, c, ino);
	} else if (!child_add(t, dir, base, strlen(base), ino)) {
		ino->names = 1;
		inode_unref(ino);
		return LH_FAIL(err, -ENOMEM, "entry '%s': out of memory", e->path);
	}
	if (data_inode && e->kind == LH_TREE_REG)
		*data_inode = ino;
	return 0;
}

/* ---- lookups and lifetime ---------------------------------------------- */

struct lh_tree_node *lh_tree_lookup(struct lh_tree *t, const char *path)
{
	struct lh_tree_node *n = t->root;

	while (n && *path) {
		const char *slash = strchr(path, '/');
		size_t len = slash ? (size_t)(slash - path) : strlen(path);

		n = child_find(t, n, path, len);
		path += len + (slash != NULL);
	}
	return n;
}

struct lh_tree_node *lh_tree_root(struct lh_tree *t)
{
	return t->root;
}

const struct lh_tree_stats *lh_tree_stats(const struct lh_tree *t)
{
	return &t->stats;
}

int64_t lh_tree_newest(const struct lh_tree *t)
{
	return t->newest;
}

int lh_tree_create(struct lh_tree **out)
{
	struct lh_tree *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return -ENOMEM;
	t->n_buckets = 1024;
	t->buckets = calloc(t->n_buckets, sizeof(*t->buckets));
	t->root = arena_alloc(t, sizeof(*t->root) + 1);
	if (t->root)
		t->root->inode = inode_new(t, S_IFDIR | 0755);
	if (!t->buckets || !t->root || !t->root->inode) {
		arena_free(t);
		free(t->buckets);
		free(t);
		return -ENOMEM;
	}
	t->root->inode->names = 1;
	*out = t;
	return 0;
}

void lh_tree_destroy(struct lh_tree *t)
{
	if (!t)
		return;
	free_children(t, t->root);
	inode_unref(t->root->inode);
	arena_free(t);
	free(t->cached_dir);
	free(t->buckets);
	free(t);
}
