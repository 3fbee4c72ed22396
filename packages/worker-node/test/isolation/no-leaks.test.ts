import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import type { TestWorker } from "../harness.js";
import { describeSandbox, processesOfWorker, startSandboxWorker } from "./sandbox-harness.js";

let t: TestWorker;

describeSandbox("nothing leaks over many jobs", () => {
  beforeAll(async () => {
    t = await startSandboxWorker({ session: { result_ttl_ms: 1000 } });
  });
  afterAll(() => t.stop());

  it("leaves no session dir, mount, cgroup, process or retained memory behind after 1000 jobs", async () => {
    const sessions = new Set<string>();
    const kinds = ["true", "echo out; echo err >&2; exit 3", "sleep 0.01 & echo bg", 'echo x > "$OPENCODE_OUTPUT_DIR/a.txt"'];
    let next = 0;
    const runner = async (): Promise<void> => {
      while (next < 1000) {
        const command = kinds[next++ % kinds.length]!;
        const job = await t.client.dispatch({ command });
        sessions.add((await job.wait()).sessionId);
      }
    };
    await Promise.all(Array.from({ length: t.worker.config.worker.concurrency }, runner));
    expect(sessions.size).toBe(1000);

    expect(await t.sessionDirs()).toEqual([]);
    const mounts = await readFile("/proc/self/mountinfo", "utf8");
    expect([...sessions].filter((id) => mounts.includes(`session-${id}`))).toEqual([]);
    const cgroups = execFileSync("find", ["/sys/fs/cgroup", "-maxdepth", "8", "-type", "d", "-name", "*-session-*"], { encoding: "utf8" });
    expect([...sessions].filter((id) => cgroups.includes(id))).toEqual([]);
    expect(processesOfWorker(t)).toEqual([]);
    const metrics = await t.client.metrics();
    expect(metrics.active + metrics.queued).toBe(0);
    expect(metrics.rssBytes).toBeLessThan(300 * 1024 * 1024);
  }, 300_000);
});
