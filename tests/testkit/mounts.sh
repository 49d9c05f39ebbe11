# mounts.sh - sourced by the shell tests that make real mounts: take down
# whatever a test left under its folder, so that a failed run leaves no
# mount or loop device behind.

# unmount_under DIR: every mount point below DIR (the deepest first, a few
# rounds for stacked ones), then every loop device backed by a file below it.
unmount_under() {
	local dir=$1 f
	for _ in 1 2 3 4; do
		grep -F " $dir/" /proc/self/mountinfo | awk '{print $5}' | sort -r |
			xargs -r -n1 umount -l 2>/dev/null
	done
	for f in /sys/block/loop*/loop/backing_file; do
		grep -qF "$dir/" "$f" 2>/dev/null &&
			losetup -d "/dev/$(basename "$(dirname "$(dirname "$f")")")"
	done
	return 0
}
