import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { createHash } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { WorkspaceChange } from "../job-result.js";
import { applyChanges, type ApplyContext } from "./apply-changes.js";
import type { BlobDigest } from "./blob-digest.js";
import { HashCache } from "./hash-cache.js";

let base: string;
let root: string;
let outside: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), "ocw-apply-"));
  root = join(base, "root");
  outside = join(base, "outside");
  mkdirSync(root);
  mkdirSync(outside);
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const sha = (content: string): string => createHash("sha256").update(content).digest("hex");

/** A file change whose content travels inline. */
function file(path: string, content: string, overrides: Partial<WorkspaceChange> = {}): WorkspaceChange {
  const bytes = Buffer.from(content);
  return {
    path,
    kind: "added",
    type: "file",
    sha256: sha(content),
    size: bytes.length,
    mode: 0o644,
    content: bytes,
    remoteOnly: false,
    ...overrides,
  };
}

const deleted = (path: string): WorkspaceChange => ({ path, kind: "deleted", type: "none", remoteOnly: false });

function context(blobs: Record<string, string> = {}, overrides: Partial<ApplyContext> = {}): ApplyContext {
  return {
    root,
    isRemoteOnly: () => false,
    readBlob: async (digest: BlobDigest) => {
      const content = blobs[digest.sha256];
      if (content === undefined) throw new Error(`no blob ${digest.sha256}`);
      return Buffer.from(content);
    },
    cache: new HashCache(),
    ...overrides,
  };
}

/** Every path under `dir`, recursively without following links, to prove nothing else appeared. */
function tree(dir: string, prefix = ""): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = `${prefix}${entry.name}`;
      return entry.isDirectory() ? [path, ...tree(join(dir, entry.name), `${path}/`)] : [path];
    })
    .sort();
}

describe("applyChanges", () => {
  it("adds, modifies and deletes files and links, with their modes, and reads large contents as blobs", async () => {
    writeFileSync(join(root, "old.txt"), "old");
    writeFileSync(join(root, "edit.txt"), "before");
    const { applied } = await applyChanges(
      [
        file("edit.txt", "after", { kind: "modified" }),
        { ...file("big/data.bin", "from a blob", { mode: 0o4755 }), content: undefined },
        { path: "link", kind: "added", type: "symlink", symlinkTarget: "edit.txt", remoteOnly: false },
        deleted("old.txt"),
      ],
      false,
      context({ [sha("from a blob")]: "from a blob" }),
    );
    expect(applied).toEqual({
      added: ["big/data.bin", "link"],
      modified: ["edit.txt"],
      deleted: ["old.txt"],
      remoteOnly: 0,
      refused: [],
      truncated: false,
    });
    expect(readFileSync(join(root, "edit.txt"), "utf8")).toBe("after");
    expect(readFileSync(join(root, "big/data.bin"), "utf8")).toBe("from a blob");
    expect(lstatSync(join(root, "big/data.bin")).mode & 0o7777).toBe(0o755);
    expect(readlinkSync(join(root, "link"))).toBe("edit.txt");
    expect(existsSync(join(root, "old.txt"))).toBe(false);
    expect(tree(root)).toEqual(["big", "big/data.bin", "edit.txt", "link"]);
  });

  it("refuses hostile paths and never writes outside the root", async () => {
    symlinkSync(outside, join(root, "escape"));
    writeFileSync(join(root, "plain"), "a file");
    writeFileSync(join(outside, "victim"), "keep me");
    const hostile = [
      "../x",
      "/etc/x",
      "a/../../x",
      "escape/x",
      "escape/victim",
      "nul\0x",
      "plain/x",
      ".git/hooks/pre-commit",
      "./x",
      "a//b",
    ];
    const { applied } = await applyChanges(
      [...hostile.map((path) => file(path, "pwned")), deleted("escape/victim"), file("ok.txt", "fine")],
      false,
      context(),
    );
    expect(applied.added).toEqual(["ok.txt"]);
    expect(applied.refused.map((refusal) => refusal.path).sort()).toEqual([...hostile, "escape/victim"].sort());
    expect(tree(outside)).toEqual(["victim"]);
    expect(readFileSync(join(outside, "victim"), "utf8")).toBe("keep me");
    expect(tree(root)).toEqual(["escape", "ok.txt", "plain"]);
  });

  it("refuses a file where a directory is, FIFOs, and a path the same list makes a file", async () => {
    mkdirSync(join(root, "dir"));
    writeFileSync(join(root, "dir/inside"), "x");
    const { applied } = await applyChanges(
      [
        file("dir", "in the way"),
        { path: "fifo", kind: "added", type: "special", remoteOnly: false },
        file("made", "a file"),
        file("made/child", "under a file"),
      ],
      false,
      context(),
    );
    expect(applied.added).toEqual(["made"]);
    expect(applied.refused.map((refusal) => refusal.path).sort()).toEqual(["dir", "fifo", "made/child"]);
    expect(readFileSync(join(root, "dir/inside"), "utf8")).toBe("x");
  });

  it("lets a directory take the place of a file the same list deletes", async () => {
    writeFileSync(join(root, "thing"), "a file");
    const { applied } = await applyChanges([deleted("thing"), file("thing/now-a-dir", "x")], false, context());
    expect(applied).toMatchObject({ deleted: ["thing"], added: ["thing/now-a-dir"], refused: [] });
    expect(readFileSync(join(root, "thing/now-a-dir"), "utf8")).toBe("x");
  });

  it("applies nothing when a content cannot be had", async () => {
    writeFileSync(join(root, "old.txt"), "old");
    const changes = [file("a.txt", "inline"), deleted("old.txt"), { ...file("b.txt", "evicted"), content: undefined }];
    await expect(applyChanges(changes, false, context())).rejects.toThrow(/no blob/);
    expect(tree(root)).toEqual(["old.txt"]);
  });

  it("reads up to 8 blobs at once, and applies nothing, with nothing left running, when one read fails", async () => {
    writeFileSync(join(root, "old.txt"), "old");
    const contents = Array.from({ length: 20 }, (_, index) => `blob ${index}`);
    const changes = [
      deleted("old.txt"),
      ...contents.map((content, index) => ({ ...file(`dir/${index}.txt`, content), content: undefined })),
    ];
    let reading = 0;
    let mostAtOnce = 0;
    let readsAfterTheEnd = 0;
    let ended = false;
    const readBlob = async (digest: BlobDigest): Promise<Buffer> => {
      reading += 1;
      mostAtOnce = Math.max(mostAtOnce, reading);
      // Slow enough for the others to start meanwhile; the failing one ends before the rest.
      const content = contents.find((candidate) => sha(candidate) === digest.sha256)!;
      await new Promise((resolve) => setTimeout(resolve, content === "blob 3" ? 5 : 50));
      reading -= 1;
      if (ended) readsAfterTheEnd += 1;
      if (content === "blob 3") throw new Error("ReadBlob failed");
      return Buffer.from(content);
    };
    await expect(applyChanges(changes, false, context({}, { readBlob }))).rejects.toThrow("ReadBlob failed");
    ended = true;
    expect(mostAtOnce).toBe(8);
    expect(reading).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(readsAfterTheEnd).toBe(0);
    expect(tree(root)).toEqual(["old.txt"]);
  });

  it("applies nothing when a content does not match its digest", async () => {
    const forged = { ...file("a.txt", "claimed"), content: Buffer.from("forged!") };
    await expect(applyChanges([forged], false, context())).rejects.toMatchObject({ code: "INTERNAL" });
    expect(tree(root)).toEqual([]);
  });

  it("does not write remote-only changes, and returns them for the next manifest", async () => {
    const change = { ...file("node_modules/x/i.js", "1"), content: undefined, remoteOnly: true };
    const byGlob = file("cache/y", "2");
    const result = await applyChanges([change, byGlob], true, context({}, { isRemoteOnly: (path) => path.startsWith("cache/") }));
    expect(result.applied).toMatchObject({ added: [], remoteOnly: 2, truncated: true });
    expect(result.remoteOnly.map((c) => c.path)).toEqual(["node_modules/x/i.js", "cache/y"]);
    expect(tree(root)).toEqual([]);
  });

  it("records written files in the hash cache", async () => {
    const cache = new HashCache();
    await applyChanges([file("a.txt", "content")], false, context({}, { cache }));
    expect(cache.get("a.txt", lstatSync(join(root, "a.txt"), { bigint: true }))).toBe(sha("content"));
  });
});
