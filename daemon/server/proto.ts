// Loads eni.proto and health.proto at run time. dist/ holds no .proto files, so paths are
// resolved from the package root (the nearest directory with package.json), which works from
// source under tsx/vitest and from dist/ after tsc alike.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export function findPackageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
}

export const ENI_PROTO_PATH = join(findPackageRoot(), 'proto', 'eni.proto');
export const HEALTH_PROTO_PATH = join(findPackageRoot(), 'daemon', 'server', 'health.proto');

/** snake_case field names as in the .proto, enums as their names, defaults filled in. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

export interface LoadedServices {
  eniBackend: grpc.ServiceDefinition;
  health: grpc.ServiceDefinition;
  /** Client constructors, for tests and tooling. */
  EniBackendClient: grpc.ServiceClientConstructor;
  HealthClient: grpc.ServiceClientConstructor;
}

let cached: LoadedServices | undefined;

export function loadServices(): LoadedServices {
  if (cached) return cached;
  const eniDef = protoLoader.loadSync(ENI_PROTO_PATH, LOADER_OPTIONS);
  const healthDef = protoLoader.loadSync(HEALTH_PROTO_PATH, LOADER_OPTIONS);
  const eniPkg = grpc.loadPackageDefinition(eniDef) as unknown as { eniipam: { v1: { EniBackend: grpc.ServiceClientConstructor } } };
  const healthPkg = grpc.loadPackageDefinition(healthDef) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  const EniBackendClient = eniPkg.eniipam.v1.EniBackend;
  const HealthClient = healthPkg.grpc.health.v1.Health;
  cached = { eniBackend: EniBackendClient.service, health: HealthClient.service, EniBackendClient, HealthClient };
  return cached;
}
