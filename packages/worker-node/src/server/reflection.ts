import type { Server } from "@grpc/grpc-js";
import type { PackageDefinition } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { contractFileDescriptors } from "@opencode-worker/shared";

/**
 * Server reflection (v1 and v1alpha) from the real descriptor set made by `buf build`.
 * Feeding it proto-loader's re-serialised descriptors breaks `grpcurl`/`buf curl` calls (imports
 * dropped, files renamed); ReflectionService only reads `fileDescriptorProtos` from each entry of
 * the package definition, so we hand it the original FileDescriptorProto bytes.
 */
export function addReflection(server: Server): void {
  const definition = { contract: { fileDescriptorProtos: contractFileDescriptors() } };
  new ReflectionService(definition as unknown as PackageDefinition).addToServer(server);
}
