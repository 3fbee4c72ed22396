import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WorkerError } from "../errors.js";
import type { ValidatedFile } from "./write-inputs.js";
import { writeInputs } from "./write-inputs.js";

let root: string;
let work: string;
let outside: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "write-inputs-"));
  work = join(root, "work");
  outside = join(root, "target-dir");
  await mkdir(work);
  await mkdir(outside);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const file = (path: string, content = path, mode = 0o644): ValidatedFile => ({ path, content: Buffer.from(content), mode });

async function failure(promise: Promise<unknown>): Promise<WorkerError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(WorkerError);
  return error as WorkerError;
}

describe("writeInputs", () => {
  it("writes files and their directories with exact modes, whatever the umask", async () => {
    const previous = process.umask(0o077);
    try {
      await writeInputs(work, [file("a/b/run.sh", "#!/bin/sh\n", 0o755), file("c.txt", "hi", 0o664)]);
    } finally {
      process.umask(previous);
    }
    expect(await readFile(join(work, "a/b/run.sh"), "utf8")).toBe("#!/bin/sh\n");
    expect((await stat(join(work, "a/b/run.sh"))).mode & 0o7777).toBe(0o755);
    expect((await stat(join(work, "c.txt"))).mode & 0o7777).toBe(0o664);
    expect((await stat(join(work, "a"))).mode & 0o7777).toBe(0o755);
  });

  it("chowns files and created directories to the owner", async () => {
    const owner = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    await writeInputs(work, [file("d/x")], owner);
    for (const path of ["d", "d/x"]) {
      const stats = await stat(join(work, path));
      expect([stats.uid, stats.gid]).toEqual([owner.uid, owner.gid]);
    }
  });

  it("creates the cwd directory, and refuses a cwd that is one of the files", async () => {
    await writeInputs(work, [file("src/main.ts")], undefined, "src/app");
    expect((await lstat(join(work, "src/app"))).isDirectory()).toBe(true);
    const error = await failure(writeInputs(work, [file("x")], undefined, "x/y"));
    expect([error.code, error.context.field]).toEqual(["INVALID_ARGUMENT", "cwd"]);
  });

  it("does not follow a planted directory symlink, writes nothing outside, and leaves nothing behind", async () => {
    await symlink(outside, join(work, "a"));
    const error = await failure(writeInputs(work, [file("0-first"), file("a/x")]));
    expect(error.code).toBe("INTERNAL");
    expect(error.context.field).toBe('files["a/x"]');
    expect(await readdir(outside)).toEqual([]);
    // The file written before the failure was removed again; the planted link was not ours to remove.
    expect((await readdir(work)).sort()).toEqual(["a"]);
  });

  it("does not write through a planted file symlink", async () => {
    const target = join(outside, "victim");
    await writeFile(target, "original");
    await symlink(target, join(work, "x"));
    await failure(writeInputs(work, [file("x", "overwritten")]));
    expect(await readFile(target, "utf8")).toBe("original");
  });

  it("refuses a work dir that is itself a symlink", async () => {
    const linked = join(root, "linked-work");
    await symlink(outside, linked);
    await failure(writeInputs(linked, [file("x")]));
    expect(await readdir(outside)).toEqual([]);
  });

  it("is all or nothing: a failure removes the files and directories this call created", async () => {
    // A pre-existing entry (not the input's fault) makes the last file fail.
    await mkdir(join(work, "zz"));
    await writeFile(join(work, "zz/last"), "planted");
    await failure(writeInputs(work, [file("a/b/one"), file("c/two"), file("zz/last")]));
    expect((await readdir(work)).sort()).toEqual(["zz"]);
    expect(await readFile(join(work, "zz/last"), "utf8")).toBe("planted");
  });
});
