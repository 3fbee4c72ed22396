import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { readFile, rm, writeFile } from "node:fs/promises";
import type { TestWorker } from "../harness.js";
import { describeSandbox } from "../support/conditions.js";
import { startSandboxWorker } from "./sandbox-harness.js";

const HOST_FILE = `/etc/ocw-host-secret-${process.pid}`;
let t: TestWorker;

describeSandbox("files in and out of a hostile job", () => {
  beforeAll(async () => {
    await writeFile(HOST_FILE, "host secret\n", { mode: 0o644 });
    t = await startSandboxWorker();
  });
  afterAll(async () => {
    await t.stop();
    await rm(HOST_FILE, { force: true });
  });

  it("strips setuid and setgid from input modes", async () => {
    const result = await t.client.run({ command: "stat -c %a tool", files: { tool: { content: "#!/bin/sh\n", mode: 0o6755 } } });
    expect(result.stdoutText).toBe("755\n");
  });

  it("collects only regular files: links to host files, directory links, FIFOs, sockets and hard links are skipped", async () => {
    const result = await t.client.run({
      command: [
        'cd "$OPENCODE_OUTPUT_DIR"',
        "echo real > real.txt",
        `ln -s ${HOST_FILE} host-link.txt`,
        "ln -s /etc etc-dir",
        "mkfifo pipe",
        "python3 -c \"import socket; socket.socket(socket.AF_UNIX).bind('sock')\"",
        "echo shared > orig.txt && ln orig.txt hard.txt",
      ].join(" && "),
    });
    expect(result.artifacts.map((artifact) => artifact.path)).toEqual(["real.txt"]);
    const skipped = Object.fromEntries(result.skippedArtifacts.map((entry) => [entry.path, entry.reason]));
    expect(skipped["host-link.txt"]).toMatch(/symlink/);
    expect(skipped["etc-dir"]).toMatch(/symlink/);
    expect(skipped["pipe"]).toMatch(/fifo/);
    expect(skipped["sock"]).toMatch(/socket/);
    expect(skipped["hard.txt"]).toMatch(/hard link/);
    expect(JSON.stringify(result)).not.toContain("host secret");
    const job = await t.client.job(result.jobId);
    await expect(job.readArtifactBuffer("host-link.txt")).rejects.toThrow(/not collected: symlink/);
  });

  it("is not fooled by a job that swaps a file for a link while it still runs: collection waits for the tree to die", async () => {
    const result = await t.client.run({
      command: `cd "$OPENCODE_OUTPUT_DIR"; (while :; do echo data > race.txt; ln -sf ${HOST_FILE} race.txt; done) & sleep 0.3; exit 0`,
    });
    const race = result.artifacts.find((artifact) => artifact.path === "race.txt");
    if (race) expect(race.content?.toString()).toBe("data\n");
    else expect(result.skippedArtifacts.find((entry) => entry.path === "race.txt")?.reason).toMatch(/symlink/);
    expect(JSON.stringify(result)).not.toContain("host secret");
    expect(await readFile(HOST_FILE, "utf8")).toBe("host secret\n");
  });

  it("caps artifact counts and keeps a partial list (10^5 tiny files)", async () => {
    const small = await startSandboxWorker({ session: { max_artifacts: 1000 } });
    try {
      const result = await small.client.run({
        command: "cd \"$OPENCODE_OUTPUT_DIR\" && python3 -c \"[open(f'f{i:06}', 'w').write('x') for i in range(100000)]\"",
        limits: { maxDisk: "512MiB", timeoutMs: 120_000 },
      });
      expect(result.artifacts.length).toBe(1000);
      expect(result.skippedArtifacts.some((entry) => entry.reason.includes("session.max_artifacts"))).toBe(true);
    } finally {
      await small.stop();
    }
  }, 180_000);

  it("writes inputs into a fresh session: a link planted by an earlier job cannot redirect them", async () => {
    const first = await t.client.run({ command: `ln -s ${HOST_FILE} planted.txt; ls -l planted.txt` });
    expect(first.stdoutText).toContain("->");
    const second = await t.client.run({ command: "cat planted.txt", files: { "planted.txt": "overwritten?\n" } });
    expect(second.stdoutText).toBe("overwritten?\n");
    expect(await readFile(HOST_FILE, "utf8")).toBe("host secret\n");
  });
});
