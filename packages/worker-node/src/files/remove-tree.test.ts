import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nestDirectories } from "../../test/support/deep-tree.js";
import { removeTree } from "./remove-tree.js";

let root: string;
let tree: string;
let outside: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "remove-tree-"));
  tree = join(root, "tree");
  outside = join(root, "outside");
  await mkdir(tree);
  await mkdir(join(outside, "sub"), { recursive: true });
  await writeFile(join(outside, "keep"), "outside");
  await writeFile(join(outside, "sub", "keep"), "outside too");
});

afterEach(() => {
  // GNU rm, whatever the test left.
  execFileSync("rm", ["-rf", root]);
});

describe("removeTree", () => {
  it("removes a tree deeper than PATH_MAX, unlinking links to directories outside without entering them", async () => {
    const name = "n".repeat(20);
    // 600 levels of 21 bytes: a 12,600-byte path, three times PATH_MAX.
    nestDirectories(tree, name, 600, (dir, level) => {
      writeFileSync(`${dir}/file`, String(level));
      if (level % 100 === 0) symlinkSync(outside, `${dir}/to-outside`);
      if (level % 100 === 50) symlinkSync("../..", `${dir}/loop`);
    });
    await symlink(outside, join(tree, "outside-link"));
    await symlink(join(outside, "keep"), join(tree, "file-link"));
    // A name that is not UTF-8, and a FIFO.
    writeFileSync(Buffer.concat([Buffer.from(`${tree}/`), Buffer.from([0xff, 0xfe])]), "not utf-8");
    execFileSync("mkfifo", [join(tree, "fifo")]);

    await removeTree(tree);

    await expect(lstat(tree)).rejects.toMatchObject({ code: "ENOENT" });
    expect((await readdir(outside)).sort()).toEqual(["keep", "sub"]);
    expect(await readFile(join(outside, "keep"), "utf8")).toBe("outside");
    expect(await readFile(join(outside, "sub", "keep"), "utf8")).toBe("outside too");
  }, 60_000);

  it("removes wide directories and many siblings", async () => {
    for (let dir = 0; dir < 20; dir++) {
      mkdirSync(join(tree, `d${dir}`));
      for (let file = 0; file < 500; file++) writeFileSync(join(tree, `d${dir}`, `f${file}`), "x");
    }
    await removeTree(tree);
    await expect(lstat(tree)).rejects.toMatchObject({ code: "ENOENT" });
  }, 60_000);

  it("unlinks a root that is a link, leaving what it points to, and takes an absent root as removed", async () => {
    const link = join(root, "link");
    await symlink(outside, link);
    await removeTree(link);
    await expect(lstat(link)).rejects.toMatchObject({ code: "ENOENT" });
    expect((await readdir(outside)).sort()).toEqual(["keep", "sub"]);
    await expect(removeTree(join(root, "absent"))).resolves.toBeUndefined();
  });
});
