import { chownSync, mkdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import type { LowerTree } from "../../../workspace/sync-lower-tree.js";
import type { WorkspaceOverlay } from "../../driver.js";
import { MS } from "./mount-helper.js";
import { readMountInfo } from "./mountinfo.js";
import { mountSessionTmpfs, mountWith, unmountSession } from "./session-mount.js";
import { escapeLayer } from "./system-view.js";

/**
 * A workspace served as an overlay of a per-slot tree, so a repeat job over the same manifest copies nothing
 * (docs/decisions.md, "A workspace as an overlay of a per-slot tree").
 *
 * Layout: `<base>/.workspaces/slot-<uid>/tree` is the slot's LOWER tree (the parents root 0700: no job reaches
 * it; the sandbox binds only its session dir). The session's work dir is an overlay of it whose upper and work
 * dirs are `<session>/.overlay/{upper,work}` in the session tmpfs (root 0700 above them: the job cannot enter), so
 * what a job writes counts against its disk limit and the lower tree is never written: the next job of the slot
 * sees it pristine.
 *
 * Mount options that make COLLECT's reading of upper exact (diff-workspace.ts): redirect_dir=off, so a rename
 * of a lower directory fails with EXDEV and `mv` copies it (a directory absent from upper IS the lower's at
 * that path); metacopy=off, so a changed file is whole in upper; index=off and xino=off, so nothing depends
 * on state kept across mounts (hard links to a lower file are broken on copy-up, which is what a fresh copy
 * would give anyway).
 */

/** The overlays' "device" name in /proc/self/mountinfo: the sweep recognises them by it. */
export const WORKSPACE_MOUNT_SOURCE = "opencode-workspace";

const OVERLAY_FLAGS = MS.NOSUID | MS.NODEV;
const FIXED_OPTIONS = "redirect_dir=off,metacopy=off,index=off,xino=off";

/** The dir under session.base_dir that holds every slot's lower tree. */
export function workspacesDir(baseDir: string): string {
  return join(baseDir, ".workspaces");
}

/** What the driver keeps of a slot's lower tree between the slot's sessions. */
export type SlotTreeState = Pick<WorkspaceOverlay, "held" | "lastCopied">;

/** One session's overlay of its slot's lower tree at its work dir; `state` is the slot's, kept by the driver. */
export class SessionWorkspaceOverlay implements WorkspaceOverlay {
  private attempted = false;

  constructor(
    private readonly state: SlotTreeState,
    readonly lowerDir: string,
    private readonly sessionDir: string,
    private readonly workDir: string,
    private readonly owner: { readonly uid: number; readonly gid: number },
  ) {}

  get held(): LowerTree | undefined {
    return this.state.held;
  }

  set held(tree: LowerTree | undefined) {
    this.state.held = tree;
  }

  get lastCopied(): number {
    return this.state.lastCopied;
  }

  set lastCopied(count: number) {
    this.state.lastCopied = count;
  }

  mount(): Promise<string> {
    this.attempted = true;
    return mountWorkspaceOverlay(this.lowerDir, this.workDir, join(this.sessionDir, ".overlay"), this.owner);
  }

  /**
   * Unmounts the overlay (lazily when something still holds it), before the session tmpfs goes. Returns a
   * problem, or undefined. A lower tree an overlay may still use is forgotten: the next sync wipes it.
   */
  async unmount(): Promise<string | undefined> {
    if (!this.attempted) return undefined;
    this.attempted = false;
    const result = await unmountSession(this.workDir);
    if (result === "unmounted" || result === "not mounted") return undefined;
    this.state.held = undefined;
    return result === "failed" ? `cannot unmount the workspace overlay ${this.workDir}` : undefined;
  }
}

/** Mounts the overlay of `lower` at `target`, its upper and work dirs in `overlayDir` (made here, root 0700). */
export async function mountWorkspaceOverlay(
  lower: string,
  target: string,
  overlayDir: string,
  owner: { readonly uid: number; readonly gid: number },
): Promise<string> {
  const upper = join(overlayDir, "upper");
  const work = join(overlayDir, "work");
  // Synchronous: microseconds each (see session-layout.ts).
  mkdirSync(overlayDir, { mode: 0o700 });
  // The merged root takes the upper dir's owner and mode: the job's own work dir, as a copied one is.
  mkdirSync(upper, { mode: 0o755 });
  chownSync(upper, owner.uid, owner.gid);
  mkdirSync(work, { mode: 0o700 });
  const data = `lowerdir=${escapeLayer(lower)},upperdir=${escapeLayer(upper)},workdir=${escapeLayer(work)},${FIXED_OPTIONS}`;
  await mountWith({ source: WORKSPACE_MOUNT_SOURCE, target, fstype: "overlay", flags: OVERLAY_FLAGS, data }, [
    "-t",
    "overlay",
    "-o",
    `nosuid,nodev,${data}`,
    WORKSPACE_MOUNT_SOURCE,
    target,
  ]);
  return upper;
}

/** Our workspace overlays anywhere under `baseDir`, last mounted first. */
export async function workspaceMountsUnder(baseDir: string): Promise<string[]> {
  return (await readMountInfo())
    .filter((m) => m.source === WORKSPACE_MOUNT_SOURCE && m.mountPoint.startsWith(`${baseDir}/`))
    .map((m) => m.mountPoint)
    .reverse();
}

/**
 * Whether this machine mounts the workspace overlay with its options over a session tmpfs: once, at start-up.
 * Returns why not, or undefined when it can.
 */
export async function probeWorkspaceOverlay(baseDir: string): Promise<string | undefined> {
  const root = join(workspacesDir(baseDir), "probe");
  const lower = join(root, "lower");
  const session = join(root, "session");
  const merged = join(session, "work");
  let mounted = false;
  try {
    mkdirSync(lower, { recursive: true, mode: 0o700 });
    mkdirSync(session, { mode: 0o700 });
    await mountSessionTmpfs(session, { sizeBytes: 1024 * 1024 });
    mounted = true;
    mkdirSync(merged, { mode: 0o700 });
    await mountWorkspaceOverlay(lower, merged, join(session, ".overlay"), { uid: 0, gid: 0 });
    await unmountSession(merged);
    return undefined;
  } catch (error) {
    const e = error as { code?: unknown; message?: unknown };
    return typeof e.code === "string" ? e.code : String(e.message ?? error);
  } finally {
    if (mounted) await unmountSession(session);
    for (const dir of [session, lower, root]) {
      try {
        rmdirSync(dir);
      } catch {
        // Left for the start-up sweep, which removes .workspaces whole.
      }
    }
  }
}
