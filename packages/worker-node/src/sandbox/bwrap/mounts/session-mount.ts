import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { MountHelper, MountHelperUnavailable } from "./mount-helper.js";
import { readMountInfo } from "./mountinfo.js";

const execFileAsync = promisify(execFile);

/**
 * The per-session tmpfs: the session's whole disk (work, output, home, and /tmp inside the
 * sandbox), limited in bytes AND in inodes (threat model fact 6: 100,000 empty files fit in a
 * bytes-only tmpfs). Node has no mount(2): the syscalls go through the long-lived MountHelper, or
 * through mount(8)/umount(8) (about 11 ms each from node here) where the helper is unavailable.
 * Pages written here are RAM and are charged to the writer's memory cgroup: a job's files count
 * against its memory limit as well as the disk limit.
 */

/** The tmpfs "device" name: marks our mounts in /proc/self/mountinfo for the sweep. */
export const SESSION_MOUNT_SOURCE = "opencode-session";

const TOOL_ENV = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" };

/** A system tool by name, in the usual dirs (the worker may run with an empty PATH). */
export function findTool(name: string): string {
  for (const dir of ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]) {
    if (existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return name;
}

const MOUNT = findTool("mount");
const UMOUNT = findTool("umount");

let helper: MountHelper | undefined;
let helperStarts = 0;
/** Set to false to force mount(8)/umount(8) (tests compare both paths). */
export const mountBackend = { useHelper: true };

/** The running helper; restarted if it died, given up after a few tries. */
function currentHelper(): MountHelper | undefined {
  if (!mountBackend.useHelper) return undefined;
  if ((!helper || !helper.alive) && helperStarts < 3) {
    helperStarts += 1;
    helper = MountHelper.start();
  }
  return helper?.alive ? helper : undefined;
}

/** Starts the helper ahead of the first session (the probe does, while it checks bwrap). */
export function warmUpMountHelper(): void {
  currentHelper();
}

/** Runs `viaHelper` when the helper can serve it, else `viaTool`; a real syscall error is thrown as is. */
async function withHelper<T>(viaHelper: (h: MountHelper) => Promise<T>, viaTool: () => Promise<T>): Promise<T> {
  const h = currentHelper();
  if (h) {
    try {
      return await viaHelper(h);
    } catch (error) {
      if (!(error instanceof MountHelperUnavailable)) throw error;
    }
  }
  return viaTool();
}

export interface MountRequest {
  source: string;
  target: string;
  fstype: string;
  /** mount(2) flags (MS in mount-helper.ts). */
  flags: number;
  data: string;
}

/** mount(2) through the helper, else mount(8) with `toolArgs` (the same mount in its words). */
export async function mountWith(request: MountRequest, toolArgs: readonly string[]): Promise<void> {
  const { source, target, fstype, flags, data } = request;
  await withHelper(
    (h) => h.mount(source, target, fstype, flags, data),
    async () => {
      await execFileAsync(MOUNT, ["-n", ...toolArgs], { env: TOOL_ENV });
    },
  );
}

/** One inode per 4 KiB of quota, at least 1,024 and at most 1,048,576. */
export function tmpfsInodeLimit(maxDiskBytes: number): number {
  return Math.min(1_048_576, Math.max(1024, Math.floor(maxDiskBytes / 4096)));
}

export interface TmpfsOptions {
  sizeBytes: number;
}

/**
 * Mounts the session tmpfs on `dir` (which must exist). Its root stays the worker's (root, 0711):
 * the job can enter its own subdirs but cannot rename them, swap `output` for a link, or touch
 * what the worker wrote beside them.
 */
export async function mountSessionTmpfs(dir: string, options: TmpfsOptions): Promise<void> {
  const size = Math.max(4096, Math.floor(options.sizeBytes));
  const data = [`size=${size}`, `nr_inodes=${tmpfsInodeLimit(size)}`, "mode=0711"].join(",");
  await withHelper(
    (h) => h.mountTmpfs(SESSION_MOUNT_SOURCE, dir, data),
    async () => {
      // The same flags as the helper's TMPFS_FLAGS.
      const opts = `${data},nosuid,nodev,noatime`;
      await execFileAsync(MOUNT, ["-n", "-t", "tmpfs", "-o", opts, SESSION_MOUNT_SOURCE, dir], { env: TOOL_ENV });
    },
  );
}

/** Unmounts; falls back to a lazy detach when something still holds it. Never throws. */
export async function unmountSession(dir: string): Promise<"unmounted" | "detached lazily" | "not mounted" | "failed"> {
  const umount = (lazy: boolean): Promise<void> =>
    withHelper(
      (h) => h.umount(dir, lazy),
      async () => {
        await execFileAsync(UMOUNT, lazy ? ["-n", "-l", dir] : ["-n", dir], { env: TOOL_ENV });
      },
    );
  try {
    await umount(false);
    return "unmounted";
  } catch {
    if (!(await isMountPoint(dir))) return "not mounted";
  }
  try {
    await umount(true);
    return "detached lazily";
  } catch {
    return "failed";
  }
}

export async function isMountPoint(dir: string): Promise<boolean> {
  return (await readMountInfo()).some((m) => m.mountPoint === dir);
}

/** Our session tmpfs mounts directly under `baseDir`, deepest last mounted first. */
export async function sessionMountsUnder(baseDir: string): Promise<string[]> {
  const prefix = baseDir.endsWith("/") ? baseDir : `${baseDir}/`;
  return (await readMountInfo())
    .filter((m) => m.mountPoint.startsWith(`${prefix}session-`) && !m.mountPoint.slice(prefix.length).includes("/"))
    .map((m) => m.mountPoint)
    .reverse();
}
