import { describe, expect, it } from "@jest/globals";
import { contractFileDescriptors } from "./descriptor-files.js";

describe("contractFileDescriptors", () => {
  it("holds the worker and health protos, with their real names", () => {
    const names = contractFileDescriptors().map((file) => {
      // FileDescriptorProto.name is field 1 (tag 0x0a), a length-prefixed string at the start.
      expect(file[0]).toBe(0x0a);
      return file.subarray(2, 2 + file[1]!).toString();
    });
    expect(names).toEqual(
      expect.arrayContaining(["opencode/worker/v1/job.proto", "opencode/worker/v1/worker_service.proto", "health/v1/health.proto"]),
    );
  });
});
