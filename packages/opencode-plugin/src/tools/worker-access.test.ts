import { describe, expect, it } from "@jest/globals";
import { readSettings, SettingsError } from "../settings.js";
import { WorkerAccess } from "./worker-access.js";

describe("WorkerAccess with TLS and token settings", () => {
  it("reads the certificate and token settings from their environment variables", () => {
    const settings = readSettings(undefined, {
      OPENCODE_WORKER_CA_FILE: "/etc/ca.crt",
      OPENCODE_WORKER_CERT_FILE: "/etc/me.crt",
      OPENCODE_WORKER_KEY_FILE: "/etc/me.key",
      OPENCODE_WORKER_TOKEN_FILE: "/etc/token",
    });
    expect(settings).toMatchObject({ caFile: "/etc/ca.crt", certFile: "/etc/me.crt", keyFile: "/etc/me.key", tokenFile: "/etc/token" });
  });

  it("refuses a token and a token file together", () => {
    expect(() => readSettings({ token: "t" }, { OPENCODE_WORKER_TOKEN_FILE: "/etc/token" })).toThrow(SettingsError);
  });

  it("answers with the misconfiguration when a file cannot be read, without calling the worker", async () => {
    const access = new WorkerAccess(readSettings({ caFile: "/nonexistent/ca.crt" }, {}));
    let called = false;
    const answer = await access.use(async () => {
      called = true;
      return "ran";
    });
    expect(called).toBe(false);
    expect(answer).toMatch(/^opencode-worker plugin is misconfigured: caFile "\/nonexistent\/ca.crt" cannot be read \(ENOENT\)/);
  });
});
