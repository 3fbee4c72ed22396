import { describe, expect, it } from "@jest/globals";
import { ConnectionError, InvalidArgumentError, UnavailableError } from "@opencode-worker/master-client";
import { renderError } from "./render-error.js";

describe("renderError", () => {
  const unreachable =
    "no worker answers at 10.0.0.5:50051: start one (`opencode-worker serve`), or point the plugin elsewhere " +
    "with its `address` option or OPENCODE_WORKER_ADDRESS";

  it("says no worker answers, at which address and how to fix it, for a connection error", () => {
    const error = new ConnectionError("connect: no worker at 10.0.0.5:50051 (ECONNREFUSED)");
    expect(renderError(error, "10.0.0.5:50051")).toBe(
      `worker error CONNECTION: connect: no worker at 10.0.0.5:50051 (ECONNREFUSED)\n${unreachable}`,
    );
  });

  it("says the same for a worker that is unavailable", () => {
    const error = new UnavailableError("dispatch: No connection established");
    expect(renderError(error, "10.0.0.5:50051")).toBe(`worker error UNAVAILABLE: dispatch: No connection established\n${unreachable}`);
  });

  it("keeps the SDK's message, which names the field, for an invalid argument", () => {
    const error = new InvalidArgumentError("limits.memory must be a byte size like 512MiB, got '1 gig'", { field: "limits.memory" });
    expect(renderError(error, "127.0.0.1:50051")).toBe(
      "worker error INVALID_ARGUMENT: limits.memory must be a byte size like 512MiB, got '1 gig'\nfix the named argument and call the tool again",
    );
  });

  it("gives any other failure as one line without a stack", () => {
    const error = new TypeError("Cannot read properties of undefined (reading 'jobId')");
    expect(error.stack).toContain("\n    at ");
    expect(renderError(error, "127.0.0.1:50051")).toBe(
      "opencode-worker plugin error: Cannot read properties of undefined (reading 'jobId')",
    );
    expect(renderError("a thrown string", "127.0.0.1:50051")).toBe("opencode-worker plugin error: a thrown string");
  });
});
