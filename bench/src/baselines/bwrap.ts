/**
 * The floor of the sandboxed job: bubblewrap with every namespace, the host read-only, nothing else.
 * The worker's bwrap driver does more (tmpfs, uid switch, cgroups, session binds); this is what any
 * bwrap-based sandbox pays at least.
 */
export const BWRAP_TRUE_ARGV = ["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "/bin/true"] as const;
