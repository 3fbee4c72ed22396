import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { startTestWorker, type TestWorker } from "./harness.js";

/** Mounting a small tmpfs over the worker's store needs root; under CI=true the suite never skips. */
const asRoot = process.getuid?.() === 0 || process.env.CI === "true" ? describe : describe.skip;
if (process.getuid?.() !== 0 && process.env.CI !== "true")
  console.warn("store-full tests skipped: they mount a tmpfs, which needs root (CI=true makes them mandatory)");

let t: TestWorker;
let store: string | undefined;

asRoot("the worker's artifact store is full: nothing is lost silently", () => {
  beforeAll(async () => {
    t = await startTestWorker();
    // The worker empties <base_dir>/.results at start, so the small file system goes over it afterwards.
    const results = join(t.worker.config.session.baseDir, ".results");
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", results]);
    store = results;
  });
  afterAll(async () => {
    if (store) execFileSync("umount", [store]);
    await t.stop();
  });

  it("lists each artifact as collected or skipped with the reason, and the result's message says what was not kept", async () => {
    const result = await t.client.run({
      command: [
        'cd "$OPENCODE_OUTPUT_DIR"',
        "head -c 300000 /dev/zero > a.bin",
        "head -c 300000 /dev/zero > b.bin",
        // Does not fit in what is left of the 1 MiB store.
        "head -c 600000 /dev/zero > c.bin",
        // Would fit, but the store already failed: kept out too, with the same reason.
        "head -c 100000 /dev/zero > d.bin",
        // Small enough to be held in memory (session.artifact_inline_bytes): needs no store, so it is kept.
        "echo small > e.txt",
      ].join(" && "),
    });
    expect(result.state).toBe("finished");
    expect(result.exitCode).toBe(0);
    expect(result.artifacts.map((artifact) => [artifact.path, artifact.sizeBytes])).toEqual([
      ["a.bin", 300_000],
      ["b.bin", 300_000],
      ["e.txt", 6],
    ]);
    const full = expect.stringMatching(/^not kept: the worker's artifact store is full \(ENOSPC\); .*session\.base_dir/);
    expect(result.skippedArtifacts).toEqual([
      { path: "c.bin", reason: full },
      { path: "d.bin", reason: full },
    ]);
    expect(result.message).toMatch(/^exited with code 0; 2 artifacts not kept: the worker's artifact store is full \(ENOSPC\)/);

    const job = await t.client.job(result.jobId);
    expect((await job.readArtifactBuffer("b.bin")).length).toBe(300_000);
    expect((await job.readArtifactBuffer("e.txt")).toString()).toBe("small\n");
    await expect(job.readArtifactBuffer("c.bin")).rejects.toThrow(/not collected: not kept: the worker's artifact store is full/);
  });
});
