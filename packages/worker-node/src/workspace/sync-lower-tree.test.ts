import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openTestBlobs, type TestBlobs } from "../../test/support/workspace-store.js";
import { syncLowerTree, type LowerTree } from "./sync-lower-tree.js";
import type { ManifestEntry } from "./validate-workspace.js";

const OWNER = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

let blobs: TestBlobs;
let dir: string;
let tree: string;
beforeEach(async () => {
  blobs = await openTestBlobs();
  dir = await mkdtemp(join(tmpdir(), "sync-tree-"));
  tree = join(dir, "tree");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
  await blobs.remove();
});

/** A manifest of files (path -> content, or [content, mode]) and links (path -> { link: target }). */
async function manifest(spec: Record<string, string | [string, number] | { link: string }>): Promise<ManifestEntry[]> {
  const entries: ManifestEntry[] = [];
  for (const [path, value] of Object.entries(spec)) {
    if (typeof value === "object" && !Array.isArray(value)) entries.push({ kind: "link", path, target: value.link });
    else {
      const [content, mode] = typeof value === "string" ? [value, 0o644] : value;
      entries.push({ kind: "file", path, digest: await blobs.put(content), mode });
    }
  }
  return entries.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** What the tree holds, path -> what and its inode (a kept file keeps its inode). */
function contents(root: string, prefix = ""): Record<string, string> {
  const found: Record<string, string> = {};
  for (const name of readdirSync(join(root, prefix)).sort()) {
    const path = prefix === "" ? name : `${prefix}/${name}`;
    const stats = lstatSync(join(root, path));
    const mode = (stats.mode & 0o777).toString(8);
    if (stats.isDirectory()) Object.assign(found, { [path]: `dir ${mode}` }, contents(root, path));
    else if (stats.isSymbolicLink()) found[path] = `-> ${readlinkSync(join(root, path))}`;
    else found[path] = `${readFileSync(join(root, path), "utf8")} ${mode} #${stats.ino}`;
  }
  return found;
}

const inode = (path: string) => `#${lstatSync(join(tree, path)).ino}`;

describe("syncLowerTree", () => {
  it("builds the tree, then copies nothing for the same manifest", async () => {
    const entries = await manifest({ a: "a", "d/b": "b", "d/e/c": "c", l: { link: "a" } });
    const first = await syncLowerTree(tree, undefined, "alice", entries, blobs.blobs, OWNER);
    expect(first.copied).toBe(3);
    const before = contents(tree);
    expect(before).toEqual({
      a: `a 644 ${inode("a")}`,
      d: "dir 755",
      "d/b": `b 644 ${inode("d/b")}`,
      "d/e": "dir 755",
      "d/e/c": `c 644 ${inode("d/e/c")}`,
      l: "-> a",
    });
    const second = await syncLowerTree(tree, first.tree, "alice", entries, blobs.blobs, OWNER);
    expect(second.copied).toBe(0);
    expect(contents(tree)).toEqual(before);
  });

  it("replaces only what changed: digest, mode, link target, removed entries, a directory become a file and back", async () => {
    const old = await manifest({
      digest: "old",
      mode: "m",
      same: "s",
      link: { link: "same" },
      removed: "r",
      "to-file/x": "x",
      "to-dir": "f",
      "empty/after/gone": "g",
    });
    const first = await syncLowerTree(tree, undefined, "alice", old, blobs.blobs, OWNER);
    const kept = inode("same");
    const next = await manifest({
      digest: "new",
      mode: ["m", 0o755],
      same: "s",
      link: { link: "digest" },
      "to-file": "now a file",
      "to-dir/y": "y",
    });
    const second = await syncLowerTree(tree, first.tree, "alice", next, blobs.blobs, OWNER);
    expect(second.copied).toBe(4);
    expect(contents(tree)).toEqual({
      digest: `new 644 ${inode("digest")}`,
      link: "-> digest",
      mode: `m 755 ${inode("mode")}`,
      same: `s 644 ${kept}`,
      "to-dir": "dir 755",
      "to-dir/y": `y 644 ${inode("to-dir/y")}`,
      "to-file": `now a file 644 ${inode("to-file")}`,
    });
    expect([...second.tree.entries.keys()]).toEqual(next.map((entry) => entry.path));
  });

  it("changes a file in a directory that stays, however deep, the directory's other entries kept", async () => {
    const first = await syncLowerTree(
      tree,
      undefined,
      "alice",
      await manifest({ "d/a": "1", "d/e/x": "x", "d/b": "b" }),
      blobs.blobs,
      OWNER,
    );
    const kept = inode("d/b");
    const next = await manifest({ "d/a": "2", "d/e/x": "y", "d/b": "b" });
    const second = await syncLowerTree(tree, first.tree, "alice", next, blobs.blobs, OWNER);
    expect(second.copied).toBe(2);
    expect(contents(tree)).toEqual({
      d: "dir 755",
      "d/a": `2 644 ${inode("d/a")}`,
      "d/b": `b 644 ${kept}`,
      "d/e": "dir 755",
      "d/e/x": `y 644 ${inode("d/e/x")}`,
    });
  });

  it("rebuilds a tree another caller's blobs built, or whose contents are unknown", async () => {
    const entries = await manifest({ a: "a", "d/b": "b" });
    const first = await syncLowerTree(tree, undefined, "alice", entries, blobs.blobs, OWNER);
    const other = await syncLowerTree(tree, first.tree, "bob", entries, blobs.blobs, OWNER);
    expect(other.copied).toBe(2);
    expect(other.tree.scope).toBe("bob");
    const unknown: LowerTree | undefined = undefined;
    expect((await syncLowerTree(tree, unknown, "bob", entries, blobs.blobs, OWNER)).copied).toBe(2);
    expect(Object.keys(contents(tree))).toEqual(["a", "d", "d/b"]);
  });
});
