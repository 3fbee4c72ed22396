import { describe, expect, it } from "@jest/globals";
import { UploadBlobsRequest } from "./generated/opencode/worker/v1/workspace.pb.js";
import { decodeUploadBlobsRequest, encodeUploadBlobsRequest } from "./upload-blobs-codec.js";

const digest = { sha256: "ab".repeat(32), sizeBytes: "3145728" };
describe("encodeUploadBlobsRequest", () => {
  it.each([0, 1, 127, 128, 16_383, 16_384, 1024 * 1024])("encodes a %i-byte chunk exactly as the generated code does", (size) => {
    const data = Buffer.alloc(size, 0x5a);
    for (const offset of ["0", "1048576", "18446744073709551615"]) {
      const message = { digest, offset, data };
      const encoded = encodeUploadBlobsRequest(message);
      expect(encoded.equals(Buffer.from(UploadBlobsRequest.encode(message).finish()))).toBe(true);
      const decoded = UploadBlobsRequest.decode(encoded);
      expect({ ...decoded, data: undefined }).toEqual({ digest, offset, data: undefined });
      expect(Buffer.from(decoded.data).equals(data)).toBe(true);
    }
  });

  it("encodes a chunk without a digest too", () => {
    const message = { digest: undefined, offset: "5", data: Buffer.from("x") };
    expect(encodeUploadBlobsRequest(message).equals(Buffer.from(UploadBlobsRequest.encode(message).finish()))).toBe(true);
  });
});

const encode = (message: UploadBlobsRequest): Buffer => Buffer.from(UploadBlobsRequest.encode(message).finish());

/** The generated decoder's answer (a message or the error it throws), to compare the hot path's with. */
function generated(bytes: Buffer): unknown {
  try {
    return UploadBlobsRequest.decode(bytes);
  } catch (error) {
    return error;
  }
}

function fast(bytes: Buffer): unknown {
  try {
    return decodeUploadBlobsRequest(bytes);
  } catch (error) {
    return error;
  }
}

describe("decodeUploadBlobsRequest", () => {
  it("decodes what the generated decoder does, the chunk a view of the message", () => {
    for (const message of [
      { digest, offset: "0", data: Buffer.from("chunk") },
      { digest, offset: "1048576", data: Buffer.alloc(200_000, 3) },
      { digest, offset: "0", data: Buffer.alloc(0) },
      { digest: undefined, offset: "7", data: Buffer.from("x") },
    ]) {
      const bytes = encode(message);
      const decoded = decodeUploadBlobsRequest(bytes);
      expect({ ...decoded, data: Buffer.from(decoded.data).toString("hex") }).toEqual({ ...message, data: message.data.toString("hex") });
      if (message.data.length > 0) expect(decoded.data.buffer).toBe(bytes.buffer);
    }
  });

  it("answers as the generated decoder for data not last, data twice, unknown fields and malformed bytes", () => {
    const data = Buffer.from([0x1a, 0x02, 0x61, 0x62]);
    const head = encode({ digest, offset: "5", data: Buffer.alloc(0) });
    for (const bytes of [
      Buffer.concat([data, head]),
      Buffer.concat([head, data, Buffer.from([0x1a, 0x01, 0x63])]),
      Buffer.concat([head, Buffer.from([0xf8, 0x06, 0x01]), data]),
      Buffer.concat([head, Buffer.from([0x1a, 0x05, 0x61])]),
      Buffer.concat([head, Buffer.from([0x1a])]),
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    ]) {
      expect(fast(bytes)).toEqual(generated(bytes));
    }
  });
});
