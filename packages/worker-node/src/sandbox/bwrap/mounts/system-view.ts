import { execFile } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { mkdir, readdir, readFile, rm, rmdir, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { MS } from "./mount-helper.js";
import { parseMountInfo, type MountEntry } from "./mountinfo.js";
import { findTool, mountWith, SESSION_MOUNT_SOURCE, unmountSession } from "./session-mount.js";

const execFileAsync = promisify(execFile);

/**
 * A private view of the host's system files per slot uid, against covert channels through them.
 *
 * A bind mount shares inodes, and flock(2), POSIX (F_SETLK/F_GETLK) and OFD locks and inotify
 * watches live on the inode: with /usr bound into every sandbox, a lock a job holds on
 * /usr/bin/env is seen by a job of another session trying the same lock, and a watch sees the
 * other session open the file. The same holds for the device nodes bwrap binds from the host's
 * /dev (/dev/null...). A read-only overlay has inodes of its own, so neither a lock nor an event
 * passes from one overlay to another. Jobs of one slot uid run one after the other (every process
 * of the earlier job is dead, its locks gone), so one set of overlays per slot uid closes these
 * channels, mounted on the slot's first use and reused after that.
 *
 * Layout under `<baseDir>/.system`: `slot-<uid>/<n>` is the overlay of `paths[n]` and `slot-<uid>/dev`
 * the overlay of `devices`, nodes made with the host's numbers; `empty` is the empty second layer
 * overlayfs wants when there is no upper dir; `probe` serves the probe. Overlayfs does not cross
 * mounts, so each directory mounted below a path gets an overlay of its own inside the view and
 * each mounted file (Docker's /etc/resolv.conf) a read-only bind: locks on those files stay shared,
 * and `description` says so.
 *
 * An overlay caches what it has looked up: after the host replaces a file under /usr (a package
 * upgrade), an old overlay keeps serving the old file and misses new ones (measured here; the kernel
 * calls changes below a mounted overlay undefined). A slot's set is therefore remounted on its first
 * use after `maxAgeMs`, which bounds how long jobs may see a stale mix after an upgrade.
 */

/** The overlays' "device" name in /proc/self/mountinfo. */
export const SYSTEM_MOUNT_SOURCE = "opencode-system";

export const NO_OVERLAYFS = "advisory locks on system files are shared between sessions (no overlayfs)";

/** The nodes bwrap's `--dev` binds from the host. */
export const SANDBOX_DEVICES = ["null", "zero", "full", "random", "urandom", "tty"] as const;

/** One bind for bwrap: `source` is bound at `target` inside the sandbox. */
export interface SystemBind {
  source: string;
  target: string;
}

export interface SlotView {
  /** `--ro-bind source target`, one per path, in the order given. */
  system: SystemBind[];
  /** `--dev-bind source target` after bwrap's `--dev /dev`, over the nodes it bound from the host; empty when not overlaid. */
  devices: SystemBind[];
}

export interface SystemViewOptions {
  /** The worker's session.base_dir: the view lives in its `.system` dir. */
  baseDir: string;
  /** Host paths bound read-only into every sandbox (the `--ro-bind` sources of systemMountArgs). */
  paths: readonly string[];
  /** A slot's overlays are remounted on their first use after this age. @default 60000 */
  maxAgeMs?: number;
}

/** What one slot's dir holds: an overlay of `lower` at `<slot dir>/<name>`. */
interface Layer {
  lower: string;
  name: string;
  flags: number;
  /** How the description names it. */
  label: string;
}

const SYSTEM_FLAGS = MS.RDONLY | MS.NOSUID | MS.NODEV;
/** The device overlay must allow devices; its lower dir holds nothing else. */
const DEVICE_FLAGS = MS.RDONLY | MS.NOSUID;

/** overlayfs splits lowerdir on ':' and the options on ','; a backslash escapes either. */
export function escapeLayer(path: string): string {
  return path.replace(/[\\,:]/g, (c) => `\\${c}`);
}

function reasonOf(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  return typeof e.code === "string" ? e.code : (String(e.message ?? error).split("\n")[0] ?? "");
}

interface SlotSet {
  ready: Promise<SlotView>;
  mountedAt: number;
}

export class SystemView {
  private text = "";
  private readonly root: string;
  private readonly empty: string;
  /** paths[n] is served by the layer named String(n) when there is one, else bound as it is. */
  private layers: Layer[] = [];
  private readonly slots = new Map<number, SlotSet>();
  private closed = false;

  private constructor(
    private readonly baseDir: string,
    private readonly paths: readonly string[],
    private readonly maxAgeMs: number,
  ) {
    this.root = join(baseDir, ".system");
    this.empty = join(this.root, "empty");
  }

  /** One line for the probe: which locks are private to a slot uid and which stay shared. */
  get description(): string {
    return this.text;
  }

  /** Probes overlayfs on each path (mounts and unmounts it once) and sets `description`. */
  static async open(options: SystemViewOptions): Promise<SystemView> {
    const view = new SystemView(options.baseDir, options.paths, options.maxAgeMs ?? 60_000);
    await view.probe();
    return view;
  }

  private async probe(): Promise<void> {
    await mkdir(this.empty, { recursive: true, mode: 0o700 });
    const shared: string[] = [];
    const candidates: Layer[] = [];
    for (const [n, path] of this.paths.entries()) {
      const isDir = await stat(path).then(
        (s) => s.isDirectory(),
        () => false,
      );
      if (isDir) candidates.push({ lower: path, name: String(n), flags: SYSTEM_FLAGS, label: path });
      else shared.push(`${path} (not a directory)`);
    }
    const devices = await this.makeDeviceNodes().catch((error: unknown) => {
      shared.push(`/dev nodes (cannot create them: ${reasonOf(error)})`);
      return undefined;
    });
    if (devices) candidates.push({ lower: devices, name: "dev", flags: DEVICE_FLAGS, label: "/dev nodes" });

    const mounts = mountsNow();
    const probeDir = join(this.root, "probe");
    const bound = new Set<string>();
    for (const layer of candidates) {
      try {
        for (const file of await this.mountLayer(layer, probeDir, mounts)) bound.add(file);
        this.layers.push(layer);
      } catch (error) {
        if (!(await overlayfsKnown())) {
          this.layers = [];
          this.text = NO_OVERLAYFS;
          return;
        }
        shared.push(`${layer.label} (overlayfs refused it: ${reasonOf(error)})`);
      } finally {
        await this.unmountUnder(probeDir);
      }
    }
    const lines = [];
    const names = this.layers.map((l) => l.label);
    if (names.length > 0) lines.push(`advisory locks on ${names.join(", ")} are private to a slot uid (read-only overlays)`);
    if (bound.size > 0) shared.push(`${[...bound].join(", ")} (mounted files)`);
    if (shared.length > 0) lines.push(`advisory locks on ${shared.join(", ")} are shared between sessions`);
    this.text = lines.join("; ");
  }

  /** `.system/devices`: fresh nodes with the numbers and modes of the host's /dev entries. */
  private async makeDeviceNodes(): Promise<string> {
    const dir = join(this.root, "devices");
    // Only nodes this view made live there; a dead worker's are replaced.
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { mode: 0o755 });
    await Promise.all(
      SANDBOX_DEVICES.map(async (name) => {
        const host = await stat(`/dev/${name}`, { bigint: true });
        if (!host.isCharacterDevice()) throw new Error(`/dev/${name} is not a character device`);
        const { major, minor } = deviceNumbers(host.rdev);
        const mode = (Number(host.mode) & 0o777).toString(8);
        // Node has no mknod(2); coreutils' mknod, once per node, at start-up only.
        await execFileAsync(findTool("mknod"), ["-m", mode, join(dir, name), "c", String(major), String(minor)], { env: {} });
      }),
    );
    return dir;
  }

  /**
   * The binds for a job of `uid`: overlays private to that uid, mounted on its first use (once,
   * however many calls wait for it), or the host paths where overlayfs cannot serve. A caller binds
   * them before it asks again for the same uid: a set past `maxAgeMs` is replaced in place.
   */
  forSlot(uid: number): Promise<SlotView> {
    if (this.closed) return Promise.reject(new Error("sandbox: the system view is closed"));
    const current = this.slots.get(uid);
    if (current && performance.now() - current.mountedAt < this.maxAgeMs) return current.ready;
    const dir = join(this.root, `slot-${uid}`);
    const set: SlotSet = {
      mountedAt: performance.now(),
      ready: (async () => {
        if (current) {
          await current.ready.catch(() => undefined);
          await this.unmountUnder(dir);
        }
        try {
          return await this.mountSlot(dir);
        } catch (error) {
          await this.unmountUnder(dir);
          throw error;
        }
      })(),
    };
    this.slots.set(uid, set);
    // A failed set is forgotten, so the next call for this uid tries again.
    set.ready.catch(() => {
      if (this.slots.get(uid) === set) this.slots.delete(uid);
    });
    return set.ready;
  }

  private async mountSlot(dir: string): Promise<SlotView> {
    const mounts = this.layers.length > 0 ? mountsNow() : [];
    // All layers in flight at once: the helper takes them back to back, one round trip in all.
    const results = await Promise.allSettled(this.layers.map((layer) => this.mountLayer(layer, dir, mounts)));
    for (const r of results) if (r.status === "rejected") throw r.reason;
    const served = new Set(this.layers.map((l) => l.name));
    return {
      system: this.paths.map((path, n) =>
        served.has(String(n)) ? { source: join(dir, String(n)), target: path } : { source: path, target: path },
      ),
      devices: served.has("dev") ? SANDBOX_DEVICES.map((d) => ({ source: join(dir, "dev", d), target: `/dev/${d}` })) : [],
    };
  }

  /** Mounts `layer` at `<dir>/<name>`; returns the files bound as they are (see mountTree). */
  private async mountLayer(layer: Layer, dir: string, mounts: readonly MountEntry[]): Promise<string[]> {
    const target = join(dir, layer.name);
    // Synchronous: a mkdir is microseconds, a thread-pool round trip is not (see session-layout.ts).
    mkdirSync(target, { recursive: true, mode: 0o755 });
    return this.mountTree(layer.lower, target, layer.flags, mounts);
  }

  /**
   * A read-only overlay of `source` at `target`, then the same for each directory mounted below
   * `source` and a read-only bind of each file mounted there. Session tmpfs and views (this worker's
   * or another's under a system path) are left out. Returns the files bound.
   */
  private async mountTree(source: string, target: string, flags: number, mounts: readonly MountEntry[]): Promise<string[]> {
    const data = `lowerdir=${escapeLayer(source)}:${escapeLayer(this.empty)}`;
    const words = flags & MS.NODEV ? "ro,nosuid,nodev" : "ro,nosuid";
    await mountWith({ source: SYSTEM_MOUNT_SOURCE, target, fstype: "overlay", flags, data }, [
      "-t",
      "overlay",
      "-o",
      `${words},${data}`,
      SYSTEM_MOUNT_SOURCE,
      target,
    ]);
    const bound: string[] = [];
    for (const child of topMountsBelow(source, mounts, this.baseDir)) {
      const inside = join(target, relative(source, child));
      if ((await stat(child)).isDirectory()) {
        bound.push(...(await this.mountTree(child, inside, flags, mounts)));
        continue;
      }
      await mountWith({ source: child, target: inside, fstype: "", flags: MS.BIND, data: "" }, ["--bind", child, inside]);
      await mountWith({ source: "", target: inside, fstype: "", flags: MS.REMOUNT | MS.BIND | flags, data: "" }, [
        "-o",
        `remount,bind,${words}`,
        inside,
      ]);
      bound.push(child);
    }
    return bound;
  }

  /** Unmounts everything mounted under `dir`, deepest first; returns one line per mount. */
  private async unmountUnder(dir: string): Promise<string[]> {
    const lines: string[] = [];
    const mine = mountsNow()
      .filter((m) => m.mountPoint.startsWith(`${dir}/`))
      .reverse();
    for (const m of mine) lines.push(`${await unmountSession(m.mountPoint)} ${m.mountPoint}`);
    return lines;
  }

  /**
   * At start-up, before any job: unmounts what a dead worker left under `.system` and removes the
   * slot dirs (only empty dirs: a mount that would not go keeps its dir, and says so).
   */
  async sweep(): Promise<string[]> {
    this.slots.clear();
    const lines = await this.unmountUnder(this.root);
    for (const entry of await readdir(this.root).catch(() => [])) {
      if (!entry.startsWith("slot-") && entry !== "probe") continue;
      const dir = join(this.root, entry);
      for (const sub of await readdir(dir).catch(() => [])) {
        await rmdir(join(dir, sub)).catch((error: unknown) => lines.push(`cannot remove ${join(dir, sub)}: ${reasonOf(error)}`));
      }
      await rmdir(dir).catch(() => undefined);
    }
    return lines;
  }

  /** At shutdown: unmounts every overlay; a later forSlot is refused. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.slots.values()].map((s) => s.ready.catch(() => undefined)));
    this.slots.clear();
    await this.unmountUnder(this.root);
  }
}

/**
 * /proc/self/mountinfo, read synchronously: a few hundred lines take tens of microseconds, while
 * the async read of a /proc file (size 0, read chunk by chunk in the thread pool) took about 2 ms
 * here on a busy machine, the largest part of a slot's first use.
 */
function mountsNow(): MountEntry[] {
  return parseMountInfo(readFileSync("/proc/self/mountinfo", "utf8"));
}

/** glibc's gnu_dev_major/minor. */
function deviceNumbers(rdev: bigint): { major: bigint; minor: bigint } {
  return {
    major: ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn),
    minor: (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn),
  };
}

/**
 * Mount points below `dir`, outside `exclude`, not below one another (a recursive walk covers
 * those), leaving out the worker's own kinds (and all below them).
 */
function topMountsBelow(dir: string, mounts: readonly MountEntry[], exclude: string): string[] {
  // The last entry of a mount point is the one on top, the one a path resolves to.
  const visible = new Map(mounts.map((m) => [m.mountPoint, m.source]));
  const below = [...visible.keys()].filter((p) => p.startsWith(`${dir}/`) && p !== exclude && !p.startsWith(`${exclude}/`)).sort();
  const ours = new Set([SESSION_MOUNT_SOURCE, SYSTEM_MOUNT_SOURCE]);
  return below.filter((p) => !below.some((q) => p.startsWith(`${q}/`)) && !ours.has(visible.get(p) ?? ""));
}

/** After a failed overlay mount: did the kernel know the filesystem at all (mount(2) loads its module)? */
async function overlayfsKnown(): Promise<boolean> {
  return /\toverlay$/m.test(await readFile("/proc/filesystems", "utf8").catch(() => ""));
}
