import { describe, expect, it } from "@jest/globals";
import { closestName } from "./closest-name.js";

describe("closestName", () => {
  const names = ["worker.concurrency", "worker.id", "grpc.port", "grpc.host"];

  it.each([
    ["worker.concurency", "worker.concurrency"],
    ["wroker.concurrency", "worker.concurrency"],
    ["grpc.prot", "grpc.port"],
    ["grpc.post", "grpc.port"],
  ])("suggests the nearest name for %p", (word, expected) => expect(closestName(word, names)).toBe(expected));

  it("suggests nothing when no name is close", () => {
    expect(closestName("logging.colour_scheme", names)).toBeUndefined();
  });
});
