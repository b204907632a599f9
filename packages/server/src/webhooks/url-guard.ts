// Where webhooks may go. A webhook makes this server send requests to a URL a client chose,
// so without a guard it reaches into the private network it runs in (SSRF): loopback,
// private, link-local (cloud metadata), carrier-grade NAT and unique-local addresses are
// refused unless WEBHOOK_ALLOW_PRIVATE=true. Names are checked when given and again, after
// DNS, before every delivery (a name may point elsewhere by then).
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

/** Whether an IP address is private, loopback, link-local or otherwise not public. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return blocked.check(mapped[1]!, 'ipv4');
    return blocked.check(address, 'ipv6');
  }
  return true; // not an address at all: refuse
}

/** Why a webhook URL is refused as given, or null when it is acceptable. */
export function webhookUrlProblem(raw: string, allowPrivate: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute http:// or https:// URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return 'must be an http:// or https:// URL';
  }
  if (url.username || url.password) return 'must not carry credentials';
  if (raw.length > 2_000) return 'must be at most 2,000 characters';
  if (allowPrivate) return null;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal')) {
    return 'must not point at this machine or a private network (WEBHOOK_ALLOW_PRIVATE)';
  }
  if (isIP(host) && isPrivateAddress(host)) {
    return 'must not point at this machine or a private network (WEBHOOK_ALLOW_PRIVATE)';
  }
  return null;
}

/** Before a delivery: every address the name resolves to must be public. */
export async function assertPublicDestination(raw: string, allowPrivate: boolean): Promise<void> {
  const problem = webhookUrlProblem(raw, allowPrivate);
  if (problem) throw new Error(`webhook URL ${problem}`);
  if (allowPrivate) return;
  const host = new URL(raw).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return;
  const addresses = await lookup(host, { all: true });
  const bad = addresses.find((a) => isPrivateAddress(a.address));
  if (bad) throw new Error(`webhook host ${host} resolves to a private address (${bad.address})`);
}
