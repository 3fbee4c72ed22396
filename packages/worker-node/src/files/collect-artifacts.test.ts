import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { link, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, truncate, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nestDirectories } from "../../test/support/deep-tree.js";
import { collectArtifacts, type CollectOptions } from "./collect-artifacts.js";

let root: string;
let output: string;
let store: string;
let host: string;
let servers: Server[];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "collect-artifacts-"));
  output = join(root, "output");
  store = join(root, "results", "store");
  host = join(root, "host");
  servers = [];
  await mkdir(output);
  await mkdir(host);
  await writeFile(join(host, "secret"), "host secret");
});

afterEach(() => {
  for (const server of servers) server.close();
  // GNU rm: Node's rm fails on trees deeper than PATH_MAX, and fs.promises.rm of 100,000 files is slow.
  execFileSync("rm", ["-rf", root]);
}, 120_000);

function options(overrides: Partial<CollectOptions> = {}): CollectOptions {
  return {
    patterns: [],
    maxArtifacts: 100,
    maxArtifactBytes: 1 << 20,
    maxTotalBytes: 1 << 22,
    inlineBytes: 16,
    storeDir: store,
    ...overrides,
  };
}

const sha256 = (text: string | Buffer) => createHash("sha256").update(text).digest("hex");

/** `levels` directories named `name` under `parent` with a file `leaf` at the bottom; returns its relative path. */
function nest(parent: string, name: string, levels: number, leaf: string): string {
  const deepest = nestDirectories(parent, name, levels, (dir, level) => {
    if (level === levels - 1) writeFileSync(`${dir}/${leaf}`, leaf);
  });
  return `${deepest}/${leaf}`;
}

describe("collectArtifacts", () => {
  it("collects regular files with their sha256: held in memory up to inlineBytes, larger ones stored in a private store", async () => {
    await mkdir(join(output, "sub"));
    await writeFile(join(output, "small.txt"), "tiny");
    await writeFile(join(output, "sub", "big.bin"), "x".repeat(100));
    const { artifacts, skipped } = await collectArtifacts(output, options());
    expect(skipped).toEqual([]);
    expect(artifacts.map(({ path, sizeBytes, sha256: hash }) => ({ path, sizeBytes, hash }))).toEqual([
      { path: "small.txt", sizeBytes: 4, hash: sha256("tiny") },
      { path: "sub/big.bin", sizeBytes: 100, hash: sha256("x".repeat(100)) },
    ]);
    expect(artifacts[0]?.content?.toString()).toBe("tiny");
    expect(artifacts[1]?.content).toBeUndefined();
    expect(await readFile(artifacts[1]?.storedPath as string, "utf8")).toBe("x".repeat(100));
    expect(artifacts.map((artifact) => artifact.storedPath)).toEqual([undefined, join(store, "1")]);
    expect(await readdir(store)).toEqual(["1"]);
    expect((await stat(store)).mode & 0o777).toBe(0o700);
  });

  it("creates no store at all when every file is held in memory", async () => {
    for (let index = 0; index < 100; index++) await writeFile(join(output, `f${index}`), `${index}`);
    const { artifacts, skipped } = await collectArtifacts(output, options());
    expect([artifacts.length, skipped]).toEqual([100, []]);
    expect(artifacts.every((artifact) => artifact.content?.toString() === artifact.path.slice(1))).toBe(true);
    await expect(stat(store)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("skips a symlink to a host file without reading it", async () => {
    await symlink(join(host, "secret"), join(output, "a.txt"));
    const { artifacts, skipped } = await collectArtifacts(output, options());
    expect(artifacts).toEqual([]);
    expect(skipped).toEqual([{ path: "a.txt", reason: "symlink" }]);
  });

  it("skips a directory symlink without entering it", async () => {
    await symlink(host, join(output, "escape"));
    const { artifacts, skipped } = await collectArtifacts(output, options());
    expect(artifacts).toEqual([]);
    expect(skipped).toEqual([{ path: "escape", reason: "symlink" }]);
  });

  it("collects nothing when the output dir itself was replaced by a link", async () => {
    await rm(output, { recursive: true });
    await symlink(host, output);
    const { artifacts, skipped } = await collectArtifacts(output, options());
    expect(artifacts).toEqual([]);
    expect(skipped[0]?.path).toBe(".");
  });

  it("skips FIFOs (without blocking) and sockets", async () => {
    execFileSync("mkfifo", [join(output, "pipe")]);
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(join(output, "sock"), resolve));
    const { artifacts, skipped } = await collectArtifacts(output, options());
    expect(artifacts).toEqual([]);
    expect(skipped).toEqual([
      { path: "pipe", reason: "fifo" },
      { path: "sock", reason: "socket" },
    ]);
  });

  it("skips hard links (they can share a host file's inode)", async () => {
    await link(join(host, "secret"), join(output, "linked"));
    const { artifacts, skipped } = await collectArtifacts(output, options());
    expect(artifacts).toEqual([]);
    expect(skipped).toEqual([{ path: "linked", reason: "hard link" }]);
  });

  it("skips names that are not UTF-8", async () => {
    writeFileSync(Buffer.concat([Buffer.from(`${output}/bad-`), Buffer.from([0xff, 0xfe])]), "x");
    const { artifacts, skipped } = await collectArtifacts(output, options());
    expect(artifacts).toEqual([]);
    expect(skipped.map((entry) => entry.reason)).toEqual(["name is not UTF-8"]);
  });

  it("selects by patterns; unselected files are neither collected nor reported", async () => {
    await mkdir(join(output, "dist", "js"), { recursive: true });
    await writeFile(join(output, "dist", "js", "app.js"), "js");
    await writeFile(join(output, "dist", "app.map"), "map");
    await writeFile(join(output, "notes.md"), "md");
    await symlink(join(host, "secret"), join(output, "link.md"));
    const { artifacts, skipped } = await collectArtifacts(output, options({ patterns: ["dist/**/*.js", "*.md"] }));
    expect(artifacts.map((artifact) => artifact.path)).toEqual(["notes.md", "dist/js/app.js"]);
    expect(skipped).toEqual([{ path: "link.md", reason: "symlink" }]);
  });

  it("applies the caps in order, naming the config key, and keeps the partial list", async () => {
    for (const name of ["a", "b", "c", "d"]) await writeFile(join(output, name), name.repeat(10));
    await writeFile(join(output, "e-big"), "e".repeat(50));

    const byCount = await collectArtifacts(output, options({ maxArtifacts: 2, storeDir: join(store, "count") }));
    expect(byCount.artifacts.map((artifact) => artifact.path)).toEqual(["a", "b"]);
    expect(byCount.skipped.map((entry) => entry.reason)).toEqual(Array(3).fill("session.max_artifacts (2) reached"));

    const bySize = await collectArtifacts(output, options({ maxArtifactBytes: 20, storeDir: join(store, "size") }));
    expect(bySize.skipped).toEqual([{ path: "e-big", reason: "50 bytes, more than session.max_artifact_bytes (20)" }]);

    const byTotal = await collectArtifacts(output, options({ maxTotalBytes: 25, storeDir: join(store, "total") }));
    expect(byTotal.artifacts.map((artifact) => artifact.path)).toEqual(["a", "b"]);
    expect(byTotal.skipped.map((entry) => entry.reason)).toEqual(Array(3).fill("session.max_artifacts_total_bytes (25) reached"));
  });

  it("refuses a huge sparse file by its size, before reading it", async () => {
    await writeFile(join(output, "sparse"), "");
    await truncate(join(output, "sparse"), 64 * 1024 ** 3);
    const started = performance.now();
    const { artifacts, skipped } = await collectArtifacts(output, options());
    expect(performance.now() - started).toBeLessThan(5000);
    expect(artifacts).toEqual([]);
    expect(skipped[0]?.reason).toContain("session.max_artifact_bytes");
  });

  it("walks a deep tree without recursion", async () => {
    const depth = 300;
    const deepest = join(output, ...Array<string>(depth).fill("d"));
    await mkdir(deepest, { recursive: true });
    await writeFile(join(deepest, "leaf"), "leaf");
    const { artifacts } = await collectArtifacts(output, options());
    expect(artifacts.map((artifact) => artifact.path)).toEqual([`${"d/".repeat(depth)}leaf`]);
  });

  it("collects one file under 1,000 directories, an 11,000-byte path past PATH_MAX", async () => {
    const leaf = nest(output, "d123456789", 1000, "leaf");
    expect(Buffer.byteLength(leaf)).toBeGreaterThan(4096);
    const { artifacts, skipped } = await collectArtifacts(output, options());
    expect(skipped).toEqual([]);
    expect(artifacts.map(({ path, content }) => ({ path, content: content?.toString() }))).toEqual([{ path: leaf, content: "leaf" }]);
  });

  it("climbs back out of a tree deeper than PATH_MAX and walks on in order", async () => {
    await mkdir(join(output, "a", "b", "c"), { recursive: true });
    await mkdir(join(output, "a", "d"));
    await mkdir(join(output, "z"));
    await writeFile(join(output, "file1"), "1");
    await writeFile(join(output, "a", "b", "file2"), "2");
    await writeFile(join(output, "a", "b", "c", "file3"), "3");
    await writeFile(join(output, "a", "d", "file4"), "4");
    const deep = `a/b/c/${nest(join(output, "a", "b", "c"), "n123456789", 500, "file5")}`;
    await writeFile(join(output, "z", "file6"), "6");
    const { artifacts, skipped } = await collectArtifacts(output, options());
    expect(skipped).toEqual([]);
    expect(artifacts.map((artifact) => artifact.path)).toEqual(["file1", "a/b/file2", "a/b/c/file3", deep, "a/d/file4", "z/file6"]);
    expect(artifacts.map((artifact) => artifact.content?.toString())).toEqual(["1", "2", "3", "file5", "4", "6"]);
  });

  it("never follows a directory link, whether it leads out of the output dir or back to an ancestor", async () => {
    await mkdir(join(host, "dir", "sub"), { recursive: true });
    await writeFile(join(host, "dir", "sub", "deep-secret"), "host secret");
    await mkdir(join(output, "a", "b"), { recursive: true });
    await writeFile(join(output, "a", "b", "real"), "real");
    await symlink(join(host, "dir"), join(output, "a", "escape"));
    await symlink("../..", join(output, "a", "b", "loop"));
    const { artifacts, skipped } = await collectArtifacts(output, options({ patterns: ["**"] }));
    expect(artifacts.map((artifact) => artifact.path)).toEqual(["a/b/real"]);
    expect(skipped).toEqual([
      { path: "a/escape", reason: "symlink" },
      { path: "a/b/loop", reason: "symlink" },
    ]);
  });

  it("lists every file that needs the store as not kept when the store cannot be written, keeps those held in memory, and does not throw", async () => {
    await writeFile(join(output, "a.txt"), "a".repeat(17));
    await symlink(join(host, "secret"), join(output, "b.txt"));
    await writeFile(join(output, "c.txt"), "c".repeat(17));
    await writeFile(join(output, "d.txt"), "small");
    await writeFile(join(root, "results"), "a file where the store's parent should be");
    const { artifacts, skipped, storeFailure } = await collectArtifacts(output, options());
    expect(artifacts.map((artifact) => [artifact.path, artifact.content?.toString()])).toEqual([["d.txt", "small"]]);
    const unstored = expect.stringMatching(/^not kept: the worker's artifact store cannot be written \(ENOTDIR\)/);
    expect(skipped).toEqual([
      { path: "a.txt", reason: unstored },
      { path: "b.txt", reason: "symlink" },
      { path: "c.txt", reason: unstored },
    ]);
    expect(storeFailure).toEqual({ reason: skipped[0]?.reason, files: 2 });
  });

  it("collects 100,000 tiny files in reasonable time", async () => {
    for (let dir = 0; dir < 100; dir++) {
      mkdirSync(join(output, `d${dir}`));
      for (let file = 0; file < 1000; file++) writeFileSync(join(output, `d${dir}`, `f${file}`), `${dir}-${file}`);
    }
    const started = performance.now();
    const { artifacts, skipped } = await collectArtifacts(
      output,
      options({ maxArtifacts: 200_000, inlineBytes: 64, maxTotalBytes: 1 << 30 }),
    );
    const seconds = (performance.now() - started) / 1000;
    console.info(`collectArtifacts: 100,000 tiny files in ${seconds.toFixed(2)} s`);
    expect(skipped).toEqual([]);
    expect(artifacts).toHaveLength(100_000);
    expect(artifacts[0]?.content?.toString()).toBe("0-0");
  }, 300_000);
});
