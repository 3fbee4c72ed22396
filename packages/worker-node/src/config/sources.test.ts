import { describe, expect, it } from "@jest/globals";
import { readSources, type SourceInputs } from "./sources.js";

const CWD = "/srv/worker";

/** A file reader over an in-memory tree; a missing path fails like fs does. */
function files(tree: Record<string, string>): SourceInputs["readFile"] {
  return async (path) => {
    const text = tree[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: "ENOENT" });
    return text;
  };
}

function inputs(partial: Partial<SourceInputs>): SourceInputs {
  return { argv: [], env: {}, cwd: CWD, readFile: files({}), ...partial };
}

/** The settings as "name=value@source", lowest priority first. */
async function read(partial: Partial<SourceInputs>): Promise<string[]> {
  const { settings } = await readSources(inputs(partial));
  return settings.map(({ option, value, source }) => `${option.name}=${String(value)}@${source}`);
}

function configError(fields: Record<string, unknown>) {
  return expect.objectContaining({ name: "ConfigError", ...fields });
}

describe("readSources: CLI", () => {
  it("reads --section.key=value, --section.key value and bare flags", async () => {
    const argv = ["--worker.concurrency=8", "--grpc.port", "0", "--security.trusted_jobs", "--grpc.host=::1"];
    expect(await read({ argv })).toEqual([
      "worker.concurrency=8@cli",
      "grpc.port=0@cli",
      "security.trusted_jobs=true@cli",
      "grpc.host=::1@cli",
    ]);
  });

  it("skips a bare -- (pnpm start -- --x=1 passes it through)", async () => {
    expect(await read({ argv: ["--", "--worker.concurrency=3"] })).toEqual(["worker.concurrency=3@cli"]);
  });

  it("takes a value that starts with a single dash", async () => {
    expect(await read({ argv: ["--grpc.port", "-1"] })).toEqual(["grpc.port=-1@cli"]);
  });

  it.each([
    [["--worker.concurency=8"], "worker.concurency"],
    [["--wroker.concurrency=8"], "wroker.concurrency"],
    [["--help"], "help"],
    [["serve"], "serve"],
    [["--config"], "config"],
  ])("rejects %p", async (argv, key) => {
    await expect(readSources(inputs({ argv }))).rejects.toEqual(configError({ key, source: "cli" }));
  });
});

describe("readSources: env", () => {
  it("reads OPENCODE_WORKER_<SECTION>_<KEY> and ignores empty and unrelated variables", async () => {
    const env = {
      OPENCODE_WORKER_SESSION_MAX_ARTIFACTS_TOTAL_BYTES: "1GiB",
      OPENCODE_WORKER_GRPC_PORT: "",
      OPENCODE_WORKER_LOGGING_LEVEL: undefined,
      PATH: "/usr/bin",
    };
    expect(await read({ env })).toEqual(["session.max_artifacts_total_bytes=1GiB@env OPENCODE_WORKER_SESSION_MAX_ARTIFACTS_TOTAL_BYTES"]);
  });

  it.each([
    ["OPENCODE_WORKER_WORKER_CONCURENCY", "worker.concurency"],
    ["OPENCODE_WORKER_WROKER_CONCURRENCY", "wroker.concurrency"],
    ["OPENCODE_WORKER_PORT", "port"],
  ])("rejects %s", async (variable, key) => {
    await expect(readSources(inputs({ env: { [variable]: "8" } }))).rejects.toEqual(
      configError({ key, value: "8", source: `env ${variable}` }),
    );
  });
});

describe("readSources: config file", () => {
  const defaultFile = `${CWD}/opencode-worker.json`;

  it("reads opencode-worker.json in cwd, section by section", async () => {
    const readFile = files({ [defaultFile]: '{"worker": {"concurrency": 8}, "session": {"base_dir": "/x"}}' });
    const sources = await readSources(inputs({ readFile }));
    expect(sources.file).toBe(defaultFile);
    expect(await read({ readFile })).toEqual([`worker.concurrency=8@file ${defaultFile}`, `session.base_dir=/x@file ${defaultFile}`]);
  });

  it("is fine without a default file", async () => {
    expect(await readSources(inputs({}))).toEqual({ settings: [], file: undefined });
  });

  it("reads the file --config names, relative to cwd, before the one OPENCODE_WORKER_CONFIG names", async () => {
    const readFile = files({ "/etc/a.json": '{"grpc": {"port": 1}}', [`${CWD}/b.json`]: '{"grpc": {"port": 2}}' });
    const env = { OPENCODE_WORKER_CONFIG: "/etc/a.json" };
    expect(await read({ readFile, env })).toEqual(["grpc.port=1@file /etc/a.json"]);
    expect(await read({ readFile, env, argv: ["--config", "b.json"] })).toEqual([`grpc.port=2@file ${CWD}/b.json`]);
    expect(await read({ readFile, env, argv: ["--config=b.json"] })).toEqual([`grpc.port=2@file ${CWD}/b.json`]);
  });

  it.each([
    [{ argv: ["--config=missing.json"] }, "missing.json", "cli"],
    [{ env: { OPENCODE_WORKER_CONFIG: "/etc/missing.json" } }, "/etc/missing.json", "env OPENCODE_WORKER_CONFIG"],
  ])("rejects a named file that is missing (%p)", async (partial, value, source) => {
    await expect(readSources(inputs(partial))).rejects.toEqual(configError({ key: "config", value, source }));
  });

  it("rejects a default file it cannot read", async () => {
    const readFile = async () => {
      throw Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" });
    };
    await expect(readSources(inputs({ readFile }))).rejects.toEqual(configError({ key: "config", source: `file ${defaultFile}` }));
  });

  it.each([
    ['{"worker": {"concurrency": 8,}}', "config"],
    ["[1, 2]", "config"],
    ['{"worker": 8}', "worker"],
    ['{"wroker": {}}', "wroker"],
    ['{"worker": {"concurency": 8}}', "worker.concurency"],
  ])("rejects the file %s naming %s and the file", async (text, key) => {
    const readFile = files({ [defaultFile]: text });
    await expect(readSources(inputs({ readFile }))).rejects.toEqual(configError({ key, source: `file ${defaultFile}` }));
  });
});

describe("readSources: priority", () => {
  it("lists settings lowest priority first: file, env, CLI, overrides", async () => {
    const readFile = files({ [`${CWD}/opencode-worker.json`]: '{"grpc": {"port": 1}}' });
    const env = { OPENCODE_WORKER_GRPC_PORT: "2" };
    const argv = ["--grpc.port=3"];
    const overrides = { grpc: { port: 4, host: undefined } };
    expect(await read({ readFile, env, argv, overrides })).toEqual([
      `grpc.port=1@file ${CWD}/opencode-worker.json`,
      "grpc.port=2@env OPENCODE_WORKER_GRPC_PORT",
      "grpc.port=3@cli",
      "grpc.port=4@overrides",
    ]);
  });

  it("rejects unknown names in overrides", async () => {
    const overrides = { grpc: { prot: 1 } } as never;
    await expect(readSources(inputs({ overrides }))).rejects.toEqual(configError({ key: "grpc.prot", source: "overrides" }));
  });
});
