import { afterAll, describe, expect, it } from "@jest/globals";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../config/config-error.js";
import { DEFAULT_MODEL_LIMITS, loadProviders, type LoadProvidersOptions } from "./providers.js";

const dir = mkdtempSync(join(tmpdir(), "providers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEY = "sk-secret-0123456789";
const BOUND = ["/usr", "/etc"];
const uid = process.getuid?.() ?? 0;
let files = 0;

function keyFile(mode = 0o600, content = `${KEY}\n`): string {
  const path = join(dir, `key-${(files += 1)}`);
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
  return path;
}

function load(providers: unknown, options: LoadProvidersOptions = {}, bound: readonly string[] = BOUND) {
  const path = join(dir, `providers-${(files += 1)}.json`);
  writeFileSync(path, JSON.stringify({ providers }));
  return loadProviders(path, bound, { uid, env: {}, ...options });
}

/** The ConfigError `load` throws, checked never to carry the key. */
function failure(providers: unknown, options: LoadProvidersOptions = {}, bound: readonly string[] = BOUND): ConfigError {
  try {
    load(providers, options, bound);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).not.toContain(KEY);
    return error as ConfigError;
  }
  throw new Error("loadProviders did not throw");
}

const local = { api: "openai-compatible", base_url: "http://127.0.0.1:8080/v1", models: ["qwen3"] };

describe("loadProviders", () => {
  it("reads the brief's example: providers, models with limits or defaults, keys from a file and from env", () => {
    const providers = load(
      {
        openai: {
          api: "openai-compatible",
          base_url: "https://api.openai.com/v1/",
          api_key_file: keyFile(0o400),
          models: { "gpt-5": { context: 400000, output: 32000 }, "gpt-5-mini": {} },
        },
        local,
        anthropic: {
          api: "anthropic",
          base_url: "https://api.anthropic.com/v1",
          api_key_env: "ANTHROPIC_API_KEY",
          models: ["claude-sonnet-4-5"],
        },
      },
      { env: { ANTHROPIC_API_KEY: " sk-ant \n" } },
    );
    expect([...providers.keys()]).toEqual(["openai", "local", "anthropic"]);
    const openai = providers.get("openai");
    expect(openai).toMatchObject({ id: "openai", api: "openai-compatible", baseUrl: "https://api.openai.com/v1", apiKey: KEY });
    expect(openai?.models.get("gpt-5")).toEqual({ context: 400000, output: 32000 });
    expect(openai?.models.get("gpt-5-mini")).toEqual(DEFAULT_MODEL_LIMITS);
    expect(providers.get("local")).toMatchObject({ apiKey: "", baseUrl: "http://127.0.0.1:8080/v1" });
    expect(providers.get("local")?.models.get("qwen3")).toEqual(DEFAULT_MODEL_LIMITS);
    expect(providers.get("anthropic")).toMatchObject({ api: "anthropic", apiKey: "sk-ant" });
  });

  it.each([
    [
      "an unknown provider key, with a suggestion",
      { local: { ...local, base_ulr: "x" } },
      "providers.local.base_ulr",
      /did you mean base_url/,
    ],
    ["a key far from any known one", { local: { ...local, apikey: KEY } }, "providers.local.apikey", /one of api, base_url/],
    ["an unknown model key", { local: { ...local, models: { m: { contxt: 1 } } } }, "providers.local.models.m.contxt", /context/],
    ["an api of neither kind", { local: { ...local, api: "openai" } }, "providers.local.api", /openai-compatible, anthropic/],
    ["a base_url that is not http(s)", { local: { ...local, base_url: "ftp://host/v1" } }, "providers.local.base_url", /http/],
    ["a base_url that is not a URL", { local: { ...local, base_url: "api.openai.com" } }, "providers.local.base_url", /http/],
    ["a provider id with a slash", { "a/b": local }, "providers.a/b", /provider id/],
    ["a model id with a space", { local: { ...local, models: ["gpt 5"] } }, "providers.local.models.gpt 5", /model id/],
    ["no models", { local: { ...local, models: [] } }, "providers.local.models", /at least one model/],
    ["a missing models", { local: { api: local.api, base_url: local.base_url } }, "providers.local.models", /at least one model/],
    ["a bad token count", { local: { ...local, models: { m: { output: 0 } } } }, "providers.local.models.m.output", /positive/],
    ["no providers", {}, "providers", /at least one provider/],
    ["both key sources", { local: { ...local, api_key_file: "/k", api_key_env: "K" } }, "providers.local.api_key_env", /not both/],
    ["an unset key variable", { local: { ...local, api_key_env: "NOT_SET" } }, "providers.local.api_key_env", /set and not empty/],
  ])("refuses %s, naming the JSON path", (_what, providers, key, problem) => {
    const error = failure(providers);
    expect(error.key).toBe(key);
    expect(error.message).toMatch(problem);
    expect(error.message).toContain(dir);
  });

  it("never shows a key pasted under a misspelt name", () => {
    expect(failure({ local: { ...local, api_key: KEY } }).value).toBe("api_key");
  });

  it("refuses an empty key variable", () => {
    expect(failure({ local: { ...local, api_key_env: "K" } }, { env: { K: " " } }).key).toBe("providers.local.api_key_env");
  });

  describe("api_key_file", () => {
    const withFile = (path: string) => ({ local: { ...local, api_key_file: path } });

    it.each(["640", "604", "644"])("refuses mode %s, saying chmod 600", (mode) => {
      const path = keyFile(parseInt(mode, 8));
      const error = failure(withFile(path));
      expect(error.key).toBe("providers.local.api_key_file");
      expect(error.message).toContain(`chmod 600 ${path}`);
    });

    it("refuses a file another uid owns", () => {
      expect(failure(withFile(keyFile()), { uid: uid + 1 }).message).toMatch(/owned by the worker's uid/);
    });

    it("refuses a link to a key file and a directory", () => {
      const link = join(dir, "link");
      symlinkSync(keyFile(), link);
      expect(failure(withFile(link)).message).toMatch(/regular file/);
      expect(failure(withFile(dir)).message).toMatch(/regular file/);
    });

    it("refuses a missing file and a relative path", () => {
      expect(failure(withFile(join(dir, "absent"))).message).toMatch(/ENOENT/);
      expect(failure(withFile("key")).message).toMatch(/absolute path/);
    });

    it("refuses a file under a path the sandbox binds, also through a linked parent", () => {
      const path = keyFile();
      expect(failure(withFile(path), {}, [...BOUND, dir]).message).toMatch(`under ${dir}`);
      const bound = join(dir, "bound");
      mkdirSync(bound);
      const inside = join(bound, "key");
      writeFileSync(inside, KEY, { mode: 0o600 });
      symlinkSync(bound, join(dir, "alias"));
      expect(failure(withFile(join(dir, "alias", "key")), {}, [bound]).message).toMatch(`under ${bound}`);
    });

    it("refuses an empty key file", () => {
      expect(failure(withFile(keyFile(0o600, "\n"))).message).toMatch(/empty/);
    });
  });

  it("refuses a file that is not JSON without quoting it", () => {
    const path = join(dir, "bad.json");
    writeFileSync(path, `{"providers": ${KEY}}`);
    expect(() => loadProviders(path, BOUND)).toThrow(ConfigError);
    expect(() => loadProviders(path, BOUND)).not.toThrow(KEY);
  });
});
