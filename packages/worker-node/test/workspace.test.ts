import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { credentials, status, type ServiceError } from "@grpc/grpc-js";
import {
  ChangeKind,
  EntryType,
  JobSpec,
  WorkerServiceClient,
  type BlobDigest,
  type JobResult,
  type UploadBlobsRequest,
  type WorkspaceChange,
  type WorkspaceEntry,
} from "@opencode-worker/shared";
import type { BwrapDriver } from "../src/sandbox/bwrap/driver.js";
import { WORKSPACE_MOUNT_SOURCE, type SlotTreeState } from "../src/sandbox/bwrap/mounts/workspace-overlay.js";
import { startTestWorker, type TestWorker } from "./harness.js";
import { freeUidBase } from "./isolation/sandbox-harness.js";
import { describeSandbox } from "./support/conditions.js";

/*
 * Jobs over a content-addressed workspace on a real worker in the bwrap sandbox: the manifest is
 * there with its modes, what the command changed comes back exactly, a hostile command's links are
 * reported and never followed, and remote-only paths round-trip as digests.
 */
let t: TestWorker;
let raw: WorkerServiceClient;

function digestOf(content: string | Buffer): BlobDigest {
  return { sha256: createHash("sha256").update(content).digest("hex"), sizeBytes: String(Buffer.byteLength(content)) };
}

/** Uploads the files' contents and returns their manifest entries. */
async function upload(files: Record<string, string | Buffer>, modes: Record<string, number> = {}): Promise<WorkspaceEntry[]> {
  const entries = Object.entries(files).map(([path, content]) => ({
    path,
    digest: digestOf(content),
    mode: modes[path] ?? 0,
    symlinkTarget: "",
  }));
  await new Promise<void>((resolve, reject) => {
    const call = raw.uploadBlobs((error) => (error ? reject(error) : resolve()));
    for (const content of Object.values(files)) {
      const data = Buffer.from(content);
      // One chunk at least: an empty blob is one empty chunk.
      for (let offset = 0; offset === 0 || offset < data.length; offset += 1024 * 1024) {
        call.write({
          digest: digestOf(content),
          offset: String(offset),
          data: data.subarray(offset, offset + 1024 * 1024),
        } satisfies UploadBlobsRequest);
      }
    }
    call.end();
  });
  return entries;
}

function dispatch(spec: Partial<JobSpec>): Promise<string> {
  return new Promise((resolve, reject) =>
    raw.dispatch({ spec: JobSpec.fromPartial(spec) }, (error, response) => (error ? reject(error) : resolve(response!.jobId))),
  );
}

async function run(spec: Partial<JobSpec>): Promise<JobResult> {
  const jobId = await dispatch(spec);
  return new Promise((resolve, reject) =>
    raw.collect({ jobId, wait: true }, (error, response) => (error ? reject(error) : resolve(response!.result!))),
  );
}

/** The driver's record of the slot's lower tree the job ran on. */
function slotTree(result: JobResult): SlotTreeState {
  const uid = Number(/uid (\d+)/.exec(result.isolation)?.[1]);
  const tree = (t.worker.isolation.driver as BwrapDriver).slotTrees.get(uid);
  if (!tree) throw new Error(`no lower tree for uid ${uid} (${result.isolation})`);
  return tree;
}

/** The fields a test compares. */
const summary = (change: WorkspaceChange) => ({
  path: change.path,
  kind: ChangeKind[change.kind],
  type: EntryType[change.type],
  ...(change.digest && { digest: change.digest.sha256, mode: change.mode.toString(8) }),
  ...(change.symlinkTarget !== "" && { target: change.symlinkTarget }),
  ...(change.contentInline && { content: change.content.toString() }),
  ...(change.remoteOnly && { remoteOnly: true }),
});

describeSandbox("a job over a workspace", () => {
  beforeAll(async () => {
    // One slot of a uid range no other suite uses: every job here runs on the same slot's tree.
    t = await startTestWorker({
      governance: { command_policy: "off" },
      security: { sandbox_uid_base: freeUidBase() },
      worker: { concurrency: 1 },
    });
    raw = new WorkerServiceClient(t.worker.address, credentials.createInsecure());
  }, 60_000);
  afterAll(async () => {
    raw.close();
    await t.stop();
  });

  it("sees the manifest with its modes in $OPENCODE_WORK_DIR, and its changes come back exactly", async () => {
    const workspace = {
      entries: [
        ...(await upload({ "run.sh": "echo ran\n", old: "old\n", f: "f\n", "dir/keep": "kept\n" }, { "run.sh": 0o755 })),
        { path: "dir/link", symlinkTarget: "keep", mode: 0 },
      ],
      remoteOnly: [],
    };
    const result = await run({
      command:
        'test "$PWD" = "$OPENCODE_WORK_DIR" && stat -c "%a %n" run.sh f dir dir/keep && cat dir/link && ./run.sh && ' +
        "echo x > new; rm old; chmod +x f; ln -s /etc/passwd l; mkfifo p",
      workspace,
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout.toString()).toBe("755 run.sh\n644 f\n755 dir\n644 dir/keep\nkept\nran\n");
    expect(result.workspaceChanges?.truncated).toBe(false);
    expect(result.workspaceChanges?.changes.map(summary)).toEqual([
      { path: "f", kind: "CHANGE_KIND_MODIFIED", type: "ENTRY_TYPE_FILE", digest: digestOf("f\n").sha256, mode: "755", content: "f\n" },
      { path: "l", kind: "CHANGE_KIND_ADDED", type: "ENTRY_TYPE_SYMLINK", target: "/etc/passwd" },
      { path: "new", kind: "CHANGE_KIND_ADDED", type: "ENTRY_TYPE_FILE", digest: digestOf("x\n").sha256, mode: "644", content: "x\n" },
      { path: "old", kind: "CHANGE_KIND_DELETED", type: "ENTRY_TYPE_UNSPECIFIED" },
      { path: "p", kind: "CHANGE_KIND_ADDED", type: "ENTRY_TYPE_SPECIAL" },
    ]);
  });

  it("reports no change for a command that changes nothing, and runs in a cwd inside the manifest", async () => {
    const workspace = { entries: await upload({ "src/a.txt": "a\n", "src/b.txt": "b\n" }), remoteOnly: [] };
    const result = await run({ command: "cat a.txt b.txt > /dev/null && cat a.txt", cwd: "src", workspace });
    expect(result.stdout.toString()).toBe("a\n");
    expect(result.workspaceChanges).toEqual({ changes: [], truncated: false, truncatedReason: "" });
  });

  it("counts input files as what the work dir started with: only those the command changed come back", async () => {
    const workspace = { entries: await upload({ "a.txt": "a\n" }), remoteOnly: [] };
    const files = new Map([
      ["kept.txt", Buffer.from("kept\n")],
      ["edited.txt", Buffer.from("before\n")],
      ["gone.txt", Buffer.from("gone\n")],
      ["tool.sh", Buffer.from("exit 0\n")],
    ]);
    const fileModes = new Map([["tool.sh", 0o755]]);
    const result = await run({ command: "echo after > edited.txt && rm gone.txt", files, fileModes, workspace });
    expect(result.workspaceChanges?.changes.map(summary)).toEqual([
      {
        path: "edited.txt",
        kind: "CHANGE_KIND_MODIFIED",
        type: "ENTRY_TYPE_FILE",
        digest: digestOf("after\n").sha256,
        mode: "644",
        content: "after\n",
      },
      { path: "gone.txt", kind: "CHANGE_KIND_DELETED", type: "ENTRY_TYPE_UNSPECIFIED" },
    ]);
  });

  it("reports a hostile command's links as links, never following them", async () => {
    const workspace = { entries: await upload({ "a.txt": "a\n" }), remoteOnly: [] };
    const result = await run({
      command: "ln -s / escape; ln -s /etc etc; ln -s ../../../.. up; echo x > escape/etc/pwned; echo x > up/pwned; true",
      workspace,
    });
    expect(result.workspaceChanges?.changes.map(summary)).toEqual([
      { path: "escape", kind: "CHANGE_KIND_ADDED", type: "ENTRY_TYPE_SYMLINK", target: "/" },
      { path: "etc", kind: "CHANGE_KIND_ADDED", type: "ENTRY_TYPE_SYMLINK", target: "/etc" },
      { path: "up", kind: "CHANGE_KIND_ADDED", type: "ENTRY_TYPE_SYMLINK", target: "../../../.." },
    ]);
  });

  it("refuses a manifest naming a blob the caller's store lacks, FAILED_PRECONDITION", async () => {
    const missing = digestOf("never uploaded");
    const error = (await dispatch({
      argv: ["true"],
      workspace: { entries: [{ path: "x", digest: missing, mode: 0, symlinkTarget: "" }], remoteOnly: [] },
    }).catch((e: unknown) => e)) as ServiceError;
    expect(error.code).toBe(status.FAILED_PRECONDITION);
    expect(error.details).toContain(missing.sha256);
  });

  it("keeps remote-only paths on the worker: digests come back, and the next manifest can list them", async () => {
    const first = await run({
      command: "mkdir -p node_modules/dep && echo 'module.exports = 42' > node_modules/dep/index.js",
      workspace: { entries: await upload({ "package.json": "{}\n" }), remoteOnly: ["node_modules/**"] },
    });
    const [change] = first.workspaceChanges!.changes;
    expect(first.workspaceChanges!.changes.map(summary)).toEqual([
      {
        path: "node_modules/dep/index.js",
        kind: "CHANGE_KIND_ADDED",
        type: "ENTRY_TYPE_FILE",
        digest: digestOf("module.exports = 42\n").sha256,
        mode: "644",
        remoteOnly: true,
      },
    ]);
    const second = await run({
      command: "cat node_modules/dep/index.js",
      workspace: {
        entries: [{ path: change!.path, digest: change!.digest, mode: change!.mode, symlinkTarget: "" }],
        remoteOnly: ["node_modules/**"],
      },
    });
    expect(second.stdout.toString()).toBe("module.exports = 42\n");
    expect(second.workspaceChanges?.changes).toEqual([]);
  });

  it("syncs the slot's tree: a repeat job copies nothing, sees the manifest as it was, never the previous job's changes", async () => {
    const unique = `${Date.now()}-${Math.random()}`;
    const workspace = {
      entries: await upload({ a: `a ${unique}\n`, b: `b ${unique}\n`, "d/c": `c ${unique}\n` }, { b: 0o600 }),
      remoteOnly: [],
    };
    const show = 'stat -c "%a %U %n" a b d d/c && cat a b d/c';
    const first = await run({ command: `${show} && echo more >> a && chmod 644 b && rm -r d && mkdir d && ln -s a d/c`, workspace });
    const file = (path: string, content: string) => ({
      path,
      kind: "CHANGE_KIND_MODIFIED",
      type: "ENTRY_TYPE_FILE",
      digest: digestOf(content).sha256,
      mode: "644",
      content,
    });
    expect(first.workspaceChanges?.changes.map(summary)).toEqual([
      file("a", `a ${unique}\nmore\n`),
      file("b", `b ${unique}\n`),
      { path: "d/c", kind: "CHANGE_KIND_MODIFIED", type: "ENTRY_TYPE_SYMLINK", target: "a" },
    ]);
    const tree = slotTree(first);
    expect(tree.lastCopied).toBe(3);

    const second = await run({ command: show, workspace });
    expect(slotTree(second)).toBe(tree);
    expect(tree.lastCopied).toBe(0);
    expect(second.stdout.toString()).toBe(first.stdout.toString());
    expect(second.workspaceChanges?.changes).toEqual([]);
    // A job with an empty manifest (as an agent task without a workspace has) starts empty and leaves the tree alone.
    const empty = await run({ command: "ls -A && echo new > made.txt", workspace: { entries: [], remoteOnly: [] } });
    expect(empty.stdout.toString()).toBe("");
    expect(empty.workspaceChanges?.changes.map(summary)).toEqual([
      {
        path: "made.txt",
        kind: "CHANGE_KIND_ADDED",
        type: "ENTRY_TYPE_FILE",
        digest: digestOf("new\n").sha256,
        mode: "644",
        content: "new\n",
      },
    ]);
    const third = await run({ command: show, workspace });
    expect(tree.lastCopied).toBe(0);
    expect(third.stdout.toString()).toBe(first.stdout.toString());
    // The overlay went with the session.
    const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n");
    expect(mounts.filter((line) => line.includes(t.baseDir) && line.includes(WORKSPACE_MOUNT_SOURCE))).toEqual([]);
  }, 60_000);

  it("materializes and diffs 2,000 files / 20 MB in the session (PREPARE and COLLECT printed, not asserted)", async () => {
    const files: Record<string, Buffer> = {};
    for (let index = 0; index < 2000; index++) files[`d${index % 40}/f${index}`] = Buffer.alloc(10 * 1024, `${index}`);
    const workspace = { entries: await upload(files), remoteOnly: [] };
    const result = await run({ argv: ["true"], workspace });
    expect(result.workspaceChanges?.changes).toEqual([]);
    const repeat = await run({ argv: ["true"], workspace });
    expect(repeat.workspaceChanges?.changes).toEqual([]);
    const touched = await run({ command: "for f in d1/*; do echo >> $f; done", workspace });
    expect(touched.workspaceChanges?.changes).toHaveLength(50);
    const phases = (r: JobResult) =>
      `PREPARE ${r.metrics?.prepareMs} ms, COLLECT ${r.metrics?.collectMs} ms, DESTROY ${r.metrics?.destroyMs} ms`;
    console.info(
      `2,000 files / 20 MB in the bwrap session: first ${phases(result)}; repeat ${phases(repeat)}; ` +
        `50 files changed: COLLECT ${touched.metrics?.collectMs} ms`,
    );
  }, 60_000);
});

describeSandbox("a workspace job's blobs", () => {
  let small: TestWorker;
  let smallRaw: WorkerServiceClient;
  beforeAll(async () => {
    small = await startTestWorker({ governance: { command_policy: "off" }, blobs: { max_bytes: "16MiB" } });
    smallRaw = new WorkerServiceClient(small.worker.address, credentials.createInsecure());
  }, 60_000);
  afterAll(async () => {
    smallRaw.close();
    await small.stop();
  });

  const put = (content: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const call = smallRaw.uploadBlobs((error) => (error ? reject(error) : resolve()));
      for (let offset = 0; offset < content.length; offset += 1024 * 1024) {
        call.write({ digest: digestOf(content), offset: String(offset), data: content.subarray(offset, offset + 1024 * 1024) });
      }
      call.end();
    });

  it("are pinned from Dispatch until the job ends (here by a cancel), then evictable again", async () => {
    const first = Buffer.alloc(10 * 1024 ** 2, "a");
    const second = Buffer.alloc(10 * 1024 ** 2, "b");
    await put(first);
    const spec = JobSpec.fromPartial({
      command: "sleep 30",
      workspace: { entries: [{ path: "big", digest: digestOf(first), mode: 0, symlinkTarget: "" }], remoteOnly: [] },
    });
    const jobId = await new Promise<string>((resolve, reject) =>
      smallRaw.dispatch({ spec }, (error, response) => (error ? reject(error) : resolve(response!.jobId))),
    );
    // Both do not fit, and the first is the job's: the store cannot evict it.
    await expect(put(second)).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    await new Promise<void>((resolve, reject) =>
      smallRaw.cancel({ jobId, reason: "test" }, (error) => (error ? reject(error) : resolve())),
    );
    await put(second);
  }, 60_000);
});
