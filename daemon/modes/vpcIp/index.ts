export { VpcIpAllocator, type VpcIpAllocatorOptions } from './vpcIpAllocator.js';
export { parsePodCidr, nextFree, usableCount, contains, type PodCidr } from './podCidr.js';
