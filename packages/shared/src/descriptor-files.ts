import { BinaryReader } from "@bufbuild/protobuf/wire";
import { descriptorSetBase64 } from "./generated/descriptor-set.js";

/**
 * The encoded FileDescriptorProto of every file of the contract (opencode.worker.v1 and
 * grpc.health.v1), exactly as `buf build` produced them: what server reflection must serve.
 */
export function contractFileDescriptors(): Buffer[] {
  const reader = new BinaryReader(Buffer.from(descriptorSetBase64, "base64"));
  const files: Buffer[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    // FileDescriptorSet.file is field 1.
    if (field === 1) files.push(Buffer.from(reader.bytes()));
    else reader.skip(wireType);
  }
  return files;
}
