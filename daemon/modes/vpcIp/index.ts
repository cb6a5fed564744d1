export { VpcIpAllocator, type VpcIpAllocatorOptions } from './vpcIpAllocator.js';
export { parsePodCidr, nextFree, usableCount, contains, ipToInt, intToIp, type PodCidr } from './podCidr.js';
