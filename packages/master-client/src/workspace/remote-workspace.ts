/**
 * A local directory a job runs over on a worker: manifest, upload of what the worker lacks, the
 * job, then its changes applied back. Kept across runs, it remembers file hashes (so an unchanged
 * tree is a stat walk) and the worker's remote-only entries (so they are listed, never held here).
 */
import { realpath } from "node:fs/promises";
import { resolve } from "node:path";
import { FailedPreconditionError } from "../errors.js";
import type { JobEvent } from "../job-event.js";
import type { JobHandle } from "../job-handle.js";
import type { JobResult, WorkspaceChange } from "../job-result.js";
import type { JobSpec, WorkspaceEntry } from "../job-spec.js";
import { invalid, readNonEmptyString, readRecord } from "../validate.js";
import type { WorkerClient } from "../worker-client.js";
import { type AppliedChanges, applyChanges } from "./apply-changes.js";
import { type BlobDigest, digestKey } from "./blob-digest.js";
import { buildManifest, type LocalFile } from "./build-manifest.js";
import { HashCache } from "./hash-cache.js";
import { type CompiledWorkspaceOptions, compileWorkspaceOptions, type WorkspaceOptions } from "./workspace-options.js";

/** What one `run()` did: the job's result, what it sent, and what it changed locally. */
export interface WorkspaceRun {
  result: JobResult;
  sync: WorkspaceSync;
  applied: AppliedChanges;
}

export interface WorkspaceSync {
  /** Files and links in the manifest, remote-only ones included. */
  entries: number;
  /** Files read and hashed (the others were unchanged since the last run). */
  hashedFiles: number;
  /** Distinct contents asked about with FindMissingBlobs: 0 when the worker held every one at the last run. */
  checkedBlobs: number;
  /** Distinct contents the worker lacked. */
  missingBlobs: number;
  uploadedBlobs: number;
  uploadedBytes: number;
}

export interface WorkspaceRunOptions {
  /** Cancels the job (and the run): it rejects with an `AbortError`, and nothing is applied. */
  signal?: AbortSignal;
  /** Receives the job's output as it arrives, like a `JobHandle` output listener. */
  onOutput?: (stream: "stdout" | "stderr", data: Buffer) => void;
  /** Receives every event of the job's stream as it arrives: an agent task's steps and model calls, say. */
  onEvent?: (event: JobEvent) => void;
  /**
   * Apply the job's changes to the root. Without, the root is left as it was and the changes are only
   * in `result.workspaceChanges` (read a content the worker did not inline with `readBlob()`). @default true
   */
  apply?: boolean;
}

/** Bytes per UploadBlobs call, so each call stays well within the RPC deadline. */
const UPLOAD_BATCH_BYTES = 64 * 1024 * 1024;

const NOTHING_APPLIED: AppliedChanges = { added: [], modified: [], deleted: [], remoteOnly: 0, refused: [], truncated: false };

export class RemoteWorkspace {
  /** The directory, absolute. */
  readonly root: string;
  readonly #client: WorkerClient;
  readonly #options: CompiledWorkspaceOptions;
  readonly #hashes = new HashCache();
  /** The worker's entries under remote-only paths, by path: sent again in every manifest. */
  readonly #remoteOnly = new Map<string, WorkspaceEntry>();
  /**
   * Contents the worker held at the last run (digest keys): a manifest made only of these is sent
   * without asking FindMissingBlobs first. Should one have been evicted since, Dispatch answers
   * FAILED_PRECONDITION and the run asks, uploads and dispatches again.
   */
  #held = new Set<string>();

  /** @internal Get one from `WorkerClient.workspace()`. */
  constructor(client: WorkerClient, root: string, options: WorkspaceOptions) {
    this.#client = client;
    this.root = resolve(readNonEmptyString("root", root));
    this.#options = compileWorkspaceOptions(options);
  }

  /**
   * Builds the manifest, uploads what the worker lacks, runs the job over it and applies its
   * changes to the root (atomically, only inside it). Resolves whatever the job's end: a failed
   * command's changes are applied too, and `result.state` says how it ended. The job is a command
   * or an agent task (`agentTask`), whose agent works on the same copy of the root.
   */
  async run(spec: Omit<JobSpec, "workspace">, options: WorkspaceRunOptions = {}): Promise<WorkspaceRun> {
    if ("workspace" in readRecord("spec", spec)) throw invalid("spec.workspace", "no workspace: run() builds it from the root", "set");
    const root = await realpath(this.root);
    const { signal } = options;
    let prepared = await this.#prepare(root, signal);
    let job: JobHandle;
    try {
      job = await this.#client.dispatch({ ...spec, workspace: prepared.workspace }, { signal });
    } catch (error) {
      if (!(error instanceof FailedPreconditionError)) throw error;
      // Blobs evicted since they were uploaded or last seen: ask, upload again, once.
      this.#held.clear();
      const again = await this.#prepare(root, signal);
      prepared = { workspace: again.workspace, sync: addSync(prepared.sync, again.sync) };
      job = await this.#client.dispatch({ ...spec, workspace: prepared.workspace }, { signal });
    }
    const result = await waitWithOutput(job, options);
    if (!result.workspaceChanges || options.apply === false) return { result, sync: prepared.sync, applied: NOTHING_APPLIED };
    const { changes, truncated } = result.workspaceChanges;
    // What the command wrote is in the worker's store too (COLLECT stored it): the next manifest need not ask.
    for (const change of changes)
      if (change.sha256 !== undefined) this.#held.add(digestKey({ sha256: change.sha256, size: change.size ?? 0 }));
    const { applied, remoteOnly } = await applyChanges(changes, truncated, {
      root,
      isRemoteOnly: this.#options.isRemoteOnly,
      readBlob: (digest) => this.#client.readBlob(digest, { signal }),
      cache: this.#hashes,
    });
    this.#remember(remoteOnly);
    return { result, sync: prepared.sync, applied };
  }

  /** The manifest of the root and the remembered remote-only entries, with every content on the worker. */
  async #prepare(root: string, signal: AbortSignal | undefined): Promise<{ workspace: JobSpec["workspace"] & {}; sync: WorkspaceSync }> {
    const local = await buildManifest(root, this.#options, this.#hashes);
    const localPaths = new Set([...local.files, ...local.links].map((entry) => entry.path));
    const remembered = [...this.#remoteOnly.values()].filter((entry) => !localPaths.has(entry.path));
    const digests = new Map<string, BlobDigest>();
    for (const entry of [...local.files, ...remembered]) {
      if ("sha256" in entry) digests.set(digestKey(entry), { sha256: entry.sha256, size: entry.size });
    }
    const known = [...digests.keys()].every((key) => this.#held.has(key));
    const missing = known
      ? new Set<string>()
      : new Set((await this.#client.findMissingBlobs([...digests.values()], { signal })).map(digestKey));
    // A remote-only content the worker evicted cannot be sent from here: the entry is dropped and forgotten.
    const kept = remembered.filter((entry) => {
      const evicted = "sha256" in entry && missing.has(digestKey(entry));
      if (evicted) this.#remoteOnly.delete(entry.path);
      return !evicted;
    });

    const uploads = new Map<string, LocalFile>();
    for (const file of local.files) if (missing.has(digestKey(file))) uploads.set(digestKey(file), file);
    const uploaded = await this.#upload([...uploads.values()], signal);
    // The worker now holds this manifest's contents: those it had and those just sent (not an evicted
    // remote-only one, which was dropped). Only this manifest's are remembered.
    this.#held = new Set([...digests.keys()].filter((key) => !missing.has(key) || uploads.has(key)));
    return {
      workspace: {
        entries: [...local.files.map(({ path, sha256, size, mode }) => ({ path, sha256, size, mode })), ...local.links, ...kept],
        remoteOnly: this.#options.remoteOnly,
      },
      sync: {
        entries: local.files.length + local.links.length + kept.length,
        hashedFiles: local.hashedFiles,
        checkedBlobs: known ? 0 : digests.size,
        missingBlobs: missing.size,
        uploadedBlobs: uploads.size,
        uploadedBytes: uploaded,
      },
    };
  }

  /** Uploads in calls of at most UPLOAD_BATCH_BYTES (a larger file goes alone); returns the bytes sent. */
  async #upload(files: readonly LocalFile[], signal: AbortSignal | undefined): Promise<number> {
    let bytes = 0;
    let batch: LocalFile[] = [];
    let batchBytes = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const blobs = batch.map(({ sha256, size, absolutePath }) => ({ sha256, size, path: absolutePath }));
      bytes += (await this.#client.uploadBlobs(blobs, { signal })).bytes;
      batch = [];
      batchBytes = 0;
    };
    for (const file of files) {
      if (batchBytes + file.size > UPLOAD_BATCH_BYTES) await flush();
      batch.push(file);
      batchBytes += file.size;
    }
    await flush();
    return bytes;
  }

  /** Records what the command left under remote-only paths, for the next manifests. */
  #remember(changes: readonly WorkspaceChange[]): void {
    for (const change of changes) {
      if (change.type === "file" && change.sha256 !== undefined) {
        this.#remoteOnly.set(change.path, { path: change.path, sha256: change.sha256, size: change.size ?? 0, mode: change.mode ?? 0 });
      } else if (change.type === "symlink" && change.symlinkTarget) {
        this.#remoteOnly.set(change.path, { path: change.path, symlinkTarget: change.symlinkTarget });
      } else {
        this.#remoteOnly.delete(change.path);
      }
    }
  }
}

function addSync(first: WorkspaceSync, second: WorkspaceSync): WorkspaceSync {
  return {
    entries: second.entries,
    hashedFiles: first.hashedFiles + second.hashedFiles,
    checkedBlobs: first.checkedBlobs + second.checkedBlobs,
    missingBlobs: first.missingBlobs + second.missingBlobs,
    uploadedBlobs: first.uploadedBlobs + second.uploadedBlobs,
    uploadedBytes: first.uploadedBytes + second.uploadedBytes,
  };
}

/**
 * The job's result once it ends, its output and events passed to `onOutput` and `onEvent` meanwhile. Aborting cancels the
 * job, since the caller holds no handle to it.
 */
async function waitWithOutput(job: JobHandle, { signal, onOutput, onEvent }: WorkspaceRunOptions): Promise<JobResult> {
  const cancel = (): void => void job.cancel("the caller aborted the workspace run").catch(() => undefined);
  signal?.addEventListener("abort", cancel, { once: true });
  try {
    if (!onOutput && !onEvent) return await job.wait({ signal });
    let completed: JobResult | undefined;
    for await (const event of job.events({ signal })) {
      onEvent?.(event);
      if (event.type === "output") onOutput?.(event.stream, event.data);
      else if (event.type === "completed") completed = event.result;
    }
    // The stream's last event is the result: Collect only for output it could not hold, or when the stream ended without it.
    if (completed && completed.stdout.length >= completed.stdoutRetainedBytes && completed.stderr.length >= completed.stderrRetainedBytes) {
      return completed;
    }
    return await job.wait({ signal });
  } finally {
    signal?.removeEventListener("abort", cancel);
  }
}
