import { describe, expect, it } from "@jest/globals";
import * as wire from "@opencode-worker/shared";
import { fromWireEvent, fromWireMetrics, fromWireResult, fromWireStatus, toWireSpec } from "./convert.js";
import { InternalError, InvalidArgumentError } from "./errors.js";
import type { JobSpec } from "./job-spec.js";
import { required } from "./convert.js";

const fixedId = (): string => "generated-id";

function specError(spec: unknown): InvalidArgumentError {
  try {
    toWireSpec(spec as JobSpec, fixedId);
  } catch (error) {
    if (error instanceof InvalidArgumentError) return error;
    throw error;
  }
  throw new Error("expected an InvalidArgumentError");
}

describe("toWireSpec", () => {
  it("turns a minimal command into a wire spec with the generated job id", () => {
    const spec = toWireSpec({ command: "echo hi" }, fixedId);
    expect(spec).toEqual(wire.JobSpec.create({ jobId: "generated-id", command: "echo hi" }));
    expect(spec.limits).toBeUndefined();
    expect(spec.config).toBeUndefined();
  });

  it("keeps a caller's job id and asks for none", () => {
    let asked = 0;
    const spec = toWireSpec({ jobId: "build-42", argv: ["make", "-j4"] }, () => `id-${++asked}`);
    expect(spec.jobId).toBe("build-42");
    expect(spec.argv).toEqual(["make", "-j4"]);
    expect(spec.command).toBe("");
    expect(asked).toBe(0);
  });

  it("generates the job id exactly once per spec", () => {
    let asked = 0;
    expect(toWireSpec({ command: "true" }, () => `id-${++asked}`).jobId).toBe("id-1");
    expect(asked).toBe(1);
  });

  it("writes files from strings (UTF-8), bytes, and content with a mode", () => {
    const bytes = new Uint8Array([0, 1, 2, 255]);
    const spec = toWireSpec(
      {
        command: "./run.sh",
        files: {
          "notes/é.txt": "héllo",
          "data.bin": bytes,
          "run.sh": { content: "#!/bin/sh\n", mode: 0o755 },
          "key.bin": { content: new Uint8Array([7]) },
        },
      },
      fixedId,
    );
    expect(spec.files.get("notes/é.txt")).toEqual(Buffer.from("héllo", "utf8"));
    expect(spec.files.get("data.bin")).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(spec.files.get("run.sh")).toEqual(Buffer.from("#!/bin/sh\n"));
    expect(spec.files.get("key.bin")).toEqual(Buffer.from([7]));
    expect([...spec.fileModes]).toEqual([["run.sh", 0o755]]);
  });

  it("reads limits with units: bytes, decimal and binary sizes", () => {
    const spec = toWireSpec(
      {
        command: "true",
        limits: {
          cpu: 0.5,
          memory: "512MiB",
          maxOutput: "2GB",
          maxDisk: 4096,
          timeoutMs: 60_000,
          maxPids: 64,
          idleTimeoutMs: 0,
        },
      },
      fixedId,
    );
    // 64-bit fields travel as decimal strings (jstype JS_STRING).
    expect(spec.limits).toEqual({
      cpu: 0.5,
      memoryBytes: String(512 * 1024 ** 2),
      maxOutputBytes: "2000000000",
      maxDiskBytes: "4096",
      timeoutMs: "60000",
      maxPids: 64,
      idleTimeoutMs: "0",
    });
  });

  it("leaves unset limits unset, so the worker's defaults apply", () => {
    expect(toWireSpec({ command: "true", limits: { memory: "1GiB" } }, fixedId).limits).toEqual({
      cpu: undefined,
      memoryBytes: String(1024 ** 3),
      timeoutMs: undefined,
      maxOutputBytes: undefined,
      maxPids: undefined,
      maxDiskBytes: undefined,
      idleTimeoutMs: undefined,
    });
  });

  it.each([
    ["restricted", wire.NetworkPolicy.NETWORK_POLICY_RESTRICTED],
    ["open", wire.NetworkPolicy.NETWORK_POLICY_OPEN],
  ] as const)("maps network %p into the session config", (network, policy) => {
    expect(toWireSpec({ command: "true", network }, fixedId).config).toEqual({
      mode: "",
      provider: "",
      model: "",
      network: policy,
      telemetry: false,
    });
  });

  it("maps env, cwd, stdin, config and artifacts", () => {
    const spec = toWireSpec(
      {
        command: "cat",
        env: { LANG: "C.UTF-8" },
        cwd: "src",
        stdin: "input\n",
        config: { mode: "build", provider: "anthropic", model: "m", telemetry: true },
        artifacts: ["**/*.log"],
      },
      fixedId,
    );
    expect([...spec.env]).toEqual([["LANG", "C.UTF-8"]]);
    expect(spec.cwd).toBe("src");
    expect(spec.stdin).toEqual(Buffer.from("input\n"));
    expect(spec.config).toEqual({
      mode: "build",
      provider: "anthropic",
      model: "m",
      network: wire.NetworkPolicy.NETWORK_POLICY_UNSPECIFIED,
      telemetry: true,
    });
    expect(spec.artifacts).toEqual(["**/*.log"]);
  });

  it("maps an agent task in place of a command, with its model budget", () => {
    const spec = toWireSpec(
      {
        agentTask: { prompt: "add a test", model: "fakeprov/fake-1", agent: "build", instructions: "be brief" },
        limits: { modelMaxRequests: 5, modelMaxTokens: 2 ** 40 },
      },
      fixedId,
    );
    expect(spec.agentTask).toEqual({ prompt: "add a test", model: "fakeprov/fake-1", agent: "build", instructions: "be brief" });
    expect([spec.command, spec.argv]).toEqual(["", []]);
    expect(spec.limits).toMatchObject({ modelMaxRequests: 5, modelMaxTokens: String(2 ** 40) });
    // Through the wire encoding too: the task and the budget arrive as sent.
    const decoded = wire.JobSpec.decode(wire.JobSpec.encode(spec).finish());
    expect([decoded.agentTask?.prompt, decoded.limits?.modelMaxRequests, decoded.limits?.modelMaxTokens]).toEqual([
      "add a test",
      5,
      String(2 ** 40),
    ]);
  });

  it("leaves an agent task's optional fields empty, for the worker's defaults", () => {
    expect(toWireSpec({ agentTask: { prompt: "go" } }, fixedId).agentTask).toEqual({
      prompt: "go",
      model: "",
      agent: "",
      instructions: "",
    });
  });

  it.each([
    [{ command: "true", limits: { memory: "lots" } }, "limits.memory", '"lots"'],
    [{ agentTask: { prompt: "" } }, "agentTask.prompt", '""'],
    [{ agentTask: {} }, "agentTask.prompt", "undefined"],
    [{ agentTask: { prompt: "x", model: "gpt-4" } }, "agentTask.model", '"gpt-4"'],
    [{ agentTask: { prompt: "x", model: "/m" } }, "agentTask.model", '"/m"'],
    [{ agentTask: { prompt: "x", agent: 3 } }, "agentTask.agent", "3"],
    [{ agentTask: { prompt: "x", instructions: null } }, "agentTask.instructions", "null"],
    [{ agentTask: { prompt: "x", modle: "a/b" } }, "agentTask.modle", "model"],
    [{ agentTask: "do it" }, "agentTask", '"do it"'],
    [{ agentTask: { prompt: "x" }, limits: { modelMaxRequests: 0 } }, "limits.modelMaxRequests", "0"],
    [{ agentTask: { prompt: "x" }, limits: { modelMaxRequests: 2 ** 32 } }, "limits.modelMaxRequests", "4294967296"],
    [{ agentTask: { prompt: "x" }, limits: { modelMaxTokens: "1k" } }, "limits.modelMaxTokens", '"1k"'],
    [{ command: "true", limits: { maxOutput: -1 } }, "limits.maxOutput", "-1"],
    [{ command: "true", limits: { maxDisk: "12 parsecs" } }, "limits.maxDisk", '"12 parsecs"'],
    [{ command: "true", limits: { cpu: 0 } }, "limits.cpu", "0"],
    [{ command: "true", limits: { timeoutMs: 1.5 } }, "limits.timeoutMs", "1.5"],
    [{ command: "true", limits: { maxPids: 2 ** 32 } }, "limits.maxPids", "4294967296"],
    [{ command: "true", limits: { idleTimeoutMs: -5 } }, "limits.idleTimeoutMs", "-5"],
    [{ command: "true", limits: { memoryBytes: 5 } }, "limits.memoryBytes", "memory"],
    [{ command: "true", network: "internet" }, "network", '"internet"'],
    [{ command: "true", jobId: "has space" }, "jobId", '"has space"'],
    [{ command: "" }, "command", '""'],
    [{ argv: [] }, "argv", "[]"],
    [{ argv: ["ls", 3] }, "argv[1]", "3"],
    [{ command: "true", files: { "a.sh": { content: "x", mode: 0o10000 } } }, 'files["a.sh"].mode', "4096"],
    [{ command: "true", files: { "a.sh": 42 } }, 'files["a.sh"]', "42"],
    [{ command: "true", env: { PATH: 1 } }, "env.PATH", "1"],
    [{ command: "true", stdin: 7 }, "stdin", "7"],
    [{ command: "true", config: { telemetry: "yes" } }, "config.telemetry", '"yes"'],
    [{ command: "true", comand: "typo" }, "comand", "command"],
    [{ command: "true", artifacts: "*.log" }, "artifacts", '"*.log"'],
  ])("rejects %p naming %p and the value", (spec, field, shown) => {
    const error = specError(spec);
    expect(error.field).toBe(field);
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(error.message.startsWith(`${field}: `)).toBe(true);
    expect(error.message).toContain(shown);
  });

  it("asks for exactly one of command, argv and agentTask", () => {
    expect(specError({}).field).toBe("command");
    expect(specError({ command: "ls", argv: ["ls"] }).field).toBe("command");
    expect(specError({ command: "ls", agentTask: { prompt: "x" } }).field).toBe("command");
    expect(specError({ argv: ["ls"], agentTask: { prompt: "x" } }).message).toContain("got two");
    expect(specError({ command: "ls", argv: ["ls"], agentTask: { prompt: "x" } }).message).toContain("got all three");
  });

  it("words the brief's example exactly", () => {
    expect(specError({ command: "true", limits: { memory: "lots" } }).message).toBe(
      'limits.memory: expected bytes or a size like "512MiB", got "lots"',
    );
  });
});

describe("fromWireResult", () => {
  const base = wire.JobResult.create({
    jobId: "job-1",
    sessionId: "s-1",
    state: wire.JobState.JOB_STATE_FINISHED,
    reason: wire.TerminationReason.TERMINATION_REASON_EXITED,
    exitCode: 0,
    stdout: Buffer.from("héllo\n"),
    stderr: Buffer.from("warn\n"),
    stdoutTotalBytes: 7,
    stderrTotalBytes: 5,
    stdoutLines: 1,
    stderrLines: 1,
    stdoutRetainedBytes: 7,
    stderrRetainedBytes: 5,
    artifacts: [
      { path: "out/a.txt", sizeBytes: 3, sha256: "ab", content: Buffer.from("abc"), contentInline: true },
      { path: "out/big.bin", sizeBytes: 9e6, sha256: "cd", content: Buffer.alloc(0), contentInline: false },
    ],
    skippedArtifacts: [{ path: "out/link", reason: "symlink" }],
    metrics: {
      durationMs: 120,
      queueMs: 3,
      initMs: 1,
      prepareMs: 10,
      executeMs: 100,
      collectMs: 9,
      destroyMs: 4,
      workerId: "w-1",
      cpuTimeMs: 80,
      memoryPeakBytes: 1 << 20,
      processesReaped: 2,
    },
    message: "exited with code 0",
    isolation: "sandbox",
    unenforcedLimits: ["max_disk_bytes: sampled"],
  });

  it("maps every field of a finished job", () => {
    const result = fromWireResult(base);
    expect({ ...result }).toEqual({
      jobId: "job-1",
      sessionId: "s-1",
      state: "finished",
      reason: "exited",
      exitCode: 0,
      signal: undefined,
      stdout: Buffer.from("héllo\n"),
      stderr: Buffer.from("warn\n"),
      stdoutText: "héllo\n",
      stderrText: "warn\n",
      stdoutTruncated: false,
      stderrTruncated: false,
      stdoutTotalBytes: 7,
      stderrTotalBytes: 5,
      stdoutLines: 1,
      stderrLines: 1,
      stdoutRetainedBytes: 7,
      stderrRetainedBytes: 5,
      artifacts: [
        { path: "out/a.txt", sizeBytes: 3, sha256: "ab", content: Buffer.from("abc") },
        { path: "out/big.bin", sizeBytes: 9e6, sha256: "cd" },
      ],
      skippedArtifacts: [{ path: "out/link", reason: "symlink" }],
      unlistedArtifacts: 0,
      unlistedSkippedArtifacts: 0,
      durationMs: 120,
      queueMs: 3,
      phaseMs: { initMs: 1, prepareMs: 10, executeMs: 100, collectMs: 9, destroyMs: 4 },
      cpuTimeMs: 80,
      memoryPeakBytes: 1 << 20,
      processesReaped: 2,
      workerId: "w-1",
      timedOut: false,
      isCanceled: false,
      message: "exited with code 0",
      isolation: "sandbox",
      unenforcedLimits: ["max_disk_bytes: sampled"],
    });
    expect("content" in result.artifacts[1]!).toBe(false);
  });

  it("says stdout is truncated when it holds only the head the answer carried, or the worker kept less", () => {
    const headOnly = fromWireResult({ ...base, stdout: Buffer.from("hé") });
    expect([headOnly.stdoutTruncated, headOnly.stdoutRetainedBytes, headOnly.stderrTruncated]).toEqual([true, 7, false]);
    const lost = fromWireResult({ ...base, stderrTruncated: true, stderrTotalBytes: 50 });
    expect([lost.stdoutTruncated, lost.stderrTruncated]).toEqual([false, true]);
  });

  it("takes the line counts the worker made over the whole output, not those of the head it carries", () => {
    // Through the wire encoding too: a count past 2^32 arrives exact.
    const sent = { ...base, stdout: Buffer.from("a\n"), stdoutTotalBytes: 2 ** 45, stdoutLines: 2 ** 40 + 1, stderrLines: 0 };
    const result = fromWireResult(wire.JobResult.decode(wire.JobResult.encode(sent).finish()));
    expect([result.stdoutLines, result.stderrLines]).toEqual([2 ** 40 + 1, 0]);
  });

  it.each([
    [wire.JobState.JOB_STATE_FAILED, wire.TerminationReason.TERMINATION_REASON_MEMORY_LIMIT, "failed", "memory_limit", false, false],
    [wire.JobState.JOB_STATE_TIMED_OUT, wire.TerminationReason.TERMINATION_REASON_TIMEOUT, "timed_out", "timeout", true, false],
    [wire.JobState.JOB_STATE_FAILED, wire.TerminationReason.TERMINATION_REASON_IDLE_TIMEOUT, "failed", "idle_timeout", true, false],
    [wire.JobState.JOB_STATE_CANCELLED, wire.TerminationReason.TERMINATION_REASON_CANCELLED, "cancelled", "cancelled", false, true],
    [wire.JobState.JOB_STATE_FAILED, wire.TerminationReason.TERMINATION_REASON_SIGNALED, "failed", "signaled", false, false],
    [wire.JobState.JOB_STATE_FAILED, wire.TerminationReason.TERMINATION_REASON_OUTPUT_LIMIT, "failed", "output_limit", false, false],
    [wire.JobState.JOB_STATE_FAILED, wire.TerminationReason.TERMINATION_REASON_PIDS_LIMIT, "failed", "pids_limit", false, false],
    [wire.JobState.JOB_STATE_FAILED, wire.TerminationReason.TERMINATION_REASON_DISK_LIMIT, "failed", "disk_limit", false, false],
    [wire.JobState.JOB_STATE_FAILED, wire.TerminationReason.TERMINATION_REASON_POLICY_DENIED, "failed", "policy_denied", false, false],
    [wire.JobState.JOB_STATE_FAILED, wire.TerminationReason.TERMINATION_REASON_WORKER_ERROR, "failed", "worker_error", false, false],
    [wire.JobState.JOB_STATE_FAILED, wire.TerminationReason.TERMINATION_REASON_MODEL_BUDGET, "failed", "model_budget", false, false],
  ])("maps state %p reason %p", (state, reason, sdkState, sdkReason, timedOut, isCanceled) => {
    const result = fromWireResult({ ...base, state, reason });
    expect([result.state, result.reason, result.timedOut, result.isCanceled]).toEqual([sdkState, sdkReason, timedOut, isCanceled]);
  });

  it("reads enum values from a newer worker as unknown", () => {
    const result = fromWireResult({ ...base, state: 42 as wire.JobState, reason: 99 as wire.TerminationReason });
    expect([result.state, result.reason]).toEqual(["unknown", "unknown"]);
  });

  it("keeps signal and a missing exit code as the worker sent them", () => {
    const result = fromWireResult({ ...base, exitCode: undefined, signal: "SIGKILL" });
    expect(result.exitCode).toBeUndefined();
    expect(result.signal).toBe("SIGKILL");
  });

  it("describes the end itself when the worker sent no message", () => {
    const result = fromWireResult({
      ...base,
      state: wire.JobState.JOB_STATE_FAILED,
      exitCode: 3,
      message: "",
    });
    expect(result.message).toBe("job job-1 ended failed (exited, exit code 3)");
  });

  it("carries an agent task's outcome, and leaves it out of a command's", () => {
    const agent = {
      finalText: "done: wrote hello.txt",
      usage: { requests: 3, inputTokens: 1200, outputTokens: 2 ** 33, refusedRequests: 1 },
      opencodeVersion: "1.18.33",
      steps: 3,
      toolCalls: 2,
      failedToolCalls: 1,
    };
    const result = fromWireResult(wire.JobResult.decode(wire.JobResult.encode({ ...base, agent }).finish()));
    expect(result.agent).toEqual(agent);
    expect("agent" in fromWireResult(base)).toBe(false);
  });

  it("reads an agent outcome without usage as zero use", () => {
    const agent = wire.AgentOutcome.create({ finalText: "ok" });
    expect(fromWireResult({ ...base, agent }).agent?.usage).toEqual({ requests: 0, inputTokens: 0, outputTokens: 0, refusedRequests: 0 });
  });

  it("reads absent metrics as zeros", () => {
    const result = fromWireResult({ ...base, metrics: undefined });
    expect([result.durationMs, result.workerId, result.phaseMs.executeMs]).toEqual([0, "", 0]);
  });
});

describe("fromWireEvent", () => {
  const at = 1_700_000_000_000;
  const event = (kind: wire.JobEvent["kind"]): wire.JobEvent => ({ seq: 7, timestampUnixMs: at, jobId: "job-1", kind });
  const base = { seq: 7, timestamp: new Date(at), jobId: "job-1" };

  it.each([
    [
      { $case: "accepted", value: { sessionId: "s-1", state: wire.JobState.JOB_STATE_QUEUED, queuePosition: 2 } },
      { type: "accepted", sessionId: "s-1", state: "queued", queuePosition: 2 },
    ],
    [
      { $case: "phaseChanged", value: { phase: wire.Phase.PHASE_EXECUTE, state: wire.JobState.JOB_STATE_RUNNING } },
      { type: "phase", phase: "execute", state: "running" },
    ],
    [
      { $case: "output", value: { stream: wire.OutputStream.OUTPUT_STREAM_STDERR, data: Buffer.from("x"), offset: 10 } },
      { type: "output", stream: "stderr", data: Buffer.from("x"), offset: 10 },
    ],
    [
      { $case: "resourceSample", value: { usage: { cpuTimeMs: 5, memoryBytes: 6, memoryPeakBytes: 7, pids: 8 } } },
      { type: "usage", usage: { cpuTimeMs: 5, memoryBytes: 6, memoryPeakBytes: 7, pids: 8 } },
    ],
    [{ $case: "keepalive", value: {} }, { type: "keepalive" }],
    [
      { $case: "agentStep", value: { kind: wire.AgentStepKind.AGENT_STEP_KIND_TOOL, tool: "bash", status: "completed", text: "id -u" } },
      { type: "agent_step", kind: "tool", tool: "bash", status: "completed", text: "id -u" },
    ],
    [
      { $case: "agentStep", value: { kind: wire.AgentStepKind.AGENT_STEP_KIND_TEXT, tool: "", status: "", text: "done" } },
      { type: "agent_step", kind: "text", text: "done" },
    ],
    [
      { $case: "agentStep", value: { kind: 77 as wire.AgentStepKind, tool: "", status: "", text: "" } },
      { type: "agent_step", kind: "unknown", text: "" },
    ],
    [
      {
        $case: "modelCall",
        value: {
          number: 2,
          model: "fakeprov/fake",
          httpStatus: 200,
          inputTokens: 900,
          outputTokens: 40,
          latencyMs: 31,
          firstByteMs: 4,
          refused: "",
        },
      },
      {
        type: "model_call",
        number: 2,
        model: "fakeprov/fake",
        httpStatus: 200,
        inputTokens: 900,
        outputTokens: 40,
        latencyMs: 31,
        firstByteMs: 4,
      },
    ],
    [
      {
        $case: "modelCall",
        value: {
          number: 4,
          model: "fakeprov/fake",
          httpStatus: 429,
          inputTokens: 0,
          outputTokens: 0,
          latencyMs: 0,
          firstByteMs: 0,
          refused: "model budget spent",
        },
      },
      {
        type: "model_call",
        number: 4,
        model: "fakeprov/fake",
        httpStatus: 429,
        inputTokens: 0,
        outputTokens: 0,
        latencyMs: 0,
        firstByteMs: 0,
        refused: "model budget spent",
      },
    ],
  ] as [wire.JobEvent["kind"], object][])("maps %p", (kind, expected) => {
    expect(fromWireEvent(event(kind))).toEqual({ ...base, ...expected });
  });

  it("carries the result in a completed event", () => {
    const converted = fromWireEvent(
      event({
        $case: "completed",
        value: wire.JobResult.create({ jobId: "job-1", state: wire.JobState.JOB_STATE_FINISHED }),
      }),
    );
    expect(converted?.type === "completed" && converted.result.state).toBe("finished");
  });

  it("skips kinds and streams it does not know", () => {
    expect(fromWireEvent(event(undefined))).toBeUndefined();
    expect(
      fromWireEvent(
        event({ $case: "output", value: { stream: wire.OutputStream.OUTPUT_STREAM_UNSPECIFIED, data: Buffer.from("x"), offset: 0 } }),
      ),
    ).toBeUndefined();
  });
});

describe("fromWireStatus", () => {
  it("reads a running job: no reason, no end", () => {
    const status = fromWireStatus(
      wire.JobStatus.create({
        jobId: "job-1",
        sessionId: "s-1",
        state: wire.JobState.JOB_STATE_RUNNING,
        phase: wire.Phase.PHASE_EXECUTE,
        createdUnixMs: 1000,
        startedUnixMs: 2000,
        lastSeq: 12,
      }),
    );
    expect(status).toMatchObject({ state: "running", phase: "execute", ended: false, lastSeq: 12 });
    expect(status.reason).toBeUndefined();
    expect(status.startedAt).toEqual(new Date(2000));
    expect(status.endedAt).toBeUndefined();
  });

  it("reads an ended job with its reason", () => {
    const status = fromWireStatus(
      wire.JobStatus.create({
        state: wire.JobState.JOB_STATE_TIMED_OUT,
        reason: wire.TerminationReason.TERMINATION_REASON_TIMEOUT,
        endedUnixMs: 5000,
      }),
    );
    expect([status.ended, status.reason, status.endedAt]).toEqual([true, "timeout", new Date(5000)]);
  });
});

describe("fromWireMetrics", () => {
  it("maps outcomes and reads absent latency as zeros", () => {
    const metrics = fromWireMetrics(
      wire.GetMetricsResponse.create({
        workerId: "w-1",
        outcomes: [
          {
            state: wire.JobState.JOB_STATE_FAILED,
            reason: wire.TerminationReason.TERMINATION_REASON_MEMORY_LIMIT,
            count: 3,
          },
        ],
        draining: true,
      }),
    );
    expect(metrics.outcomes).toEqual([{ state: "failed", reason: "memory_limit", count: 3 }]);
    expect(metrics.jobLatency).toEqual({ count: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, maxMs: 0 });
    expect(metrics.draining).toBe(true);
    expect([metrics.opencodeVersion, metrics.modelRequestsTotal, metrics.modelTokensTotal]).toEqual(["", 0, 0]);
  });

  it("maps the model gateway's totals and the OpenCode version", () => {
    const metrics = fromWireMetrics(
      wire.GetMetricsResponse.create({
        opencodeVersion: "1.18.33",
        modelRequestsTotal: 12,
        modelRequestsRefusedTotal: 2,
        modelTokensTotal: 2 ** 40,
      }),
    );
    expect([metrics.opencodeVersion, metrics.modelRequestsTotal, metrics.modelRequestsRefusedTotal, metrics.modelTokensTotal]).toEqual([
      "1.18.33",
      12,
      2,
      2 ** 40,
    ]);
  });
});

describe("required", () => {
  it("fails as an InternalError when the worker left out a message", () => {
    expect(() => required(undefined, "result")).toThrow(InternalError);
  });
});
