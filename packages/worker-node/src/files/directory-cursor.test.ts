import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rename, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DirectoryCursor, type Directory } from "./directory-cursor.js";

// COLLECT runs once the job's tree is dead, so nothing moves under the walk; these tests move things
// anyway, between two steps of the cursor, to show that it notices instead of going where it is led.
let root: string;
let output: string;
let host: string;
let cursor: DirectoryCursor | undefined;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "directory-cursor-"));
  output = join(root, "output");
  host = join(root, "host");
  await mkdir(join(output, "a", "b"), { recursive: true });
  await mkdir(join(output, "a", "c"));
  await mkdir(join(host, "decoy"), { recursive: true });
});

afterEach(() => {
  cursor?.close();
  cursor = undefined;
  execFileSync("rm", ["-rf", root]);
});

function child(parent: Directory, name: string): Directory {
  return { path: parent.path === "" ? name : `${parent.path}/${name}`, name: Buffer.from(name), parent };
}

describe("DirectoryCursor", () => {
  it("goes down by names and back up through '..', listing what is really there", async () => {
    cursor = DirectoryCursor.open(output);
    const top = cursor.directory;
    const a = child(top, "a");
    const b = child(a, "b");
    const c = child(a, "c");
    expect(cursor.moveTo(a)).toBeUndefined();
    expect(cursor.moveTo(b)).toBeUndefined();
    expect(cursor.directory).toBe(b);
    expect(cursor.moveTo(c)).toBeUndefined();
    expect((await readdir(cursor.inside(Buffer.from("..")))).sort()).toEqual(["b", "c"]);
  });

  it("refuses to enter a directory that became a link to a host directory", async () => {
    cursor = DirectoryCursor.open(output);
    const a = child(cursor.directory, "a");
    await rm(join(output, "a"), { recursive: true });
    await symlink(host, join(output, "a"));
    expect(cursor.moveTo(a)).toBe("symlink");
    expect(cursor.directory.path).toBe("");
  });

  it("refuses to climb into a parent that is no longer the one it came down from", async () => {
    cursor = DirectoryCursor.open(output);
    const a = child(cursor.directory, "a");
    const b = child(a, "b");
    expect(cursor.moveTo(a)).toBeUndefined();
    expect(cursor.moveTo(b)).toBeUndefined();
    // b now lives in the host dir: its ".." is the host dir, not a.
    await rename(join(output, "a", "b"), join(host, "b"));
    expect(cursor.moveTo(child(a, "c"))).toBe("directory moved while being read");
    expect(cursor.directory).toBe(b);
  });

  it("says why the output dir itself cannot be opened", async () => {
    await rm(output, { recursive: true });
    await symlink(host, output);
    expect(() => DirectoryCursor.open(output)).toThrow(expect.objectContaining({ code: "ENOTDIR" }));
  });
});
