import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { TRPCError } from "@trpc/server";

// The wizard's S3 probes (Test connection, bucket list, create bucket) make the portal itself send requests to a URL
// the client typed. Without a guard any signed-in client could point them at the provider's own network (cloud
// metadata at 169.254.169.254, the database, internal admin pages): server-side request forgery. So the portal
// refuses endpoints whose host is, or resolves to, a loopback, private, link-local or otherwise non-public address,
// unless the endpoint is one the provider trusts: the admin's agent S3 endpoint setting or E3_ALLOWED_S3_ENDPOINTS.
// The check runs twice: once before the request, for a clear error, and again inside the socket's own DNS lookup,
// so a name that resolves differently the second time (DNS rebinding) cannot slip through.

const blocked = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8], // "this network"
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, cloud metadata
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated, still routed by some)
  ["ff00::", 8], // multicast
  ["2001:db8::", 32], // documentation
] as const) {
  blocked.addSubnet(network, prefix, "ipv6");
}

/** Whether the portal must not connect to this IP address on a client's behalf (IPv4-mapped IPv6 included). */
export function isNonPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true; // not an address at all: refuse rather than guess
  return blocked.check(address, family === 4 ? "ipv4" : "ipv6");
}

/** Comparable form of an endpoint: scheme, host and port (default ports filled in), lower case. */
export function endpointOrigin(endpoint: string): string | null {
  try {
    const url = new URL(endpoint);
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    return `${url.protocol}//${url.hostname.toLowerCase()}:${port}`;
  } catch {
    return null;
  }
}

/** E3_ALLOWED_S3_ENDPOINTS: comma-separated http(s) URLs. Returns the bad entry's message, or the origins. */
export function parseAllowedEndpoints(value: string | undefined): { origins: string[] } | { error: string } {
  const origins: string[] = [];
  for (const entry of (value ?? "").split(",").map((part) => part.trim())) {
    if (!entry) continue;
    const origin = endpointOrigin(entry);
    if (!origin) return { error: `"${entry}" is not an http(s) URL such as http://10.0.0.5:9000` };
    origins.push(origin);
  }
  return { origins };
}

type Resolve = (hostname: string) => Promise<string[]>;

const resolveAll: Resolve = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses: LookupAddress[]) =>
      error ? reject(error) : resolve(addresses.map((entry) => entry.address)),
    );
  });

export type EndpointVerdict =
  | { allowed: true; trusted: boolean }
  | { allowed: false; code: "S3_ENDPOINT_REFUSED" | "S3_UNREACHABLE"; message: string };

/**
 * Decide whether the portal may send the wizard's S3 requests to `endpoint`. Trusted endpoints (the provider's own)
 * pass as they are; any other must resolve only to public addresses — every address the name has, since the socket
 * may pick any of them.
 */
export async function checkS3Endpoint(
  endpoint: string,
  trusted: { agentEndpoint?: string | null; allowList: string[] },
  resolve: Resolve = resolveAll,
): Promise<EndpointVerdict> {
  const origin = endpointOrigin(endpoint);
  if (!origin) return { allowed: false, code: "S3_ENDPOINT_REFUSED", message: `${endpoint} is not an http(s) URL` };
  const agentOrigin = trusted.agentEndpoint ? endpointOrigin(trusted.agentEndpoint) : null;
  if (origin === agentOrigin || trusted.allowList.includes(origin)) return { allowed: true, trusted: true };

  const hostname = new URL(endpoint).hostname.replace(/^\[|\]$/g, "");
  let addresses: string[];
  if (isIP(hostname)) {
    addresses = [hostname];
  } else {
    try {
      addresses = await resolve(hostname);
    } catch (error) {
      const code = (error as { code?: string }).code ?? "lookup failed";
      return {
        allowed: false,
        code: "S3_UNREACHABLE",
        message: `cannot reach ${endpoint}: its host name does not resolve (${code}); check the endpoint URL`,
      };
    }
  }
  const refused = addresses.find(isNonPublicAddress);
  if (refused !== undefined || addresses.length === 0) {
    const where = refused === hostname ? "is" : `resolves to ${refused ?? "no address"}, which is`;
    return {
      allowed: false,
      code: "S3_ENDPOINT_REFUSED",
      message: `the S3 endpoint ${endpoint} ${where} a loopback, private or link-local address; the portal does not connect to those for you. Use the storage's public address, or ask your provider to allow this endpoint (E3_ALLOWED_S3_ENDPOINTS)`,
    };
  }
  return { allowed: true, trusted: false };
}

export class EndpointRefusedError extends Error {
  readonly code: "S3_ENDPOINT_REFUSED" | "S3_UNREACHABLE";
  constructor(verdict: Extract<EndpointVerdict, { allowed: false }>) {
    super(verdict.message);
    this.name = "EndpointRefusedError";
    this.code = verdict.code;
  }
}

/** A thrown refusal for the tRPC procedures: BAD_REQUEST with the message that names the endpoint. */
export function refuseEndpoint(verdict: Extract<EndpointVerdict, { allowed: false }>): never {
  throw new TRPCError({ code: "BAD_REQUEST", message: verdict.message, cause: new EndpointRefusedError(verdict) });
}

/** The refusal inside an error thrown by `refuseEndpoint`, for answers that report problems instead of throwing. */
export function endpointRefusal(error: unknown): { code: string; message: string } | null {
  if (error instanceof TRPCError && error.cause instanceof EndpointRefusedError) {
    return { code: error.cause.code, message: error.cause.message };
  }
  return null;
}

/** A DNS lookup for sockets that fails when the name resolves to a non-public address (the rebinding check). */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, "", 0);
    const bad = addresses.find((entry) => isNonPublicAddress(entry.address));
    if (bad || addresses.length === 0) {
      const refusal = Object.assign(new Error(`${hostname} resolves to ${bad?.address ?? "no address"}, refused`), {
        code: "E3_ENDPOINT_REFUSED",
      });
      return callback(refusal, "", 0);
    }
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    const first = addresses[0]!;
    return callback(null, first.address, first.family);
  });
};

/** The S3 client's request handler for an untrusted endpoint: its sockets resolve through `publicOnlyLookup`. */
export function publicOnlyRequestHandler(requestTimeoutMs: number) {
  return {
    requestTimeout: requestTimeoutMs,
    httpAgent: new HttpAgent({ lookup: publicOnlyLookup } as ConstructorParameters<typeof HttpAgent>[0]),
    httpsAgent: new HttpsAgent({ lookup: publicOnlyLookup } as ConstructorParameters<typeof HttpsAgent>[0]),
  };
}
