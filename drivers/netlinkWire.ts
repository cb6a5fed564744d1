// Wire bytes of the netlink messages the drivers send, for message tests where the kernel lacks the feature
// (ipvlan): the same builders the socket wrapper uses, serialised by the netlink package.
import type * as NL from 'netlink';
import { concatStream, loadNetlink, type LinkMessage, type addressMessage, type routeMessage } from './netlink.js';

/** A full RTM_NEWLINK payload (ifinfomsg + attributes): what newLink() sends. */
export function encodeLinkMessage(data: NL.rt.Link, linkAttrs: NL.ifla.LinkAttrs): Buffer {
  const { rt } = loadNetlink();
  return concatStream((s) => rt.formatLinkMessage({ kind: 'link', data, attrs: linkAttrs }, s));
}

export function decodeLinkMessage(b: Buffer): LinkMessage {
  return loadNetlink().rt.parseLinkMessage(b);
}

/** An RTM_NEWADDR body (ifaddrmsg + attributes) as addAddress() sends it. */
export function encodeAddressMessage(m: ReturnType<typeof addressMessage>): Buffer {
  return concatStream((s) => loadNetlink().rt.formatAddressMessage({ kind: 'address', ...m }, s));
}

/** An RTM_NEWROUTE body (rtmsg + attributes) as addRoute() sends it. */
export function encodeRouteMessage(m: ReturnType<typeof routeMessage>): Buffer {
  return concatStream((s) => loadNetlink().rt.formatRouteMessage({ kind: 'route', ...m }, s));
}
