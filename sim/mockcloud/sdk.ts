// Builds the official SDK clients pointed at a mock cloud (CJS/ESM default-export interop handled here).
import * as ecs from '@alicloud/ecs20140526';
import * as openapi from '@alicloud/openapi-core';
import * as vpc from '@alicloud/vpc20160428';

type EcsClientT = ecs.default;
type VpcClientT = vpc.default;
type ConfigInit = ConstructorParameters<typeof openapi.$OpenApiUtil.Config>[0];

function ctor<T>(mod: unknown): new (cfg: openapi.$OpenApiUtil.Config) => T {
  // Under Node ESM the CJS module's `exports.default` sits one level deeper than under a bundler.
  const m = mod as { default?: { default?: unknown } | unknown };
  const d = m.default as { default?: unknown } | undefined;
  return (typeof d === 'function' ? d : d?.default) as new (cfg: openapi.$OpenApiUtil.Config) => T;
}

export interface SdkTarget {
  sdkConfig(): { accessKeyId: string; accessKeySecret: string; endpoint: string; protocol: 'http'; regionId: string };
}

export function ecsClient(target: SdkTarget, overrides: Partial<NonNullable<ConfigInit>> = {}): EcsClientT {
  return new (ctor<EcsClientT>(ecs))(new openapi.$OpenApiUtil.Config({ ...target.sdkConfig(), ...overrides }));
}

export function vpcClient(target: SdkTarget, overrides: Partial<NonNullable<ConfigInit>> = {}): VpcClientT {
  return new (ctor<VpcClientT>(vpc))(new openapi.$OpenApiUtil.Config({ ...target.sdkConfig(), ...overrides }));
}

export { ecs as $ecs, openapi as $openapi, vpc as $vpc };
