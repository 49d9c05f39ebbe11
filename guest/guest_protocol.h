/*
 * guest_protocol.h - the wire protocol between layerhost and its guest
 * agent, shared by both sides (guest/agent/ and the host's client,
 * host/drivers/qemu/agent.c). Facts only: names, keys, limits.
 *
 * Transport. One virtio-serial port named LH_GUEST_PORT_NAME: QEMU serves
 * it on the host as a unix socket (a chardev socket, server=on), the guest
 * sees it as /dev/vportNpM, found by name under /sys/class/virtio-ports.
 * The port is a byte stream that survives host clients coming and going:
 * while no host client is connected the guest reads EOF and retries; what
 * a host client writes before the agent has opened the port waits in the
 * socket until it does.
 *
 * Framing. Newline-delimited JSON: every message is one JSON object on
 * one line, UTF-8, ended by '\n' (JSON escapes every newline inside a
 * string, so '\n' never occurs within a message). A line may be at most
 * LH_GUEST_LINE_MAX bytes with its newline, in either direction. Chosen
 * over length prefixes because a human can read and type the stream (socat
 * to the socket), and because a reader that lost its place (a host client
 * that disconnected half way) finds the next message at the next newline.
 *
 * Requests (host -> agent) carry an "id", a positive integer below 2^53
 * chosen by the host and unique within a connection, and an "op":
 *
 *   {"id":1,"op":"ping"}
 *      -> {"id":1,"ok":true,"agent":"layerhost-agent","version":1,
 *          "generation":0,"uptime_ms":3481,"kernel":"6.1.0-57-amd64",
 *          "modules_failed":[]}
 *   {"id":2,"op":"modify","request":{ModificationRequest}}
 *      hcsshim's guestrequest.ModificationRequest {RequestType,
 *      ResourceType, Settings} exactly as the host's GuestRequest member
 *      carries it (see "Modify" below).
 *      -> {"id":2,"ok":true, detail members}
 *   {"id":3,"op":"exec","argv":["cat","/etc/motd"],"root":"/run/gcs/c/web/rootfs",
 *    "env":["PATH=/bin"],"cwd":"/","stdin":"...","timeout_ms":10000,
 *    "max_output":65536}
 *      run argv[0] (searched in PATH unless it holds a '/') with argv, in
 *      "root" as its root directory when given (chroot), and capture its
 *      output. Only "argv" is required; timeout_ms and max_output absent
 *      or 0 take the defaults below. A command that ran is "ok" whatever
 *      its status; one that could not start (not found, no such root) is
 *      an error. The agent runs one request at a time: a long exec delays
 *      the requests behind it.
 *      -> {"id":3,"ok":true,"exit_code":0,"signal":0,"timed_out":false,
 *          "stdout":"runtime\n","stderr":"","stdout_truncated":false,
 *          "stderr_truncated":false,"duration_ms":12}
 *   {"id":4,"op":"poweroff"}
 *      -> {"id":4,"ok":true}, then the guest syncs and powers off (QEMU,
 *      run with -no-reboot, exits).
 *
 * Replies (agent -> host) carry the request's "id" (null when the request
 * could not be read far enough to know it) and "ok". A failure is
 *   {"id":N,"ok":false,"error":"mount /dev/sdb on /run/mounts/scsi/m0 (ext4,
 *    ro,noload): Invalid argument: no ext4 filesystem on /dev/sdb","errno":22}
 * where "error" names the operation, the object (device, path) and the
 * system's error text, and "errno" (present when a system call failed) is
 * the guest's errno value. The agent answers every request it reads, in
 * the order it read them, one at a time: every wait inside it is bounded
 * (below), so an answer always comes.
 *
 * Events (agent -> host, unsolicited, no "id"):
 *   {"event":"ready","agent":"layerhost-agent","version":1,"generation":K}
 * sent when the agent has opened the port, if a host client is connected
 * then (otherwise it is dropped). "generation" counts agent starts in this
 * boot (0 first; the guest's init restarts an agent that died). A host
 * waiting for a reply that sees a ready event of a new generation knows
 * the agent restarted: a request the dead agent had read is lost (see the
 * client for how it tells). Hosts must ignore events they do not know.
 *
 * Sessions. A host client may connect at any time, and may find replies
 * to an earlier client's requests still in the stream. It therefore starts
 * with a ping of a fresh id and discards everything before that ping's
 * reply (requests are answered in order), and picks ids that an earlier
 * client did not use (the host client starts from a random base).
 *
 * Modify. The agent does what hcsshim's guest (GCS) does for each
 * ResourceType, with hcsshim's JSON field names; keys match as Go's
 * encoding/json matches them (case-insensitively, the last duplicate wins)
 * and absent numbers are 0 (hcsshim omits zero values):
 *  - MappedVirtualDisk (LCOWMappedVirtualDisk {MountPath, Lun, Controller,
 *    Partition, ReadOnly, Options, Filesystem, EnsureFilesystem, BlockDev,
 *    Encrypted, VerityInfo}) Add: find the disk at Controller:Lun (the
 *    virtio-scsi controller at PCI slot 0x2+Controller, LUN Lun), mount it
 *    at MountPath (Filesystem, default ext4; Options as mount options;
 *    ReadOnly adds ro,noload). A writable disk with no filesystem at all
 *    (blank), or without the one EnsureFilesystem asks for, is formatted
 *    ext4 first. Remove: unmount MountPath, remove the folder.
 *    Detail: "device", "formatted".
 *  - SCSIDevice ({Controller, Lun}) Remove: delete the disk in the guest
 *    (before the host unplugs it, so the guest does not write to a gone
 *    disk). A disk that is not there is already removed.
 *  - VPMemDevice (LCOWMappedVPMemDevice {DeviceNumber, MountPath,
 *    MappingInfo}) Add: find /dev/pmemN behind PCIe root port
 *    DeviceNumber (slot 0x8 + n/8, function n%8), mount it read-only at
 *    MountPath, with DAX when the device is 2 MiB-aligned and the
 *    filesystem's blocks are pages, else through a raw namespace without
 *    DAX. MappingInfo (several layers in one device) is refused. Remove:
 *    unmount. Detail: "device", "dax", "raw".
 *  - CombinedLayers (LCOWCombinedLayers {ContainerID, ContainerRootPath,
 *    Layers[{Path}], ScratchPath}) Add: overlay at ContainerRootPath with
 *    lowerdir = the Layers' paths joined with ':', so Layers[0] is the
 *    TOPMOST layer (hcsshim's reading; OCI layerFolders are topmost first),
 *    upperdir ScratchPath/upper, workdir ScratchPath/work; no ScratchPath:
 *    a read-only overlay. Remove: unmount ContainerRootPath.
 *  - MappedDirectory (LCOWMappedDirectory {MountPath, ShareName, ReadOnly,
 *    Port}) Add: mount the virtio-fs share whose tag is ShareName at
 *    MountPath (read-only as asked; Port, a Plan 9 port in hcsshim, is
 *    ignored). Remove: unmount.
 * An Update, or a ResourceType not listed, is refused naming it. Removals
 * of what is not mounted succeed (a retried release); an Add whose disk is
 * mounted at MountPath already succeeds (a retried Add), one that finds
 * anything else mounted there is refused (EBUSY) rather than hiding it; an
 * Add that fails leaves no mount and no folder of its own behind.
 *
 * Bounded waits (the transient conditions measured on QEMU + TCG, see
 * ../shared/GUEST-FACTS.md): a hot-plugged disk or pmem device appearing
 * (LH_GUEST_DEVICE_WAIT_MS), mount failing with ENXIO shortly after the
 * disk appeared (LH_GUEST_ENXIO_WAIT_MS), a virtio-fs mount failing with
 * EINVAL until the device has bound (LH_GUEST_VIRTIOFS_WAIT_MS). Nothing
 * else is retried. Formatting a blank scratch is not bounded by these: a
 * host should allow LH_GUEST_MODIFY_TIMEOUT_MS for a modify.
 */
#ifndef LH_GUEST_PROTOCOL_H
#define LH_GUEST_PROTOCOL_H

/* The virtserialport name= of the agent's port. */
#define LH_GUEST_PORT_NAME "layerhost.agent"
/* Protocol version, in ping replies and ready events. */
#define LH_GUEST_PROTOCOL_VERSION 1
#define LH_GUEST_AGENT_NAME "layerhost-agent"

/* Longest message, newline included, either way. */
#define LH_GUEST_LINE_MAX (4u * 1024 * 1024)

/* Message keys. */
#define LH_GUEST_KEY_ID "id"
#define LH_GUEST_KEY_OP "op"
#define LH_GUEST_KEY_OK "ok"
#define LH_GUEST_KEY_ERROR "error"
#define LH_GUEST_KEY_ERRNO "errno"
#define LH_GUEST_KEY_EVENT "event"
#define LH_GUEST_KEY_GENERATION "generation"
#define LH_GUEST_KEY_VERSION "version"
#define LH_GUEST_KEY_REQUEST "request" /* modify: the ModificationRequest */

/* Operations. */
#define LH_GUEST_OP_PING "ping"
#define LH_GUEST_OP_MODIFY "modify"
#define LH_GUEST_OP_EXEC "exec"
#define LH_GUEST_OP_POWEROFF "poweroff"

/* Events. */
#define LH_GUEST_EVENT_READY "ready"

/* exec: request keys, reply keys and limits. */
#define LH_GUEST_EXEC_ARGV "argv"
#define LH_GUEST_EXEC_ENV "env"
#define LH_GUEST_EXEC_ROOT "root"
#define LH_GUEST_EXEC_CWD "cwd"
#define LH_GUEST_EXEC_STDIN "stdin"
#define LH_GUEST_EXEC_TIMEOUT "timeout_ms"
#define LH_GUEST_EXEC_MAX_OUTPUT "max_output"
#define LH_GUEST_EXEC_EXIT_CODE "exit_code" /* -1 when ended by a signal */
#define LH_GUEST_EXEC_SIGNAL "signal"       /* 0 unless ended by a signal */
#define LH_GUEST_EXEC_TIMED_OUT "timed_out" /* killed (SIGKILL) at the timeout */
#define LH_GUEST_EXEC_STDOUT "stdout"
#define LH_GUEST_EXEC_STDERR "stderr"
#define LH_GUEST_EXEC_STDOUT_TRUNCATED "stdout_truncated"
#define LH_GUEST_EXEC_STDERR_TRUNCATED "stderr_truncated"
#define LH_GUEST_EXEC_DURATION "duration_ms"
/* Output is text: bytes that are not UTF-8 (and NUL) arrive as U+FFFD. */
#define LH_GUEST_EXEC_ARGS_MAX 256
#define LH_GUEST_EXEC_TIMEOUT_DEFAULT_MS 10000
#define LH_GUEST_EXEC_TIMEOUT_MAX_MS 600000
#define LH_GUEST_EXEC_OUTPUT_DEFAULT (64u * 1024) /* bytes kept per stream */
#define LH_GUEST_EXEC_OUTPUT_MAX (1024u * 1024)
/* The default PATH of a command, in the UVM and in a container's root. A
 * command the container's root lacks is taken from the UVM (its static
 * toolbox) and run with the container's root as its root. */
#define LH_GUEST_EXEC_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Bounded waits inside the agent (milliseconds). */
#define LH_GUEST_DEVICE_WAIT_MS 5000
#define LH_GUEST_ENXIO_WAIT_MS 2000
#define LH_GUEST_VIRTIOFS_WAIT_MS 5000
/* What a host should allow for one request: a modify may format a disk. */
#define LH_GUEST_MODIFY_TIMEOUT_MS 60000
#define LH_GUEST_PING_TIMEOUT_MS 2000

#endif
