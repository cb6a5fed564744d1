// The simulated VPC data plane (mock cloud kernel backend) and the netns helpers tests use around it.
export {
  attachKernel,
  type AttachKernelOptions,
  type EniLink,
  type MockCloudLike,
  type RouterRoute,
  type RouterRouteEntry,
  type VpcKernel,
} from './kernel.js';
export {
  cleanupStale,
  createNetns,
  createPodNetns,
  deleteNetns,
  listNetns,
  netnsPath,
  ping,
  podNetnsName,
  probeKernelSupport,
  spawnInNetns,
  uniquePrefix,
  reapDeadRuns,
  type KernelSupport,
} from './netns.js';
export { execIn, mustExecIn, ipBatch, ipJson, run, setSysctls, IpCommandError, type ExecResult } from './ip.js';
export { wirePodByHand, unwirePodByHand, type HandWiredPod } from './handwire.js';
export { bridgeLoopback, type LoopbackBridge } from './loopback.js';
export { ensurePlugin, execPlugin, firstIp, netConf, PLUGIN_PATH, type CniResult, type PluginOutcome, type PodCni } from './cni.js';
export { startNodeDaemon, type NodeDaemon, type NodeDaemonOptions, type StopRegistry } from './daemon.js';
export { parseMetrics, sample, scrapeUnix, type Samples } from './metrics.js';
export { ECHO_PORT, startEchoResponder, udpEcho, udpSocketIn } from './udpEcho.js';
