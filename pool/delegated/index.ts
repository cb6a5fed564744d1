// Face of the delegated pool (centralized IPAM's node side): the allocator and its port.
export { DelegatedPool, type DelegatedPoolOptions } from './delegatedPool.js';
export { applyPlacement, type PlacementFinding, type PlacementInput } from './applyPlacement.js';
export { nodeUsage } from './usage.js';
export type { IpUse, NodeUsage, PlacedEni, PlacedIp, PlacedIpStatus, Placement, PlacementSource } from './placement.js';
