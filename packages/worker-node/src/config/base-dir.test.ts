import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { chmod, mkdir, mkdtemp, rm, stat, symlink, writeFile } from "node:fs/promises";
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

  it.each([{}, { XDG_STATE_HOME: "relative/state" }])(
    "falls back to the temp dir when XDG gives none (%p)",
    async (env) => {
      const result = await resolveBaseDir(DEFAULT_DIR, "default", { cwd: "/", env, probe: probeDenying(DEFAULT_DIR) });
      expect(result.dir).toBe(join(tmpdir(), `opencode-worker-${process.getuid?.()}`, "sessions"));
    },
  );

  it("fails when the fallback is not writable either", async () => {
    const probe = probeDenying(DEFAULT_DIR, "/home/me/.local/state/opencode-worker/sessions");
    await expect(resolveBaseDir(DEFAULT_DIR, "default", { cwd: "/", env, probe })).rejects.toEqual(
      expect.objectContaining({ name: "ConfigError", key: "session.base_dir", source: "default" }),
    );
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
