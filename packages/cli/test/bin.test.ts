import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, BIN_ENV, startBinWorker, type BinWorker } from "../../worker-node/test/bin-harness.js";
import { outcomeOf, runBin } from "./support/run-bin.js";

function run(command: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return outcomeOf(spawn(command, args, { env: BIN_ENV }));
}

/** Mounting a FUSE file system takes root and /dev/fuse; skipped without them, except under CI=true. */
const canMountFuse = process.getuid?.() === 0 && existsSync("/dev/fuse");
const itMountingFuse = canMountFuse || process.env.CI === "true" ? it : it.skip;
if (!canMountFuse && process.env.CI !== "true") console.warn("hung file system test skipped: it needs root and /dev/fuse");

let baseDir: string;
let server: BinWorker;
let address: string;
beforeAll(async () => {
  baseDir = await mkdtemp(join(tmpdir(), "ocw-bin-"));
  server = await startBinWorker([`--session.base_dir=${baseDir}`]);
  address = server.address;
});
afterAll(async () => {
  await server.stop();
  await rm(baseDir, { recursive: true, force: true });
});

describe("opencode-worker run", () => {
  it("streams the job's output and exits with its exit code", async () => {
    const { code, stdout, stderr } = await runBin(["run", "--address", address, "--", "echo out; echo err >&2; exit 7"]);
    expect(code).toBe(7);
    expect(stdout).toBe("out\n");
    expect(stderr).toContain("err\n");
    expect(stderr).toContain("exited with code 7");
  });

  it("runs several words as an argv, without a shell", async () => {
    const { code, stdout } = await runBin(["run", "--address", address, "--", "echo", "a;b"]);
    expect(code).toBe(0);
    expect(stdout).toBe("a;b\n");
  });

  it("exits 124 for a timed-out job, as timeout(1) does, and says which limit to raise", async () => {
    const { code, stderr } = await runBin(["run", "--address", address, "--timeout-ms", "300", "--", "sleep 30"]);
    expect(code).toBe(124);
    expect(stderr).toContain("limits.timeoutMs");
  });

  it("prints the worker's refusal without a stack trace and exits 125, docker's code for its own errors", async () => {
    const { code, stderr } = await runBin(["run", "--address", address, "--", "sudo id"]);
    expect(code).toBe(125);
    expect(stderr).toContain("sudo");
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});

describe("the command line", () => {
  it.each([
    ["an unknown flag", ["run", "--adress", "127.0.0.1:1", "--", "true"]],
    ["an unknown command", ["frobnicate"]],
    ["no command after `--`", ["run", "--address", "127.0.0.1:1"]],
  ])("exits 2 with the usage for %s", async (_case, args) => {
    const { code, stdout, stderr } = await runBin(args);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain("usage:");
  });

  it("prints the usage for --help and exits 0", async () => {
    const { code, stdout } = await runBin(["--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("usage:");
  });

  it("finds the worker from configuration settings when run has no --address", async () => {
    const port = address.slice(address.lastIndexOf(":") + 1);
    const { code, stdout } = await runBin(["run", "--grpc.port", port, "--", "echo", "found"]);
    expect(code).toBe(0);
    expect(stdout).toBe("found\n");
  });

  it("exits 2 naming the key for a bad setting given to run", async () => {
    const { code, stderr } = await runBin(["run", "--grpc.prot=1", "--", "true"]);
    expect(code).toBe(2);
    expect(stderr).toContain("grpc.prot");
  });
});

describe("opencode-worker serve", () => {
  it("exits 2 naming the key, the value and the source for a bad setting", async () => {
    const { code, stderr } = await runBin(["serve", "--worker.concurrency=lots"]);
    expect(code).toBe(2);
    expect(stderr).toContain("worker.concurrency");
    expect(stderr).toContain("lots");
  });

  it.each(["/proc/ocw-test", "/sys/ocw-test"])("exits 2 naming session.base_dir for %s, a kernel file system", async (dir) => {
    const { code, stderr } = await runBin(["serve", `--session.base_dir=${dir}`]);
    expect(code).toBe(2);
    expect(stderr).toContain(`session.base_dir: expected a directory the worker can create and write`);
    expect(stderr).toContain("a kernel file system that stores no files");
    expect(stderr).toContain(dir);
  });

  itMountingFuse("exits 2 naming session.base_dir on a file system that never answers", async () => {
    const mountPoint = await mkdtemp(join(tmpdir(), "ocw-hung-"));
    try {
      // A FUSE mount whose daemon (this sh, holding /dev/fuse) never answers, so every call under it
      // blocks, as on a hung network mount; in a mount namespace of its own, which ends with it.
      const script =
        'exec 3<>/dev/fuse && mount -i -t fuse ocw-hung "$1" -o fd=3,rootmode=40000,user_id=0,group_id=0 && shift && "$@" 3>&-';
      const baseDir = join(mountPoint, "sessions");
      const worker = [process.execPath, BIN, "serve", `--session.base_dir=${baseDir}`];
      const { code, stderr } = await run("unshare", ["--mount", "sh", "-c", script, "sh", mountPoint, ...worker]);
      expect(stderr).toContain(`session.base_dir: expected a directory the worker can create and write (${baseDir} did not respond`);
      expect(code).toBe(2);
    } finally {
      await rm(mountPoint, { recursive: true, force: true });
    }
  });

  it("stops gracefully on SIGTERM with exit code 0", async () => {
    expect(await server.stop()).toBe(0);
  });
});
