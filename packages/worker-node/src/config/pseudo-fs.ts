/**
 * The name of a kernel file system for a statfs(2) type (its magic number, linux/magic.h), or
 * undefined for one that stores files. The directories of these file systems are views of kernel
 * state, not storage: mkdir there fails, creates a kernel object (a cgroup, a resctrl group, a
 * configfs item) or never settles (Node's recursive mkdir loops for ever under /proc).
 *
 * Self-contained (the table is inside): the base dir probe passes its source to a child process.
 */
export function pseudoFileSystemName(type: number): string | undefined {
  const names: Record<number, string> = {
    0x9fa0: "proc",
    0x62656572: "sysfs",
    0x27e0eb: "cgroup",
    0x63677270: "cgroup2",
    0x64626720: "debugfs",
    0x73636673: "securityfs",
    0x1cd1: "devpts",
    0x74726163: "tracefs",
    0xcafe4a11: "bpf",
    0x62656570: "configfs",
    0x6165676c: "pstore",
    0xde5e81e4: "efivarfs",
    0xf97cff8c: "selinuxfs",
    0x43415d53: "smackfs",
    0x65735543: "fusectl",
    0x42494e4d: "binfmt_misc",
    0x6e736673: "nsfs",
    0x19800202: "mqueue",
    0x7655821: "resctrl",
    0x958458f6: "hugetlbfs",
  };
  // f_type is a signed long: a magic number above 2^31 comes out negative on 32-bit systems.
  return names[type >>> 0];
}
