import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createServer } from "node:net";
import { pino } from "pino";
import { eventually, startTestWorker, type TestWorker } from "../harness.js";

/** One scrape of a worker's /metrics: the text, and the value of an exact series (`name{labels}`). */
async function scrape(
  url: string | undefined,
): Promise<{ text: string; contentType: string | null; value(series: string): number | undefined }> {
  if (!url) throw new Error("the worker serves no metrics");
  const response = await fetch(url);
  expect(response.status).toBe(200);
  const text = await response.text();
  const values = new Map(
    text
      .split("\n")
      .filter((line) => line !== "" && !line.startsWith("#"))
      .map((line) => [line.slice(0, line.lastIndexOf(" ")), Number(line.slice(line.lastIndexOf(" ") + 1))] as const),
  );
  return { text, contentType: response.headers.get("content-type"), value: (series) => values.get(series) };
}

interface LogEntry {
  level: number;
  msg: string;
  jobId?: string;
  [field: string]: unknown;
}

describe("Prometheus metrics and log lines of a real worker", () => {
  const logs: LogEntry[] = [];
  let t: TestWorker;
  const jobIds = { finished: "metrics-finished", failed: "metrics-failed", timedOut: "metrics-timed-out" };
  beforeAll(async () => {
    // Its JSON lines, as a log collector reads them from stdout.
    const logger = pino({ level: "info" }, { write: (line: string) => void logs.push(JSON.parse(line) as LogEntry) });
    t = await startTestWorker({}, { logger });
    await t.client.run({ jobId: jobIds.finished, command: "echo ok" });
    await t.client.run({ jobId: jobIds.failed, command: "exit 3" }).catch(() => undefined);
    // Ignores SIGTERM (sleep inherits the ignored disposition): the timeout must escalate to SIGKILL.
    await t.client.run({ jobId: jobIds.timedOut, command: "trap '' TERM; sleep 30", limits: { timeoutMs: 300 } }).catch(() => undefined);
  }, 60_000);
  afterAll(() => t.stop());

  it("serves histograms with buckets, counters by state and reason, gauges and process metrics", async () => {
    const { text, contentType, value } = await scrape(t.worker.metricsUrl);
    expect(contentType).toContain("text/plain");
    expect(text).toContain("# TYPE opencode_worker_job_duration_seconds histogram");
    expect(value('opencode_worker_job_duration_seconds_bucket{le="0.005"}')).toBeDefined();
    expect(value('opencode_worker_job_duration_seconds_bucket{le="+Inf"}')).toBe(3);
    expect(value("opencode_worker_job_duration_seconds_count")).toBe(3);
    // The timed-out job ran at least its 300 ms timeout.
    expect(value("opencode_worker_job_duration_seconds_sum")).toBeGreaterThan(0.3);
    expect(value("opencode_worker_job_queue_wait_seconds_count")).toBe(3);
    for (const phase of ["init", "prepare", "execute", "collect", "destroy"]) {
      expect(value(`opencode_worker_job_phase_duration_seconds_count{phase="${phase}"}`)).toBe(3);
    }
    expect(value('opencode_worker_job_phase_duration_seconds_bucket{le="+Inf",phase="execute"}')).toBe(3);

    expect(value('opencode_worker_jobs_ended_total{state="finished",reason="exited"}')).toBe(1);
    expect(value('opencode_worker_jobs_ended_total{state="failed",reason="exited"}')).toBe(1);
    expect(value('opencode_worker_jobs_ended_total{state="timed_out",reason="timeout"}')).toBe(1);
    expect(value("opencode_worker_jobs_accepted_total")).toBe(3);
    expect(value("opencode_worker_jobs_active")).toBe(0);
    expect(value("opencode_worker_jobs_queued")).toBe(0);
    expect(value("opencode_worker_retained_results")).toBe(3);
    expect(value("opencode_worker_retained_result_bytes")).toBeGreaterThan(0);
    expect(value(`opencode_worker_isolation_info{mode="${t.worker.isolation.mode}"}`)).toBe(1);

    expect(value("process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(value("process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(text).toContain("nodejs_heap_size_used_bytes");
  });

  it("counts a running job as active while it runs", async () => {
    const job = await t.client.dispatch({ command: "sleep 30" });
    const active = async (): Promise<number | undefined> => (await scrape(t.worker.metricsUrl)).value("opencode_worker_jobs_active");
    // Polled both ways: the job takes its slot once its session starts, shortly after Dispatch, and gives it
    // back once DESTROY is done, a moment after its result is published.
    await eventually(async () => (await active()) === 1);
    await job.cancel("done");
    await job.wait().catch(() => undefined);
    await eventually(async () => (await active()) === 0);
    const after = await scrape(t.worker.metricsUrl);
    expect(after.value('opencode_worker_jobs_ended_total{state="cancelled",reason="cancelled"}')).toBe(1);
  }, 30_000);

  it("answers 404 outside GET /metrics", async () => {
    const response = await fetch(t.worker.metricsUrl!.replace("/metrics", "/other"));
    expect(response.status).toBe(404);
  });

  it("logs one line per job end with enum names, and the timeout's kill at WARN", () => {
    const ends = logs.filter((entry) => entry.msg === "job ended");
    const endOf = (jobId: string): LogEntry[] => ends.filter((entry) => entry.jobId === jobId);
    expect(endOf(jobIds.finished)).toEqual([expect.objectContaining({ level: 30, state: "finished", reason: "exited", exitCode: 0 })]);
    expect(endOf(jobIds.failed)).toEqual([expect.objectContaining({ state: "failed", reason: "exited", exitCode: 3 })]);
    expect(endOf(jobIds.timedOut)).toEqual([expect.objectContaining({ state: "timed_out", reason: "timeout" })]);
    expect(endOf(jobIds.timedOut)[0]!.durationMs).toBeGreaterThanOrEqual(300);

    const kills = logs.filter((entry) => entry.msg === "job killed");
    expect(kills).toEqual([expect.objectContaining({ level: 40, jobId: jobIds.timedOut, reason: "timeout", sigkill: true })]);
    // A job that exits by itself is not a kill.
    expect(kills.some((entry) => entry.jobId === jobIds.finished || entry.jobId === jobIds.failed)).toBe(false);
  });
});

describe("metrics settings", () => {
  it("serves nothing with metrics.enabled=false", async () => {
    const port = await freePort();
    const t = await startTestWorker({ metrics: { enabled: false, port } });
    try {
      expect(t.worker.metricsUrl).toBeUndefined();
      await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
    } finally {
      await t.stop();
    }
  });

  it("keeps two workers of one process apart: own registry, own port", async () => {
    const [a, b] = await Promise.all([startTestWorker(), startTestWorker()]);
    try {
      expect(a.worker.metricsUrl).not.toBe(b.worker.metricsUrl);
      await a.client.run({ command: "true" });
      expect((await scrape(a.worker.metricsUrl)).value("opencode_worker_jobs_accepted_total")).toBe(1);
      expect((await scrape(b.worker.metricsUrl)).value("opencode_worker_jobs_accepted_total")).toBe(0);
      expect((await scrape(b.worker.metricsUrl)).value("opencode_worker_job_duration_seconds_count")).toBe(0);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 30_000);

  it("closes the metrics port when the worker stops", async () => {
    const t = await startTestWorker();
    const url = t.worker.metricsUrl!;
    await scrape(url);
    await t.stop();
    await expect(fetch(url)).rejects.toThrow();
  });
});

/** A port nothing listens on (bound and released at once). */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
