import { describe, expect, it } from "@jest/globals";
import { JOB_ID_PATTERN } from "./contract.js";
import { uuidv7 } from "./uuidv7.js";

describe("uuidv7", () => {
  it("has version 7, the RFC variant, and the time in its first 48 bits", () => {
    const id = uuidv7(0x0123456789ab);
    expect(id).toMatch(/^01234567-89ab-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(id).toMatch(JOB_ID_PATTERN);
  });

  it("sorts by creation time and does not repeat", () => {
    const ids = [uuidv7(1000), uuidv7(2000), uuidv7(3000)];
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(Array.from({ length: 1000 }, () => uuidv7())).size).toBe(1000);
  });
});
