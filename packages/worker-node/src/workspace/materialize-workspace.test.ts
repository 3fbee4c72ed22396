import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { lstatSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openTestBlobs, type TestBlobs } from "../../test/support/workspace-store.js";
import { WorkerError } from "../errors.js";
import { materializeWorkspace } from "./materialize-workspace.js";
import type { ManifestEntry } from "./validate-workspace.js";

// Root in CI (the tests run as root), so handing files to another uid is possible; elsewhere as ourselves.
const OWNER = process.getuid?.() === 0 ? { uid: 4242, gid: 4343 } : undefined;

let blobs: TestBlobs;
let dir: string;
let workDir: string;
beforeEach(async () => {
  blobs = await openTestBlobs();
  dir = await mkdtemp(join(tmpdir(), "materialize-"));
  workDir = join(dir, "work");
  await mkdir(workDir);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
  await blobs.remove();
});

const modeOf = (path: string) => lstatSync(path).mode & 0o7777;

describe("materializeWorkspace", () => {
  it("writes directories 0755, files with the manifest's modes and content, links as given; all owned by the job", async () => {
    const entries: ManifestEntry[] = [
      { kind: "file", path: "bin/run.sh", digest: await blobs.put("#!/bin/sh\n"), mode: 0o755 },
      { kind: "link", path: "bin/up", target: "../../../etc" },
      { kind: "file", path: "secret", digest: await blobs.put("s"), mode: 0o600 },
    ];
    const identities = await materializeWorkspace(workDir, entries, blobs.blobs, OWNER);

    expect(modeOf(join(workDir, "bin"))).toBe(0o755);
    expect(modeOf(join(workDir, "bin/run.sh"))).toBe(0o755);
    expect(modeOf(join(workDir, "secret"))).toBe(0o600);
    expect(await readFile(join(workDir, "bin/run.sh"), "utf8")).toBe("#!/bin/sh\n");
    expect(await readlink(join(workDir, "bin/up"))).toBe("../../../etc");
    if (OWNER) {
      for (const path of ["bin", "bin/run.sh", "bin/up", "secret"]) {
        expect(lstatSync(join(workDir, path))).toMatchObject({ uid: OWNER.uid, gid: OWNER.gid });
      }
    }
    // Identities are taken after the last chmod/chown, so an untouched file still matches them.
    expect([...identities.keys()].sort()).toEqual(["bin/run.sh", "secret"]);
    const after = lstatSync(join(workDir, "secret"), { bigint: true });
    expect(identities.get("secret")).toEqual({
      ino: after.ino,
      size: after.size,
      mtimeNs: after.mtimeNs,
      ctimeNs: after.ctimeNs,
      mode: after.mode,
    });
  });

  it("never writes through a link already in the work dir, and removes what it made (all or nothing)", async () => {
    const outside = join(dir, "outside");
    await mkdir(outside);
    await symlink(join(outside, "victim"), join(workDir, "planted"));
    const entries: ManifestEntry[] = [
      { kind: "file", path: "a/one", digest: await blobs.put("1"), mode: 0 },
      { kind: "file", path: "planted", digest: await blobs.put("pwned"), mode: 0o644 },
    ];
    const error = await materializeWorkspace(workDir, entries, blobs.blobs, OWNER).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerError);
    expect((error as WorkerError).code).toBe("INTERNAL");
    expect(await readdir(outside)).toEqual([]);
    expect((await readdir(workDir)).sort()).toEqual(["planted"]);
  });

  it("removes everything it made when a blob cannot be read (all or nothing)", async () => {
    const entries: ManifestEntry[] = [
      { kind: "file", path: "a/b/c", digest: await blobs.put("c"), mode: 0 },
      { kind: "file", path: "z", digest: { sha256: "0".repeat(64), sizeBytes: 1 }, mode: 0 },
    ];
    await expect(materializeWorkspace(workDir, entries, blobs.blobs, OWNER)).rejects.toBeInstanceOf(WorkerError);
    expect(await readdir(workDir)).toEqual([]);
  });

  it("materializes 2,000 files / 20 MB whose blobs are stored (timing printed, not asserted)", async () => {
    const entries: ManifestEntry[] = [];
    for (let index = 0; index < 2000; index++) {
      const digest = await blobs.put(Buffer.alloc(10 * 1024, index % 251));
      entries.push({ kind: "file", path: `d${index % 40}/f${index}`, digest, mode: 0o644 });
    }
    const started = performance.now();
    const identities = await materializeWorkspace(workDir, entries, blobs.blobs, OWNER);
    const ms = performance.now() - started;
    expect(identities.size).toBe(2000);
    console.info(`materialize 2,000 files / 20 MB into ${tmpdir()}: ${ms.toFixed(1)} ms`);
  });
});
