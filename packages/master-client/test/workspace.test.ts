/**
 * A local directory run over on a real sandboxed worker: the manifest goes up with only the blobs
 * the worker lacks, the command's changes come back and are applied, remote-only paths stay remote.
 */
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from "@jest/globals";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// Test-only: the SDK never depends on the worker, but this suite runs the real one.
import type { TestWorker } from "../../worker-node/test/harness.js";
import { startSandboxWorker } from "../../worker-node/test/isolation/sandbox-harness.js";
import { describeSandbox } from "../../worker-node/test/support/conditions.js";

describeSandbox("RemoteWorkspace against a sandboxed worker", () => {
  let t: TestWorker;
  let root: string;
  beforeAll(async () => {
    t = await startSandboxWorker();
  });
  afterAll(async () => t?.stop());
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "ocw-workspace-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("runs over the directory and applies what the command changed", async () => {
    writeFileSync(join(root, "package.json"), '{ "name": "demo" }\n');
    writeFileSync(join(root, "old.txt"), "old\n");
    mkdirSync(join(root, "src"));
    writeFileSync(join(root, "src/index.js"), "console.log(1)\n");
    const workspace = t.client.workspace(root);
    const output: string[] = [];

    const first = await workspace.run(
      { command: "echo made > made.txt && rm old.txt && cat package.json" },
      { onOutput: (_stream, data) => output.push(data.toString()) },
    );
    expect(first.result.state).toBe("finished");
    expect(first.result.stdoutText).toContain('"name": "demo"');
    expect(output.join("")).toContain('"name": "demo"');
    expect(first.sync).toMatchObject({ entries: 3, hashedFiles: 3 });
    expect(first.applied).toMatchObject({ added: ["made.txt"], modified: [], deleted: ["old.txt"], refused: [] });
    expect(readFileSync(join(root, "made.txt"), "utf8")).toBe("made\n");
    expect(existsSync(join(root, "old.txt"))).toBe(false);

    const second = await workspace.run({ command: "true" });
    // Every content was on the worker after the first run: not even FindMissingBlobs is asked.
    expect(second.sync).toMatchObject({ hashedFiles: 0, checkedBlobs: 0, missingBlobs: 0, uploadedBlobs: 0, uploadedBytes: 0 });
    expect(second.applied).toMatchObject({ added: [], modified: [], deleted: [] });
  });

  it("keeps remote-only paths on the worker and lists them in the next manifest", async () => {
    writeFileSync(join(root, "package.json"), "{}\n");
    const workspace = t.client.workspace(root, { remoteOnly: ["node_modules/**"] });
    const install = await workspace.run({ command: "mkdir -p node_modules/x && echo 1 > node_modules/x/i.js" });
    expect(install.applied).toMatchObject({ added: [], remoteOnly: 1 });
    expect(existsSync(join(root, "node_modules"))).toBe(false);

    const before = await t.client.metrics();
    const test = await workspace.run({ command: "cat node_modules/x/i.js" });
    expect(test.result.stdoutText).toBe("1\n");
    expect(test.sync).toMatchObject({ entries: 2, uploadedBlobs: 0 });
    expect((await t.client.metrics()).blobsUploadedTotal).toBe(before.blobsUploadedTotal);
    expect(existsSync(join(root, "node_modules"))).toBe(false);
  });

  it("cannot be made to write outside the root by a command that plants links and `..` names", async () => {
    const outside = mkdtempSync(join(tmpdir(), "ocw-outside-"));
    try {
      writeFileSync(join(root, "a.txt"), "a\n");
      const workspace = t.client.workspace(root);
      const { applied } = await workspace.run({
        command: `ln -s ${outside} escape && ln -s /etc etc-link && mkfifo pipe && echo hi > 'odd..name'`,
      });
      // Links come back as links, never followed: nothing lands in their targets.
      expect(applied.added.sort()).toEqual(["escape", "etc-link", "odd..name"]);
      expect(applied.refused.map((refusal) => refusal.path)).toEqual(["pipe"]);
      const next = await workspace.run({ command: "echo x > escape/planted; echo y > etc-link/planted; true" });
      expect(next.applied.added).toEqual([]);
      expect(existsSync(join(outside, "planted"))).toBe(false);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});

describeSandbox("RemoteWorkspace when the worker evicted its blobs", () => {
  let t: TestWorker;
  let root: string;
  beforeAll(async () => {
    // The smallest store: 16 MiB, so a few uploads evict what a workspace left.
    t = await startSandboxWorker({ blobs: { max_bytes: "16MiB" } });
  });
  afterAll(async () => t?.stop());
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "ocw-workspace-evicted-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** Uploads `count` distinct 1 MiB blobs in one call: the store makes room by evicting its least recently used. */
  async function flood(count: number): Promise<void> {
    const blobs = Array.from({ length: count }, (_, index) => {
      const content = randomBytes(1024 * 1024);
      const path = join(root, `.flood-${index}`);
      writeFileSync(path, content);
      return { sha256: createHash("sha256").update(content).digest("hex"), size: content.length, path };
    });
    await t.client.uploadBlobs(blobs);
    for (const { path } of blobs) rmSync(path);
  }

  describe("between two runs", () => {
    it("uploads the project's contents again and forgets remote-only entries it cannot send", async () => {
      writeFileSync(join(root, "a.txt"), "a\n");
      const workspace = t.client.workspace(root, { remoteOnly: ["node_modules/**"] });
      await workspace.run({ command: "mkdir -p node_modules/x && echo 1 > node_modules/x/i.js" });
      expect((await workspace.run({ command: "true" })).sync).toMatchObject({ checkedBlobs: 0, uploadedBlobs: 0 });

      await flood(10);
      await flood(10);
      // Dispatch refuses the manifest (its blobs are gone), the run asks, uploads a.txt and leaves node_modules out.
      const again = await workspace.run({ command: "cat a.txt; ls node_modules 2>&1 || true" });
      expect(again.result.state).toBe("finished");
      expect(again.result.stdoutText).toMatch(/^a\nls: .*node_modules.*No such file or directory\n$/);
      // Both contents were gone: a.txt is sent again, the remote-only one cannot be and its entry is dropped.
      expect(again.sync).toMatchObject({ entries: 1, missingBlobs: 2, uploadedBlobs: 1 });
      expect(again.sync.checkedBlobs).toBeGreaterThan(0);
    });
  });
});
