// Error codes, HTTP statuses and messages as the real ECS / VPC OpenAPI answers them
// (from the public API references' error tables; see README.md for the few that are guesses).
import { ApiError } from './types.js';

export const MockErrorCodes = {
  // gateway / common
  InvalidActionNotFound: 'InvalidAction.NotFound',
  InvalidVersion: 'InvalidVersion',
  MissingParameter: 'MissingParameter',
  InvalidParameter: 'InvalidParameter',
  IncompleteSignature: 'IncompleteSignature',
  SignatureDoesNotMatch: 'SignatureDoesNotMatch',
  InvalidAccessKeyIdNotFound: 'InvalidAccessKeyId.NotFound',
  InvalidTimeStampExpired: 'InvalidTimeStamp.Expired',
  SignatureNonceUsed: 'SignatureNonceUsed',
  ThrottlingUser: 'Throttling.User',
  Throttling: 'Throttling',
  InternalError: 'InternalError',
  ServiceUnavailable: 'ServiceUnavailable',
  IdempotentParameterMismatch: 'IdempotentParameterMismatch',
  InvalidRegionIdNotFound: 'InvalidRegionId.NotFound',
  // STS credentials (a key from an instance RAM role)
  SecurityTokenExpired: 'InvalidSecurityToken.Expired',
  SecurityTokenMismatch: 'InvalidSecurityToken.MismatchWithAccessKey',
  SecurityTokenMalformed: 'InvalidSecurityToken.Malformed',
  MissingSecurityToken: 'MissingSecurityToken',
  // ECS ENI
  EniNotFound: 'InvalidEniId.NotFound',
  InstanceNotFound: 'InvalidEcsId.NotFound',
  VSwitchNotFound: 'InvalidVSwitchId.NotFound',
  SecurityGroupNotFound: 'InvalidSecurityGroupId.NotFound',
  EniStateInvalid: 'InvalidOperation.InvalidEniState',
  DetachPrimaryEniNotAllowed: 'InvalidOperation.DetachPrimaryEniNotAllowed',
  InvalidEniType: 'InvalidOperation.InvalidEniType',
  AvailabilityZoneMismatch: 'InvalidOperation.AvailabilityZoneMismatch',
  VpcMismatch: 'InvalidOperation.VpcMismatch',
  EniPerInstanceLimitExceeded: 'EniPerInstanceLimitExceeded',
  Ipv4CountExceeded: 'InvalidOperation.Ipv4CountExceeded',
  Ipv6CountExceeded: 'InvalidOperation.Ipv6CountExceeded',
  Ipv6NotSupport: 'InvalidOperation.Ipv6NotSupport',
  Ipv6NotTurnOn: 'InvalidVSwitch.Ipv6NotTurnOn',
  IpAddressInvalid: 'InvalidIp.Address',
  VSwitchIpNotEnough: 'InvalidVSwitchId.IpNotEnough',
  VSwitchIpInvalid: 'InvalidVSwitchId.IpInvalid',
  IpAssigned: 'InvalidIp.IpAssigned',
  IpUnassigned: 'InvalidIp.IpUnassigned',
  IpRepeated: 'InvalidIp.IpRepeated',
  PrivateIpAddressCount: 'InvalidParam.PrivateIpAddressCount',
  InvalidInstanceType: 'InvalidInstanceType.ValueNotSupported',
  OperationConflict: 'Operation.Conflict',
  // VPC routes
  RouteTableNotFound: 'InvalidRouteTableId.NotFound',
  RouteEntryNotFound: 'InvalidRouteEntry.NotFound',
  CidrBlockDuplicate: 'InvalidCIDRBlock.Duplicate',
  NextHopInstanceNotFound: 'InvalidInstanceId.NotFound',
} as const;

const C = MockErrorCodes;

export const errors = {
  actionNotFound: () => new ApiError(404, C.InvalidActionNotFound, 'Specified api is not found, please check your url and method.'),
  invalidVersion: () => new ApiError(400, C.InvalidVersion, 'Specified parameter Version is not valid.'),
  missing: (name: string) =>
    new ApiError(400, C.MissingParameter, `The input parameter "${name}" that is mandatory for processing this request is not supplied.`),
  invalidParam: (name: string, why = 'is not valid') => new ApiError(400, C.InvalidParameter, `The specified parameter "${name}" ${why}.`),
  incompleteSignature: (why: string) =>
    new ApiError(400, C.IncompleteSignature, `The request signature does not conform to Aliyun standards. ${why}`),
  signatureMismatch: (stringToSign: string) =>
    new ApiError(
      400,
      C.SignatureDoesNotMatch,
      `Specified signature is not matched with our calculation. server string to sign is:${stringToSign}`,
    ),
  accessKeyNotFound: () => new ApiError(404, C.InvalidAccessKeyIdNotFound, 'Specified access key is not found.'),
  timestampExpired: () => new ApiError(400, C.InvalidTimeStampExpired, 'Specified time stamp or date value is expired.'),
  nonceUsed: () => new ApiError(400, C.SignatureNonceUsed, 'Specified signature nonce was used already.'),
  throttlingUser: () => new ApiError(400, C.ThrottlingUser, 'Request was denied due to user flow control.'),
  throttling: () => new ApiError(400, C.Throttling, 'Request was denied due to request throttling.'),
  internal: () => new ApiError(500, C.InternalError, 'The request processing has failed due to some unknown error, exception or failure.'),
  unavailable: () => new ApiError(503, C.ServiceUnavailable, 'The request has failed due to a temporary failure of the server.'),
  idempotentMismatch: () =>
    new ApiError(400, C.IdempotentParameterMismatch, 'The request uses the same client token as a previous, but non-identical request.'),
  regionNotFound: () => new ApiError(404, C.InvalidRegionIdNotFound, 'The specified RegionId does not exist.'),
  securityTokenExpired: () => new ApiError(400, C.SecurityTokenExpired, 'Specified SecurityToken is expired.'),
  securityTokenMismatch: () => new ApiError(400, C.SecurityTokenMismatch, 'Specified SecurityToken mismatch with the AccessKey.'),
  securityTokenMalformed: () => new ApiError(400, C.SecurityTokenMalformed, 'Specified SecurityToken is malformed.'),
  missingSecurityToken: () => new ApiError(400, C.MissingSecurityToken, 'SecurityToken is mandatory for an STS AccessKey.'),
  operationConflict: () => new ApiError(403, C.OperationConflict, 'The operation may conflicts with others.'),
  eniNotFound: (id: string) => new ApiError(404, C.EniNotFound, `The specified NetworkInterfaceId does not exist: ${id}.`),
  instanceNotFound: (id: string) => new ApiError(404, C.InstanceNotFound, `The specified instance does not exist: ${id}.`),
  vSwitchNotFound: (id: string) => new ApiError(404, C.VSwitchNotFound, `The specified VSwitchId does not exist: ${id}.`),
  securityGroupNotFound: (id: string) => new ApiError(404, C.SecurityGroupNotFound, `The specified SecurityGroupId does not exist: ${id}.`),
  eniState: (id: string, status: string, status400 = false) =>
    new ApiError(status400 ? 400 : 403, C.EniStateInvalid, `The operation is not allowed in the current ENI state (${id} is ${status}).`),
  detachPrimary: () => new ApiError(400, C.DetachPrimaryEniNotAllowed, 'Detaching primary ENI from ECS instance is not allowed.'),
  eniType: () => new ApiError(403, C.InvalidEniType, 'The operation is not allowed in the current ENI type.'),
  zoneMismatch: () => new ApiError(403, C.AvailabilityZoneMismatch, 'The specified VSwitch, ENI and instance are not in the same zone.'),
  vpcMismatch: () => new ApiError(403, C.VpcMismatch, 'The specified ENI and security group are not in the same VPC.'),
  eniPerInstance: (instanceType: string, limit: number) =>
    new ApiError(
      403,
      C.EniPerInstanceLimitExceeded,
      `The number of ENI exceeds the limit for the type of instance ${instanceType} (${limit}).`,
    ),
  ipv4CountExceeded: (limit: number) =>
    new ApiError(403, C.Ipv4CountExceeded, `The maximum number of IPv4 addresses of the ENI has been reached (${limit}).`),
  // IPv6: codes, statuses and message templates from the AssignIpv6Addresses error table.
  ipv6CountExceeded: (eniId: string, limit: number, instanceType: string, assigned: number, want: number) =>
    new ApiError(
      403,
      C.Ipv6CountExceeded,
      `The number of eni ${eniId} ipv6 address exceeds the limit(${limit}). target instanceType ${instanceType}. Assigned:${assigned}. Expecting assign:${want}.`,
    ),
  ipv6NotSupport: (instanceType: string) => new ApiError(403, C.Ipv6NotSupport, `The instanceType of ${instanceType} not support ipv6.`),
  ipv6NotTurnOn: (vSwitchId: string) =>
    new ApiError(403, C.Ipv6NotTurnOn, `The specified VSwitch "${vSwitchId}" ipv6 function not turn on.`),
  ipAddressInvalid: (ip: string) => new ApiError(403, C.IpAddressInvalid, `The specified ipAddress "${ip}" is invalid.`),
  vSwitchIpNotEnough: (id: string) =>
    new ApiError(403, C.VSwitchIpNotEnough, `The specified VSwitch ${id} does not have enough IP addresses.`),
  vSwitchIpInvalid: (ip: string) =>
    new ApiError(403, C.VSwitchIpInvalid, `The specified private IP address ${ip} is not valid in the VSwitch.`),
  ipAssigned: (ip: string) => new ApiError(403, C.IpAssigned, `The specified IP ${ip} is already assigned.`),
  ipUnassigned: (ip: string) => new ApiError(403, C.IpUnassigned, `The specified IP ${ip} is not assigned to the ENI.`),
  ipRepeated: (ip: string) => new ApiError(403, C.IpRepeated, `The specified IP ${ip} is repeated.`),
  ipCountPerCall: () => new ApiError(400, C.PrivateIpAddressCount, 'At most 10 private IP addresses can be assigned in one call.'),
  instanceType: (t: string) => new ApiError(400, C.InvalidInstanceType, `The specified InstanceType does not exist: ${t}.`),
  routeTableNotFound: (id: string) => new ApiError(404, C.RouteTableNotFound, `The specified route table does not exist: ${id}.`),
  routeEntryNotFound: () => new ApiError(404, C.RouteEntryNotFound, 'The specified route entry does not exist.'),
  cidrDuplicate: (cidr: string) => new ApiError(400, C.CidrBlockDuplicate, `Specified CIDR block ${cidr} is already exists.`),
  nextHopNotFound: (id: string) => new ApiError(404, C.NextHopInstanceNotFound, `The specified instance does not exist: ${id}.`),
};
