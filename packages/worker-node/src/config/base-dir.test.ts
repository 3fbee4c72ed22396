import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, rmdir, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { probeWritableDir, resolveBaseDir, type DirProbe } from "./base-dir.js";

const DEFAULT_DIR = "/opt/opencode/sessions";

/** Fails like a root-owned /opt does for an unprivileged user; every other directory is fine. */
function probeDenying(...denied: string[]): DirProbe {
  return async (dir) => {
    if (denied.includes(dir)) {
      throw Object.assign(new Error(`EACCES: permission denied, mkdir '${dir}'`), { code: "EACCES" });
    }
  };
}

/** Where a cgroup (v2, else v1) file system is mounted on this machine. */
function cgroupMountPoint(): string {
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const fields = line.split(" ");
    if (/^cgroup2?$/.test(fields[fields.indexOf("-") + 1] ?? "")) return fields[4]!;
  }
  throw new Error("no cgroup file system is mounted");
}

let scratch: string;
beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), "config-base-dir-"));
});
afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe("probeWritableDir", () => {
  it("creates missing parents", async () => {
    const dir = join(scratch, "a", "b", "sessions");
    await probeWritableDir(dir);
    expect((await stat(dir)).isDirectory()).toBe(true);
  });

  it("refuses a directory other users may write (someone else could have made it first)", async () => {
    const shared = join(scratch, "shared");
    await mkdir(shared, { mode: 0o777 });
    await chmod(shared, 0o777);
    await expect(probeWritableDir(shared)).rejects.toThrow(/writable by other users/);
  });

  it("refuses a symlink in place of the directory", async () => {
    await mkdir(join(scratch, "real"));
    await symlink(join(scratch, "real"), join(scratch, "link"));
    await expect(probeWritableDir(join(scratch, "link"))).rejects.toThrow(/not a directory/);
  });

  it.each([
    ["/proc/ocw-test/sessions", "/proc is on proc"],
    ["/proc/self/ocw-test", "/proc/self is on proc"],
    ["/sys/ocw-test", "/sys is on sysfs"],
  ])("refuses %s, on a kernel file system, before creating anything", async (dir, problem) => {
    // Under /proc a recursive mkdir would loop for ever.
    await expect(probeWritableDir(dir)).rejects.toThrow(`${problem}, a kernel file system that stores no files`);
  });

  it("refuses a cgroup tree, where mkdir would create a cgroup", async () => {
    const parent = join(cgroupMountPoint(), `ocw-test-${process.pid}`);
    try {
      await expect(probeWritableDir(join(parent, "sessions"))).rejects.toThrow(/ is on cgroup2?, a kernel file system/);
      expect(existsSync(parent)).toBe(false);
    } finally {
      // Cgroups a failing probe made: rmdir, child first, is how a cgroup is removed.
      await rmdir(join(parent, "sessions")).catch(() => {});
      await rmdir(parent).catch(() => {});
    }
  });

  it("gives up on its child when told to stop, without waiting for it", async () => {
    const controller = new AbortController();
    const probe = probeWritableDir("/proc/ocw-test", controller.signal);
    controller.abort(new Error("deadline"));
    await expect(probe).rejects.toThrow("deadline");
  });

  it("fails where no directory can be made", async () => {
    const file = join(scratch, "file");
    await writeFile(file, "");
    await expect(probeWritableDir(join(file, "sessions"))).rejects.toMatchObject({ code: "ENOTDIR" });
  });
});

describe("resolveBaseDir", () => {
  const env = { XDG_STATE_HOME: "/home/me/.local/state" };

  it("keeps a usable directory, made absolute against cwd", async () => {
    const context = { cwd: "/srv", env, probe: probeDenying() };
    expect(await resolveBaseDir("sessions", "cli", context)).toEqual({ dir: "/srv/sessions" });
    expect(await resolveBaseDir(DEFAULT_DIR, "default", context)).toEqual({ dir: DEFAULT_DIR });
  });

  it("falls back from the default to $XDG_STATE_HOME, with a note", async () => {
    const result = await resolveBaseDir(DEFAULT_DIR, "default", { cwd: "/", env, probe: probeDenying(DEFAULT_DIR) });
    expect(result.dir).toBe("/home/me/.local/state/opencode-worker/sessions");
    expect(result.note).toContain(DEFAULT_DIR);
    expect(result.note).toContain(result.dir);
  });

  it.each([{}, { XDG_STATE_HOME: "relative/state" }])("falls back to the temp dir when XDG gives none (%p)", async (env) => {
    const result = await resolveBaseDir(DEFAULT_DIR, "default", { cwd: "/", env, probe: probeDenying(DEFAULT_DIR) });
    expect(result.dir).toBe(join(tmpdir(), `opencode-worker-${process.getuid?.()}`, "sessions"));
  });

  it("fails when the fallback is not writable either", async () => {
    const probe = probeDenying(DEFAULT_DIR, "/home/me/.local/state/opencode-worker/sessions");
    await expect(resolveBaseDir(DEFAULT_DIR, "default", { cwd: "/", env, probe })).rejects.toEqual(
      expect.objectContaining({ name: "ConfigError", key: "session.base_dir", source: "default" }),
    );
  });

  it("fails naming the path when a probe does not answer by the deadline (a hung file system)", async () => {
    const hung: DirProbe = () => new Promise(() => {});
    const error = await resolveBaseDir("/mnt/hung/sessions", "cli", { cwd: "/", env, probe: hung, deadlineMs: 50 }).catch(
      (e: unknown) => e,
    );
    expect(error).toEqual(expect.objectContaining({ name: "ConfigError", key: "session.base_dir", value: "/mnt/hung/sessions" }));
    expect((error as Error).message).toContain("/mnt/hung/sessions did not respond within 0.05 s");
  });

  it("falls back from a default that does not answer", async () => {
    const hungDefault: DirProbe = (dir) => (dir === DEFAULT_DIR ? new Promise(() => {}) : Promise.resolve());
    const result = await resolveBaseDir(DEFAULT_DIR, "default", { cwd: "/", env, probe: hungDefault, deadlineMs: 50 });
    expect(result.dir).toBe("/home/me/.local/state/opencode-worker/sessions");
    expect(result.note).toContain("did not respond");
  });

  it("never falls back from a directory someone configured", async () => {
    const source = "env OPENCODE_WORKER_SESSION_BASE_DIR";
    const context = { cwd: "/", env, probe: probeDenying("/data/sessions") };
    await expect(resolveBaseDir("/data/sessions", source, context)).rejects.toEqual(
      expect.objectContaining({
        name: "ConfigError",
        key: "session.base_dir",
        value: "/data/sessions",
        source,
      }),
    );
  });
});
