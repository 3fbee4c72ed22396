import { describe, expect, it } from "@jest/globals";
import * as errors from "./errors.js";

/**
 * A second evaluation of errors.ts (jest keys modules by specifier, query included): classes of the
 * same names that share nothing but the brand, as when two versions of the SDK sit in node_modules.
 * A variable, so the type checker does not try to resolve the query.
 */
const SECOND_COPY = "./errors.js?second-copy";

describe("SDK errors across duplicate copies of the package", () => {
  it("are instances of the other copy's classes", async () => {
    const copy = (await import(SECOND_COPY)) as typeof errors;
    expect(copy.InvalidArgumentError).not.toBe(errors.InvalidArgumentError);

    const fromCopy = new copy.InvalidArgumentError("limits.memory: bad", { field: "limits.memory" });
    expect(fromCopy).toBeInstanceOf(errors.InvalidArgumentError);
    expect(fromCopy).toBeInstanceOf(errors.WorkerClientError);
    expect(new errors.JobNotFinishedError("x")).toBeInstanceOf(copy.FailedPreconditionError);
    expect(new copy.AbortError("x")).toBeInstanceOf(errors.CancelledError);
  });

  it("are still told apart by class", async () => {
    const copy = (await import(SECOND_COPY)) as typeof errors;
    expect(new copy.NotFoundError("x")).not.toBeInstanceOf(errors.InvalidArgumentError);
    expect(new errors.FailedPreconditionError("x")).not.toBeInstanceOf(copy.JobNotFinishedError);
    expect(new copy.InternalError("x")).not.toBeInstanceOf(errors.JobFailedError);
    expect(new Error("x")).not.toBeInstanceOf(errors.WorkerClientError);
    expect(null).not.toBeInstanceOf(errors.WorkerClientError);
  });

  it("leave a caller's own subclass to the prototype chain", () => {
    class RetryGaveUp extends errors.UnavailableError {}
    expect(new RetryGaveUp("x")).toBeInstanceOf(RetryGaveUp);
    expect(new errors.UnavailableError("x")).not.toBeInstanceOf(RetryGaveUp);
    expect(new RetryGaveUp("x")).toBeInstanceOf(errors.UnavailableError);
  });
});
