import { afterAll, expect, it } from "@jest/globals";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { credentials } from "@grpc/grpc-js";
import { FailedPreconditionError, WorkerClient } from "@opencode-worker/master-client";
import { BIN, BIN_ENV } from "../bin-harness.js";
import { WORKSPACE_MOUNT_SOURCE } from "../../src/sandbox/bwrap/mounts/workspace-overlay.js";
import { eventually, startTestWorker } from "../harness.js";
import { HealthClient } from "../health-client.js";
import { cgroupDirs, describeSandbox } from "../support/conditions.js";
import { processesOfWorker, startSandboxWorker } from "./sandbox-harness.js";

const scratch: string[] = [];
afterAll(() => Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true }))));

describeSandbox("crash recovery and the isolation probe", () => {
  it("sweeps the session dirs, mounts, cgroups and processes a SIGKILLed worker left behind", async () => {
    const baseDir = await mkdtemp(join(tmpdir(), "ocw-sweep-"));
    scratch.push(baseDir);
    const sessions = join(baseDir, "sessions");
    const uidBase = 400_000 + 64 * Math.floor(Math.random() * 1000);
    const child = spawn(
      process.execPath,
      [BIN, "serve", "--grpc.port=0", "--metrics.port=0", `--session.base_dir=${sessions}`, `--security.sandbox_uid_base=${uidBase}`],
      {
        env: BIN_ENV,
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let address = "";
    for await (const line of createInterface({ input: child.stdout! })) {
      const entry = JSON.parse(line) as { msg?: string; address?: string };
      if (entry.msg === "worker listening") {
        address = entry.address!;
        break;
      }
    }
    const client = await WorkerClient.connect({ address });
    // With a workspace: the work dir is an overlay of the slot's tree, which the sweep must unmount and wipe.
    const blob = join(baseDir, "blob");
    await writeFile(blob, "in the tree\n");
    const digest = { sha256: createHash("sha256").update("in the tree\n").digest("hex"), size: 12 };
    await client.uploadBlobs([{ path: blob, ...digest }]);
    const job = await client.dispatch({
      command: "echo up; sleep 1000",
      workspace: { entries: [{ path: "f", ...digest, mode: 0o644 }] },
    });
    let up = false;
    job.onStdout(() => (up = true), { onError: () => {} });
    await eventually(() => up);
    client.close();
    child.kill("SIGKILL");
    await once(child, "close");

    const sessionDir = join(sessions, `session-${job.sessionId}`);
    expect(await readdir(sessions)).toContain(`session-${job.sessionId}`);
    expect(await readFile("/proc/self/mountinfo", "utf8")).toContain(sessionDir);
    // The dead worker's per-slot view of the system files is mounted too.
    const slotViews = join(sessions, ".system", "slot-");
    expect(await readFile("/proc/self/mountinfo", "utf8")).toContain(slotViews);
    const overlay = `${sessionDir}/work rw,nosuid,nodev,relatime - overlay ${WORKSPACE_MOUNT_SOURCE} `;
    expect(await readFile("/proc/self/mountinfo", "utf8")).toContain(overlay);
    expect(await readdir(join(sessions, ".workspaces"))).toEqual([`slot-${uidBase}`]);

    const next = await startSandboxWorker({ session: { base_dir: sessions }, security: { sandbox_uid_base: uidBase } });
    try {
      expect((await readdir(sessions)).filter((name) => name.startsWith("session-"))).toEqual([]);
      expect(await readFile("/proc/self/mountinfo", "utf8")).not.toContain(sessionDir);
      expect(await readFile("/proc/self/mountinfo", "utf8")).not.toContain(slotViews);
      expect(await readFile("/proc/self/mountinfo", "utf8")).not.toContain(overlay);
      // The lower trees went too: nothing this worker holds says what they contained.
      expect(await readdir(join(sessions, ".workspaces")).catch(() => [])).toEqual([]);
      expect(cgroupDirs((name) => name.endsWith(`session-${job.sessionId}`))).toEqual([]);
      expect(processesOfWorker(next)).toEqual([]);
      expect((await next.client.run({ command: "echo fresh" })).stdoutText).toBe("fresh\n");
    } finally {
      await next.stop();
    }
  });
});

it("refuses jobs with FAILED_PRECONDITION and reports NOT_SERVING when bubblewrap is missing", async () => {
  const t = await startTestWorker({ security: { bwrap_path: "/nonexistent/bwrap" } });
  const health = new HealthClient(t.worker.address, credentials.createInsecure());
  try {
    expect(t.worker.isolation.mode).toBe("none");
    const error = await t.client.run({ command: "echo should not run" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect((error as Error).message).toMatch(/bubblewrap/);
    expect(await health.status()).toBe("NOT_SERVING");
    expect((await t.client.metrics()).isolationMode).toBe("none");
  } finally {
    health.close();
    await t.stop();
  }
});
