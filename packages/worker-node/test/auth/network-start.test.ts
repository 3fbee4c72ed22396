import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFile } from "node:child_process";
import { mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { WorkerClient } from "@opencode-worker/master-client";
import { eventually } from "../harness.js";
import { BIN, BIN_ENV, startBinWorker } from "../bin-harness.js";
import { tokenLine } from "../support/certificates.js";

/* The bin as an operator runs it: what a network-facing start refuses, warns about, and reloads. */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ocw-network-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const accepted = (address: string, token: string): Promise<boolean> => {
  const client = WorkerClient.lazy({ address, token, retry: { maxAttempts: 1 } });
  return client
    .listSessions()
    .then(
      () => true,
      () => false,
    )
    .finally(() => client.close());
};

describe("a non-loopback grpc.host", () => {
  it("is refused without TLS and authentication: exit 2 naming the keys to set", async () => {
    const failure = await promisify(execFile)(
      process.execPath,
      [BIN, "serve", "--grpc.host=0.0.0.0", "--grpc.port=0", "--metrics.port=0", `--session.base_dir=${join(dir, "refused")}`],
      { env: BIN_ENV },
    ).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    for (const key of ["grpc.host", "tls.cert_file", "tls.key_file", "auth.token_file", "tls.client_ca_file", "grpc.insecure"]) {
      expect(failure?.stderr).toContain(key);
    }
  });

  it("starts with grpc.insecure=true, with a warning at start", async () => {
    const logLines: string[] = [];
    const worker = await startBinWorker(["--grpc.host=0.0.0.0", "--grpc.insecure=true", `--session.base_dir=${join(dir, "insecure")}`], {
      logLines,
    });
    await worker.stop();
    const warnings = logLines.map((line) => JSON.parse(line) as { level: number; msg: string }).filter((entry) => entry.level === 40);
    expect(warnings.some((entry) => entry.msg.includes("grpc.insecure"))).toBe(true);
  });
});

describe("auth.token_file", () => {
  it("is re-read on SIGHUP", async () => {
    const tokenFile = join(dir, "tokens");
    // Whole seconds, so the same mtime can be written back exactly: only the signal can reveal the edit.
    const mtime = new Date(1_700_000_000_000);
    await writeFile(tokenFile, tokenLine("alice", "alice-token"));
    await utimes(tokenFile, mtime, mtime);
    const worker = await startBinWorker([`--auth.token_file=${tokenFile}`, `--session.base_dir=${join(dir, "sighup")}`]);
    try {
      expect(await accepted(worker.address, "alice-token")).toBe(true);
      // Same size, same inode, same mtime: the change poll sees nothing.
      await writeFile(tokenFile, tokenLine("carol", "carol-token"));
      await utimes(tokenFile, mtime, mtime);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await accepted(worker.address, "carol-token")).toBe(false);
      process.kill(worker.pid, "SIGHUP");
      await eventually(() => accepted(worker.address, "carol-token"), 5000);
      expect(await accepted(worker.address, "alice-token")).toBe(false);
    } finally {
      await worker.stop();
    }
  });
});
