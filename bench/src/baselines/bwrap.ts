/**
 * The floor of the sandboxed job: bubblewrap with every namespace, the host read-only, nothing else.
 * The worker's bwrap driver does more (tmpfs, uid switch, cgroups, session binds); this is what any
 * bwrap-based sandbox pays at least.
 */
export const BWRAP_TRUE_ARGV = ["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "/bin/true"] as const;

/** The same with the sandbox's seccomp filter, which bwrap reads from fd 3. */
export const BWRAP_SECCOMP_TRUE_ARGV = [...BWRAP_TRUE_ARGV.slice(0, -1), "--seccomp", "3", "/bin/true"] as const;
