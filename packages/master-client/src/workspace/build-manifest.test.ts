import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildManifest } from "./build-manifest.js";
import { HashCache } from "./hash-cache.js";
import { compileWorkspaceOptions, type WorkspaceOptions } from "./workspace-options.js";

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "ocw-manifest-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function write(path: string, content = path): void {
  mkdirSync(join(root, path, ".."), { recursive: true });
  writeFileSync(join(root, path), content);
}

const build = (options: WorkspaceOptions = {}, cache = new HashCache()) => buildManifest(root, compileWorkspaceOptions(options), cache);
const pathsOf = (manifest: Awaited<ReturnType<typeof build>>): string[] =>
  [...manifest.files, ...manifest.links].map((entry) => entry.path).sort();

describe("buildManifest", () => {
  it("honours the root's and nested .gitignore files, negations included, and always skips .git", async () => {
    write(".gitignore", "*.log\nbuild/\n");
    write("keep.txt");
    write("debug.log");
    write("build/out.js");
    write("src/.gitignore", "secret.txt\n!important.log\n");
    write("src/secret.txt");
    write("src/important.log");
    write("src/main.ts");
    write(".git/config");
    write("sub/.git", "gitdir: elsewhere");
    expect(pathsOf(await build())).toEqual([".gitignore", "keep.txt", "src/.gitignore", "src/important.log", "src/main.ts"]);
    expect(pathsOf(await build({ gitignore: false }))).toEqual(
      [
        ".gitignore",
        "build/out.js",
        "debug.log",
        "keep.txt",
        "src/.gitignore",
        "src/important.log",
        "src/main.ts",
        "src/secret.txt",
      ].sort(),
    );
  });

  it("records links with their target, never following them, and leaves FIFOs out", async () => {
    const outside = mkdtempSync(join(tmpdir(), "ocw-outside-"));
    try {
      writeFileSync(join(outside, "secret"), "s");
      symlinkSync(outside, join(root, "dir-link"));
      symlinkSync("../nowhere", join(root, "dangling"));
      execFileSync("mkfifo", [join(root, "pipe")]);
      const manifest = await build();
      expect(manifest.files).toEqual([]);
      expect(manifest.links).toEqual([
        { path: "dangling", symlinkTarget: "../nowhere" },
        { path: "dir-link", symlinkTarget: outside },
      ]);
      expect(manifest.skippedSpecial).toBe(1);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it("gives each file its digest, size and permission bits", async () => {
    write("run.sh", "#!/bin/sh\n");
    chmodSync(join(root, "run.sh"), 0o4755);
    const [file] = (await build()).files;
    expect(file).toMatchObject({
      path: "run.sh",
      size: 10,
      mode: 0o755,
      sha256: createHash("sha256").update("#!/bin/sh\n").digest("hex"),
    });
  });

  it("leaves remote-only paths out without reading them", async () => {
    write("node_modules/x/index.js");
    write("app.js");
    expect(pathsOf(await build({ remoteOnly: ["node_modules/**"] }))).toEqual(["app.js"]);
  });

  it("refuses a tree beyond maxEntries or maxBytes, naming the option", async () => {
    for (let i = 0; i < 5; i++) write(`f${i}`, "12345");
    await expect(build({ maxEntries: 4 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", field: "maxEntries" });
    await expect(build({ maxBytes: 24 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", field: "maxBytes" });
    expect((await build({ maxEntries: 5, maxBytes: 25 })).files).toHaveLength(5);
  });

  it("hashes only what changed since the last manifest", async () => {
    for (let i = 0; i < 50; i++) write(`dir${i % 5}/file${i}.txt`);
    const cache = new HashCache();
    expect((await build({}, cache)).hashedFiles).toBe(50);
    expect((await build({}, cache)).hashedFiles).toBe(0);

    // Touched with the same content: read once more, then trusted again.
    utimesSync(join(root, "dir0/file0.txt"), new Date(), new Date(Date.now() + 5000));
    expect((await build({}, cache)).hashedFiles).toBe(1);
    expect((await build({}, cache)).hashedFiles).toBe(0);

    // Changed: rehashed, with its new digest.
    const before = (await build({}, cache)).files.find((file) => file.path === "dir1/file1.txt")!.sha256;
    write("dir1/file1.txt", "new content");
    const after = await build({}, cache);
    expect(after.hashedFiles).toBe(1);
    expect(after.files.find((file) => file.path === "dir1/file1.txt")!.sha256).not.toBe(before);
  });
});
