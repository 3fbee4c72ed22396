import { afterEach, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, unlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChangeKind, EntryType, type WorkspaceChange } from "@opencode-worker/shared";
import { describeWithPrerequisites } from "../../test/support/conditions.js";
import { openTestBlobs, type TestBlobs } from "../../test/support/workspace-store.js";
import { unmountSession } from "../sandbox/bwrap/mounts/session-mount.js";
import { mountWorkspaceOverlay } from "../sandbox/bwrap/mounts/workspace-overlay.js";
import { diffWorkspace, type DiffOptions } from "./diff-workspace.js";
import { materializeWorkspace, type FileIdentity } from "./materialize-workspace.js";
import type { ManifestEntry } from "./validate-workspace.js";

let blobs: TestBlobs;
let dir: string;
let workDir: string;
let stored: number;
/** Whether the work dir is an overlay of the materialized tree (the bwrap driver's) or the tree itself (a plain dir). */
let overlay: boolean;
beforeEach(async () => {
  blobs = await openTestBlobs();
  dir = await mkdtemp(join(tmpdir(), "diff-"));
  workDir = join(dir, "work");
  await mkdir(workDir);
  stored = 0;
});
afterEach(async () => {
  if (overlay) await unmountSession(workDir);
  await rm(dir, { recursive: true, force: true });
  await blobs.remove();
});

const sha256 = (content: string) => createHash("sha256").update(content).digest("hex");

/** Materializes `files` (path -> content) and `links` (path -> target), and returns how to diff the work dir against them. */
async function workspace(files: Record<string, string>, links: Record<string, string> = {}) {
  const entries: ManifestEntry[] = [];
  for (const [path, content] of Object.entries(files)) entries.push({ kind: "file", path, digest: await blobs.put(content), mode: 0o644 });
  for (const [path, target] of Object.entries(links)) entries.push({ kind: "link", path, target });
  entries.sort((a, b) => (a.path < b.path ? -1 : 1));
  const lower = join(dir, "lower");
  await mkdir(lower);
  const identities: ReadonlyMap<string, FileIdentity> = await materializeWorkspace(overlay ? lower : workDir, entries, blobs.blobs);
  const upperDir = overlay ? await mountWorkspaceOverlay(lower, workDir, join(dir, "overlay"), { uid: 0, gid: 0 }) : undefined;
  return (options: Partial<DiffOptions> = {}) =>
    diffWorkspace(workDir, {
      ...(upperDir !== undefined && { upperDir }),
      manifest: entries,
      identities: upperDir === undefined ? identities : new Map(),
      remoteOnly: [],
      blobs: {
        storeFile: (path) => {
          stored += 1;
          return blobs.blobs.storeFile(path);
        },
      },
      maxEntries: 1000,
      maxChanges: 1000,
      maxChangeBytes: 1024 ** 2,
      inlineBytes: 1024,
      ...options,
    });
}

/** The fields a test compares: what changed, how, and to what. */
const summary = (change: WorkspaceChange) => ({
  path: change.path,
  kind: ChangeKind[change.kind],
  type: EntryType[change.type],
  ...(change.digest && { sha256: change.digest.sha256, mode: change.mode }),
  ...(change.symlinkTarget !== "" && { target: change.symlinkTarget }),
  ...(change.contentInline && { content: change.content.toString() }),
  ...(change.remoteOnly && { remoteOnly: true }),
});

describe("diffWorkspace over a plain dir (a full walk)", () => {
  beforeAll(() => {
    overlay = false;
  });
  diffSuite();
});

// The bwrap driver's work dir: an overlay of the slot's tree, compared by what its upper dir holds.
describeWithPrerequisites("diffWorkspace over an overlay (what upper holds)", process.getuid?.() === 0 ? [] : ["not root"], () => {
  beforeAll(() => {
    overlay = true;
  });
  diffSuite();
});

function diffSuite(): void {
  it("reports nothing for an untouched tree, without reading a file", async () => {
    const diff = await workspace({ a: "a", "d/b": "b", "d/e/c": "c" }, { l: "a" });
    expect(await diff()).toEqual({ changes: [], truncated: false, truncatedReason: "" });
    expect(stored).toBe(0);
  });

  it("reports nothing for a file touched or rewritten with the same content and mode (hashed, not a change)", async () => {
    const diff = await workspace({ a: "same", b: "same too" });
    await utimes(join(workDir, "a"), new Date(2000, 1, 1), new Date(2000, 1, 1));
    await unlink(join(workDir, "b"));
    await writeFile(join(workDir, "b"), "same too", { mode: 0o644 });
    expect((await diff()).changes).toEqual([]);
    expect(stored).toBe(2);
  });

  it("reports added, modified (content, mode, type), deleted, links by target and specials, sorted by path", async () => {
    const diff = await workspace(
      { content: "old", mode: "m", deleted: "x", "gone/one": "1", "gone/two/three": "3", "to-link": "t", "to-dir": "d" },
      { retarget: "a", same: "b" },
    );
    await writeFile(join(workDir, "content"), "new");
    await chmod(join(workDir, "mode"), 0o755);
    await rm(join(workDir, "deleted"));
    await rm(join(workDir, "gone"), { recursive: true });
    await rm(join(workDir, "to-link"));
    await symlink("/etc/passwd", join(workDir, "to-link"));
    await rm(join(workDir, "to-dir"));
    await mkdir(join(workDir, "to-dir/inside"), { recursive: true });
    await writeFile(join(workDir, "to-dir/inside/f"), "f");
    await mkdir(join(workDir, "empty/dirs"), { recursive: true });
    await rm(join(workDir, "retarget"));
    await symlink("elsewhere", join(workDir, "retarget"));
    await writeFile(join(workDir, "new"), "added");
    execFileSync("mkfifo", [join(workDir, "pipe")]);

    const { changes, truncated } = await diff();
    expect(truncated).toBe(false);
    expect(changes.map(summary)).toEqual([
      { path: "content", kind: "CHANGE_KIND_MODIFIED", type: "ENTRY_TYPE_FILE", sha256: sha256("new"), mode: 0o644, content: "new" },
      { path: "deleted", kind: "CHANGE_KIND_DELETED", type: "ENTRY_TYPE_UNSPECIFIED" },
      { path: "gone/one", kind: "CHANGE_KIND_DELETED", type: "ENTRY_TYPE_UNSPECIFIED" },
      { path: "gone/two/three", kind: "CHANGE_KIND_DELETED", type: "ENTRY_TYPE_UNSPECIFIED" },
      { path: "mode", kind: "CHANGE_KIND_MODIFIED", type: "ENTRY_TYPE_FILE", sha256: sha256("m"), mode: 0o755, content: "m" },
      { path: "new", kind: "CHANGE_KIND_ADDED", type: "ENTRY_TYPE_FILE", sha256: sha256("added"), mode: 0o644, content: "added" },
      { path: "pipe", kind: "CHANGE_KIND_ADDED", type: "ENTRY_TYPE_SPECIAL" },
      { path: "retarget", kind: "CHANGE_KIND_MODIFIED", type: "ENTRY_TYPE_SYMLINK", target: "elsewhere" },
      { path: "to-dir", kind: "CHANGE_KIND_DELETED", type: "ENTRY_TYPE_UNSPECIFIED" },
      { path: "to-dir/inside/f", kind: "CHANGE_KIND_ADDED", type: "ENTRY_TYPE_FILE", sha256: sha256("f"), mode: 0o644, content: "f" },
      { path: "to-link", kind: "CHANGE_KIND_MODIFIED", type: "ENTRY_TYPE_SYMLINK", target: "/etc/passwd" },
    ]);
    // What a change names is in the store: the client reads it with ReadBlob.
    const added = changes.find((change) => change.path === "new")!;
    expect(await readFile(blobs.blobs.pathOf({ sha256: added.digest!.sha256, sizeBytes: 5 }), "utf8")).toBe("added");
  });

  it("reports a shell's renames, replacements, copied-up and hard-linked files exactly (the same list over both work dirs)", async () => {
    const diff = await workspace({
      append: "a\n",
      chmod: "c",
      linked: "l",
      "mv/one": "1",
      "mv/sub/two": "2",
      "redo/old": "o",
      "to-file/x": "x",
      "to-link": "t",
      "kept/k": "k",
    });
    execFileSync(
      "sh",
      [
        "-c",
        "echo b >> append && chmod 600 chmod && ln linked hard && mv mv moved && rm -rf redo && mkdir redo && echo n > redo/new && " +
          "rm -r to-file && echo f > to-file && rm to-link && ln -s kept to-link && mkfifo fifo",
      ],
      { cwd: workDir },
    );
    const file = (path: string, kind: string, content: string, mode = 0o644) => ({
      path,
      kind,
      type: "ENTRY_TYPE_FILE",
      sha256: sha256(content),
      mode,
      content,
    });
    expect((await diff()).changes.map(summary)).toEqual([
      file("append", "CHANGE_KIND_MODIFIED", "a\nb\n"),
      file("chmod", "CHANGE_KIND_MODIFIED", "c", 0o600),
      { path: "fifo", kind: "CHANGE_KIND_ADDED", type: "ENTRY_TYPE_SPECIAL" },
      file("hard", "CHANGE_KIND_ADDED", "l"),
      file("moved/one", "CHANGE_KIND_ADDED", "1"),
      file("moved/sub/two", "CHANGE_KIND_ADDED", "2"),
      { path: "mv/one", kind: "CHANGE_KIND_DELETED", type: "ENTRY_TYPE_UNSPECIFIED" },
      { path: "mv/sub/two", kind: "CHANGE_KIND_DELETED", type: "ENTRY_TYPE_UNSPECIFIED" },
      file("redo/new", "CHANGE_KIND_ADDED", "n\n"),
      { path: "redo/old", kind: "CHANGE_KIND_DELETED", type: "ENTRY_TYPE_UNSPECIFIED" },
      file("to-file", "CHANGE_KIND_ADDED", "f\n"),
      { path: "to-file/x", kind: "CHANGE_KIND_DELETED", type: "ENTRY_TYPE_UNSPECIFIED" },
      { path: "to-link", kind: "CHANGE_KIND_MODIFIED", type: "ENTRY_TYPE_SYMLINK", target: "kept" },
    ]);
  });

  it("never follows a link the job planted: a link to a directory is one change, not what it points to", async () => {
    const outside = join(dir, "outside");
    await mkdir(outside);
    await writeFile(join(outside, "host-file"), "host");
    const diff = await workspace({ a: "a" });
    await symlink(outside, join(workDir, "escape"));
    expect((await diff()).changes.map(summary)).toEqual([
      { path: "escape", kind: "CHANGE_KIND_ADDED", type: "ENTRY_TYPE_SYMLINK", target: outside },
    ]);
    expect(stored).toBe(0);
  });

  it("keeps remote_only paths' content on the worker: digest only, marked, and stored for the next manifest", async () => {
    const diff = await workspace({ "package.json": "{}" });
    await mkdir(join(workDir, "node_modules/left-pad"), { recursive: true });
    await writeFile(join(workDir, "node_modules/left-pad/index.js"), "module.exports = 1;");
    await writeFile(join(workDir, "package.json"), '{"dependencies":{}}');
    const { changes } = await diff({ remoteOnly: ["node_modules/**"] });
    expect(changes.map(summary)).toEqual([
      {
        path: "node_modules/left-pad/index.js",
        kind: "CHANGE_KIND_ADDED",
        type: "ENTRY_TYPE_FILE",
        sha256: sha256("module.exports = 1;"),
        mode: 0o644,
        remoteOnly: true,
      },
      {
        path: "package.json",
        kind: "CHANGE_KIND_MODIFIED",
        type: "ENTRY_TYPE_FILE",
        sha256: sha256('{"dependencies":{}}'),
        mode: 0o644,
        content: '{"dependencies":{}}',
      },
    ]);
    expect(changes[0]!.content).toHaveLength(0);
    expect(() => blobs.blobs.pathOf({ sha256: changes[0]!.digest!.sha256, sizeBytes: 19 })).not.toThrow();
  });

  it("sends content inline only up to inline_bytes", async () => {
    const diff = await workspace({});
    await writeFile(join(workDir, "small"), "12345");
    await writeFile(join(workDir, "large"), "123456");
    const changes = (await diff({ inlineBytes: 5 })).changes;
    expect(changes.map((change) => [change.path, change.contentInline, change.digest?.sizeBytes])).toEqual([
      ["large", false, "6"],
      ["small", true, "5"],
    ]);
  });

  it("marks the list truncated at workspace.max_changes and max_change_bytes", async () => {
    const diff = await workspace({ kept: "k" });
    await rm(join(workDir, "kept"));
    for (const name of ["a", "b", "c"]) await writeFile(join(workDir, name), "1234");

    const byCount = await diff({ maxChanges: 2 });
    expect(byCount).toMatchObject({ truncated: true, truncatedReason: expect.stringContaining("workspace.max_changes") });
    expect(byCount.changes).toHaveLength(2);

    const byBytes = await diff({ maxChangeBytes: 9 });
    expect(byBytes).toMatchObject({ truncated: true, truncatedReason: expect.stringContaining("workspace.max_change_bytes") });
    expect(byBytes.changes.map((change) => change.path)).toEqual(["a", "b"]);

    expect((await diff()).changes.map((change) => [change.path, ChangeKind[change.kind]])).toEqual([
      ["a", "CHANGE_KIND_ADDED"],
      ["b", "CHANGE_KIND_ADDED"],
      ["c", "CHANGE_KIND_ADDED"],
      ["kept", "CHANGE_KIND_DELETED"],
    ]);
  });

  it("visits at most max_entries + max_changes entries, and then claims no deletion (the rest was not seen)", async () => {
    const diff = await workspace({ u1: "1", u2: "2", u3: "3", u4: "4", u5: "5" });
    await rm(join(workDir, "u5"));
    expect(await diff({ maxEntries: 2, maxChanges: 1 })).toEqual({
      changes: [],
      truncated: true,
      truncatedReason: expect.stringContaining("workspace.max_entries"),
    });
    expect((await diff({ maxEntries: 3, maxChanges: 1 })).changes.map((change) => change.path)).toEqual(["u5"]);
  });

  it("diffs 2,000 files / 20 MB, untouched and all rewritten (timing printed, not asserted)", async () => {
    const files: Record<string, string> = {};
    for (let index = 0; index < 2000; index++) files[`d${index % 40}/f${index}`] = `${index}`.padEnd(10 * 1024, "x");
    const diff = await workspace(files);
    let started = performance.now();
    expect((await diff()).changes).toEqual([]);
    const untouchedMs = performance.now() - started;
    for (const [path, content] of Object.entries(files)) await writeFile(join(workDir, path), `${content.slice(0, -1)}y`);
    started = performance.now();
    expect((await diff({ maxChanges: 10_000, maxChangeBytes: 1024 ** 3 })).changes).toHaveLength(2000);
    const rewrittenMs = performance.now() - started;
    console.info(
      `diff 2,000 files / 20 MB in ${tmpdir()}: untouched ${untouchedMs.toFixed(1)} ms, all rewritten ${rewrittenMs.toFixed(1)} ms`,
    );
  });
}
