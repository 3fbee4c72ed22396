import { lstat, open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { JobEvent, JobResult, Phase } from "@opencode-worker/shared";
import { errnoCode } from "../config/errno-code.js";
import type { CollectedArtifact } from "../files/collect-artifacts.js";
import { removeTree } from "../files/remove-tree.js";
import type { Logger } from "../logging/logger.js";
import type { Job, JobTimings, ValidatedJob } from "./job.js";
import { frameSections, unframeSections } from "./journal-frame.js";
import type { SandboxUsage } from "../sandbox/driver.js";

/**
 * What a record keeps of a job's spec: enough to answer a repeated Dispatch (the hash) and to describe
 * the job, never its command, environment, inputs or stdin, which may hold secrets and be large.
 */
type KeptSpec = Pick<ValidatedJob, "jobId" | "specHash" | "cwd" | "limits" | "network" | "sessionConfig" | "artifactPatterns">;

/** `<session id>.running`: a job that left the queue and has not ended. */
interface RunningRecord {
  spec: KeptSpec;
  sessionId: string;
  /** The identity that dispatched it: after a restart, too, only it and admins may see the job. */
  owner: string;
  createdUnixMs: number;
  startedUnixMs: number | undefined;
  /** The phase last recorded: a restart says the job was cut off in it. */
  phase: Phase;
}

/** The first section of `<session id>.result`; the JobResult, the events and the held artifacts' contents follow. */
interface ResultMeta extends RunningRecord {
  endedUnixMs: number;
  timings: JobTimings;
  usage: SandboxUsage;
  events: number;
  /** In the job's order; `stored` names the copy in the store dir, the others' contents follow the events. */
  artifacts: { path: string; sizeBytes: number; sha256: string; stored?: string }[];
}

/** Makes the Job object for a recorded spec: the session manager's, so restored jobs are built as dispatched ones. */
export type JobFactory = (spec: ValidatedJob, sessionId: string, owner: string, createdUnixMs: number) => Job;

export interface JournalContents {
  /** Jobs that ended, as they were published, oldest end first (the retention order). */
  ended: Job[];
  /** Jobs that were running when the worker died: not ended, with the phase they were last recorded in. */
  interrupted: Job[];
}

const RUNNING = ".running";
const RESULT = ".result";
const TEMP = ".tmp";

/**
 * The results of ended jobs on disk, in the worker's results dir beside the artifact store, so a
 * worker that crashed and restarted still serves them within session.result_ttl_ms. A job that
 * leaves the queue gets a small running record (its phase updated as it moves); its result is
 * written, whole and checksummed, before it is published, then the running record goes. Every
 * record is written to a temp file and renamed over, so a record is either the old one or the new one;
 * one that is still torn (a crash of the machine, which this does not fsync against) fails its checksum.
 *
 * A job's writes are chained, so a late phase update can never land after its result. Writes never
 * throw: a failure is logged and the job goes on, its result just not surviving a restart.
 */
export class ResultJournal {
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** Records (or updates) the running record in the job's current phase; the job does not wait for it. */
  running(job: Job): void {
    const record = runningRecord(job);
    void this.chain(job, () => this.write(job.sessionId + RUNNING, [Buffer.from(JSON.stringify(record))]));
  }

  /** Writes the result record, then publishes the result (job.complete), then removes the running record. */
  async complete(job: Job, result: JobResult): Promise<void> {
    const endedUnixMs = Date.now();
    await this.chain(job, () => this.write(job.sessionId + RESULT, frameSections(resultSections(job, result, endedUnixMs))));
    this.chains.delete(job.sessionId);
    job.complete(result, endedUnixMs);
    await this.unlink(job.sessionId + RUNNING);
  }

  /** Deletes an ended job's record (its result was dropped): the caller removes its store dir. */
  async forget(job: Job): Promise<void> {
    await this.unlink(job.sessionId + RESULT);
  }

  /**
   * Reads every record at start-up, before anything else writes one. Deletes temp files, records
   * that cannot be read (a WARN naming each), and store dirs that no intact result record claims.
   */
  async read(makeJob: JobFactory): Promise<JournalContents> {
    const entries = await readdir(this.dir, { withFileTypes: true });
    const names = new Set(entries.map((entry) => entry.name));
    const ended: Job[] = [];
    const interrupted: Job[] = [];
    for (const { name } of entries) {
      const path = join(this.dir, name);
      try {
        if (name.endsWith(RESULT)) ended.push(await this.readResult(path, makeJob));
        else if (name.endsWith(RUNNING)) {
          const record = JSON.parse(await readFile(path, "utf8")) as RunningRecord;
          // With a result record: the worker died between writing the result and removing this one.
          if (names.has(record.sessionId + RESULT)) await unlink(path);
          else {
            const job = makeJob(restoredSpec(record.spec), record.sessionId, record.owner, record.createdUnixMs);
            job.restoreStart(record.startedUnixMs, record.phase);
            interrupted.push(job);
          }
        } else if (name.endsWith(TEMP)) await unlink(path);
      } catch (error) {
        this.log.warn({ file: path, err: errorText(error) }, `result journal: skipped and deleted ${path}: ${errorText(error)}`);
        await unlink(path).catch(() => {});
      }
    }
    // Store dirs are named by session id; one without an intact result record would never be served or freed.
    const claimed = new Set(ended.map((job) => job.sessionId));
    for (const entry of entries) {
      if (entry.isDirectory() && !claimed.has(entry.name)) await removeTree(join(this.dir, entry.name));
    }
    ended.sort((a, b) => (a.endedUnixMs ?? 0) - (b.endedUnixMs ?? 0));
    return { ended, interrupted };
  }

  private async readResult(path: string, makeJob: JobFactory): Promise<Job> {
    const [metaBytes, resultBytes, ...rest] = unframeSections(await readFile(path));
    if (!metaBytes || !resultBytes) throw new Error("a result record without its result");
    const meta = JSON.parse(metaBytes.toString("utf8")) as ResultMeta;
    const events = rest.slice(0, meta.events).map((bytes) => JobEvent.decode(bytes));
    const contents = rest.slice(meta.events);
    const job = makeJob(restoredSpec(meta.spec), meta.sessionId, meta.owner, meta.createdUnixMs);
    const storeDir = join(this.dir, meta.sessionId);
    for (const { stored, ...artifact } of meta.artifacts) {
      if (stored === undefined) {
        const content = contents.shift();
        if (content?.length !== artifact.sizeBytes) throw new Error(`artifact ${JSON.stringify(artifact.path)}: content missing`);
        job.artifacts.set(artifact.path, { ...artifact, content });
        continue;
      }
      const storedPath = join(storeDir, stored);
      // The store's copies are checked by size only: hashing them would make start-up read the whole budget.
      const size = await lstat(storedPath).then((stats) => (stats.isFile() ? stats.size : -1));
      if (size !== artifact.sizeBytes)
        throw new Error(`stored artifact ${JSON.stringify(artifact.path)} is ${size} bytes, not ${artifact.sizeBytes}`);
      job.artifacts.set(artifact.path, { ...artifact, storedPath } satisfies CollectedArtifact);
      job.storeDir = storeDir;
    }
    job.restore({
      startedUnixMs: meta.startedUnixMs,
      endedUnixMs: meta.endedUnixMs,
      phase: meta.phase,
      timings: meta.timings,
      usage: meta.usage,
      events,
      result: JobResult.decode(resultBytes),
    });
    return job;
  }

  /** Runs `write` after the job's earlier writes; a failure is logged, never thrown. */
  private chain(job: Job, write: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(job.sessionId) ?? Promise.resolve()).then(write).catch((error: unknown) => {
      this.log.error(
        { jobId: job.jobId, sessionId: job.sessionId, err: errorText(error) },
        "result journal: write failed; this job's result will not survive a restart",
      );
    });
    this.chains.set(job.sessionId, next);
    return next;
  }

  /**
   * Temp file, then rename: the name holds the old record or the whole new one, never a part, even if
   * the worker dies mid-write (the page cache outlives the process). No fsync: it would cost 2 to 15 ms
   * on every job's path, and guard only against a crash of the machine, which loses its sessions anyway.
   */
  private async write(name: string, buffers: Buffer[]): Promise<void> {
    const temp = join(this.dir, name + TEMP);
    const handle = await open(temp, "w", 0o600);
    try {
      const expected = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
      const { bytesWritten } = await handle.writev(buffers);
      if (bytesWritten !== expected) throw new Error(`short write: ${bytesWritten} of ${expected} bytes`);
    } finally {
      await handle.close();
    }
    await rename(temp, join(this.dir, name));
  }

  private async unlink(name: string): Promise<void> {
    await unlink(join(this.dir, name)).catch((error: unknown) => {
      if (errnoCode(error) !== "ENOENT") this.log.warn({ file: name, err: errorText(error) }, "result journal: cannot delete a record");
    });
  }
}

/** What both records say of a job: its spec as kept, ids, owner, times and the phase it is in. */
function runningRecord(job: Job): RunningRecord {
  return {
    spec: keptSpec(job.spec),
    sessionId: job.sessionId,
    owner: job.owner,
    createdUnixMs: job.createdUnixMs,
    startedUnixMs: job.startedUnixMs,
    phase: job.phase,
  };
}

/** The result record's sections: meta, the JobResult, the retained events, the held artifacts' contents. */
function resultSections(job: Job, result: JobResult, endedUnixMs: number): Uint8Array[] {
  const artifacts = [...job.artifacts.values()];
  const meta: ResultMeta = {
    ...runningRecord(job),
    endedUnixMs,
    timings: job.timings,
    usage: job.usage,
    events: job.log.retainedEvents.length,
    artifacts: artifacts.map(({ path, sizeBytes, sha256, storedPath }) => ({
      path,
      sizeBytes,
      sha256,
      ...(storedPath !== undefined && { stored: storedPath.slice(storedPath.lastIndexOf("/") + 1) }),
    })),
  };
  return [
    Buffer.from(JSON.stringify(meta)),
    JobResult.encode(result).finish(),
    ...job.log.retainedEvents.map((event) => JobEvent.encode(event).finish()),
    ...artifacts.flatMap((artifact) => (artifact.content ? [artifact.content] : [])),
  ];
}

function keptSpec({ jobId, specHash, cwd, limits, network, sessionConfig, artifactPatterns }: ValidatedJob): KeptSpec {
  return { jobId, specHash, cwd, limits, network, sessionConfig, artifactPatterns };
}

/** A restored job never runs again: what the record did not keep is empty. */
function restoredSpec(kept: KeptSpec): ValidatedJob {
  return { ...kept, argv: [], files: [], env: new Map(), stdin: Buffer.alloc(0) };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
