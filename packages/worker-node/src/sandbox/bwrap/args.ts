import { lstatSync, readlinkSync } from "node:fs";
import { dirname, isAbsolute } from "node:path";
import { invalidArgument } from "../../errors.js";
import { LAUNCHER_IN_SANDBOX, SECCOMP_FD, STATUS_FD } from "./launcher.js";
import { OPEN_NETWORK_BWRAP_ARGS } from "./open-network.js";
import type { ReadOnlyBind } from "../driver.js";
import type { SlotView, SystemBind } from "./mounts/system-view.js";

/**
 * The exec chain of a sandboxed job, built as one argv (no shell string is ever built from job data):
 *
 *   /bin/sh -c '<join the cgroups; set rlimits; exec "$@">' sh        (empty environment, as root)
 *     bwrap --unshare-pid ... --seccomp 3 --bind <session> <session> -- (root, no user namespace)
 *       sandbox-launcher U G <cwd> 4 <n> K=V... argv...                  (closes fds, forks, reports on fd 4)
 *         argv...                                                       (the job, as U, no capabilities)
 *
 * - The sh wrapper puts itself into the session cgroups before it execs bwrap, so nothing of the
 *   job runs outside them, even for an instant; its `ulimit` builtins set the rlimits for free
 *   (prlimit(1) would be one more exec for the same syscalls).
 * - The launcher (launcher.ts, native/sandbox-launcher.c) applies the job's environment only in the
 *   child it has dropped to the slot uid: anything applied earlier (bwrap --setenv) would let a job's
 *   LD_PRELOAD run while still root. It is static, so no dynamic loader runs as root in there either.
 *   The chdir is also done as the job's uid, because bwrap keeps no CAP_DAC_OVERRIDE to enter a 0700
 *   dir owned by the job.
 */

export interface SandboxTools {
  sh: string;
  bwrap: string;
  /** The launcher on the host; bound read-only at LAUNCHER_IN_SANDBOX. */
  launcher: string;
}

export interface SandboxCommandSpec {
  tools: SandboxTools;
  /** From `systemMountArgs()`, computed once per driver, with each `--ro-bind` source from `systemBinds`. */
  systemMounts: readonly string[];
  /** The slot's private view of the system files (system-view.ts); empty: the host's own paths. */
  systemBinds: SlotView;
  sessionDir: string;
  uid: number;
  gid: number;
  network: "restricted" | "open";
  /** cgroup.procs files to join before bwrap starts. */
  cgroupProcsFiles: readonly string[];
  rlimits: { nofile: number; fileSizeBytes: number; nproc: number };
  /** bwrap reads a seccomp program from SECCOMP_FD (the driver writes it there). */
  seccomp: boolean;
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  cwd: string;
  /** ExecSpec.readOnlyBinds. */
  readOnlyBinds: readonly ReadOnlyBind[];
}

/**
 * Paths the sandbox builds itself: a session dir under one of them would be hidden or exposed.
 * /tmp is not among them: it is bound first, so a session under /tmp is bound over it afterwards
 * (bwrap then creates the session's parents inside the session's own /tmp, on its tmpfs).
 */
const RESERVED = ["/dev", "/proc", "/sys", "/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

export function assertSandboxableSessionDir(sessionDir: string): void {
  for (const r of RESERVED) {
    if (sessionDir === r || sessionDir.startsWith(`${r}/`)) {
      throw new Error(`session.base_dir must not be under ${r} with the bwrap driver (the sandbox mounts its own ${r}), got ${sessionDir}`);
    }
  }
}

/**
 * Read-only system dirs: /usr and /etc bound, the merged-usr links (/bin -> usr/bin...) recreated
 * as links, or bound when the host has real directories there. Nothing else of the host is visible.
 */
export function systemMountArgs(extraReadOnly: readonly string[] = []): string[] {
  const args: string[] = [];
  for (const path of ["/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]) {
    let st;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) args.push("--symlink", readlinkSync(path), path);
    else if (st.isDirectory()) args.push("--ro-bind", path, path);
  }
  for (const path of extraReadOnly) {
    if (!isAbsolute(path)) throw new Error(`sandbox read-only path must be absolute, got ${path}`);
    args.push("--ro-bind", path, path);
  }
  return args;
}

/** `--ro-bind P P` pairs of `systemMountArgs()` with the source the slot's view gives for P. */
function withSources(args: readonly string[], binds: readonly SystemBind[]): string[] {
  const sources = new Map(binds.map((b) => [b.target, b.source]));
  return args.map((arg, i) => (args[i - 1] === "--ro-bind" && args[i + 1] === arg ? (sources.get(arg) ?? arg) : arg));
}

/** POSIX single-quoting for the few worker-made paths embedded in the wrapper script. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function wrapperScript(procsFiles: readonly string[], rlimits: SandboxCommandSpec["rlimits"]): string {
  const join =
    procsFiles.length === 0
      ? ""
      : `{ ${procsFiles.map((f) => `echo $$ >${shellQuote(f)}`).join(" && ")}; } 2>/dev/null || ` +
        `{ echo 'opencode-worker sandbox: cannot join the session cgroup' >&2; exit 125; }; `;
  // dash: -f is in 512-byte blocks, -p is RLIMIT_NPROC; without -H/-S both soft and hard are set.
  const limits =
    `ulimit -c 0 && ulimit -n ${rlimits.nofile} && ulimit -f ${Math.max(1, Math.floor(rlimits.fileSizeBytes / 512))} && ` +
    `ulimit -p ${rlimits.nproc} || { echo 'opencode-worker sandbox: cannot set rlimits' >&2; exit 125; }; `;
  return `${join}${limits}exec "$@"`;
}

function validateExec(argv: readonly string[], env: Readonly<Record<string, string>>, cwd: string): void {
  const command = argv[0];
  if (command === undefined || command === "") throw invalidArgument("argv", "must name a command");
  if (argv.some((a) => a.includes("\0"))) throw invalidArgument("argv", "must not contain NUL bytes");
  for (const [key, value] of Object.entries(env)) {
    if (key === "" || key.includes("=") || key.includes("\0")) {
      throw invalidArgument(`env[${JSON.stringify(key)}]`, "a variable name must be non-empty, without '=' or NUL");
    }
    if (value.includes("\0")) throw invalidArgument(`env[${JSON.stringify(key)}]`, "must not contain NUL bytes");
  }
  if (!isAbsolute(cwd)) throw invalidArgument("cwd", `must be absolute, got ${JSON.stringify(cwd)}`);
}

/** Ancestors of `dir` below "/" (and other than /tmp, already a mount), outermost first. */
function ancestors(dir: string): string[] {
  const out: string[] = [];
  for (let d = dirname(dir); d !== "/" && d !== "."; d = dirname(d)) if (d !== "/tmp") out.unshift(d);
  return out;
}

export function buildSandboxCommand(spec: SandboxCommandSpec): { file: string; args: string[] } {
  validateExec(spec.argv, spec.env, spec.cwd);
  const session = spec.sessionDir;
  const bwrap = [
    spec.tools.bwrap,
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    // OPEN too: its namespace is connected to the outside world only (open-network.ts).
    ...(spec.network === "restricted" ? ["--unshare-net"] : OPEN_NETWORK_BWRAP_ARGS),
    "--die-with-parent",
    "--new-session",
    "--hostname",
    "sandbox",
    // Only what the launcher needs to drop to the slot uid; it then clears even these.
    "--cap-drop",
    "ALL",
    "--cap-add",
    "CAP_SETUID",
    "--cap-add",
    "CAP_SETGID",
    "--cap-add",
    "CAP_SETPCAP",
    ...withSources(spec.systemMounts, spec.systemBinds.system),
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    // Over the nodes --dev bound from the host (their inodes, and so their locks, would be shared).
    ...spec.systemBinds.devices.flatMap((d) => ["--dev-bind", d.source, d.target]),
    // /tmp and /dev/shm live on the session tmpfs: they count against its byte and inode quota.
    "--bind",
    `${session}/tmp`,
    "/tmp",
    "--bind",
    `${session}/tmp`,
    "/dev/shm",
    // bwrap would create the session's parents 0700 root, which the job could not traverse.
    ...ancestors(session).flatMap((d) => ["--perms", "0755", "--dir", d]),
    "--bind",
    session,
    session,
    // Their parents first, 0755 (the launcher's too, /run/opencode-worker): the job's uid runs what lies there.
    ...spec.readOnlyBinds.flatMap((b) => ancestors(b.target).flatMap((d) => ["--perms", "0755", "--dir", d])),
    ...spec.readOnlyBinds.flatMap((b) => ["--ro-bind", b.source, b.target]),
    "--ro-bind",
    spec.tools.launcher,
    LAUNCHER_IN_SANDBOX,
    ...(spec.seccomp ? ["--seccomp", String(SECCOMP_FD)] : []),
    "--",
    LAUNCHER_IN_SANDBOX,
    String(spec.uid),
    String(spec.gid),
    spec.cwd,
    String(STATUS_FD),
    String(Object.keys(spec.env).length),
    ...Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    ...spec.argv,
  ];
  return {
    file: spec.tools.sh,
    args: ["-c", wrapperScript(spec.cgroupProcsFiles, spec.rlimits), "sh", ...bwrap],
  };
}
