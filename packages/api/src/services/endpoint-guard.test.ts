import { describe, expect, it } from "vitest";
import {
  checkS3Endpoint,
  endpointOrigin,
  isNonPublicAddress,
  parseAllowedEndpoints,
  publicOnlyLookup,
} from "./endpoint-guard.ts";

const resolverOf = (table: Record<string, string[]>) => async (hostname: string) => {
  const addresses = table[hostname];
  if (!addresses) throw Object.assign(new Error(`no ${hostname}`), { code: "ENOTFOUND" });
  return addresses;
};

describe("isNonPublicAddress", () => {
  it("refuses loopback, private, link-local, CGNAT, multicast and unspecified addresses of both families", () => {
    for (const address of [
      "127.0.0.1",
      "127.255.0.9",
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.254",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "224.0.0.1",
      "255.255.255.255",
      "::1",
      "::",
      "fd00::1",
      "fe80::1",
      "ff02::1",
      "::ffff:127.0.0.1",
      "::ffff:a9fe:a9fe", // 169.254.169.254 mapped, as URL writes it
      "not-an-address",
    ]) {
      expect(isNonPublicAddress(address), address).toBe(true);
    }
  });

  it("lets public addresses through", () => {
    for (const address of ["8.8.8.8", "172.32.0.1", "52.95.110.1", "2a00:1450:4001:82a::200e", "::ffff:8.8.4.4"]) {
      expect(isNonPublicAddress(address), address).toBe(false);
    }
  });
});

describe("endpointOrigin and parseAllowedEndpoints", () => {
  it("compares scheme, host and port with the default ports filled in", () => {
    expect(endpointOrigin("https://S3.Example.com/")).toBe("https://s3.example.com:443");
    expect(endpointOrigin("http://127.0.0.1:19000/path")).toBe("http://127.0.0.1:19000");
    expect(endpointOrigin("ftp://x")).toBeNull();
    expect(parseAllowedEndpoints(" http://127.0.0.1:19000 ,,http://minio.lan")).toEqual({
      origins: ["http://127.0.0.1:19000", "http://minio.lan:80"],
    });
    expect(parseAllowedEndpoints("minio.lan")).toEqual({
      error: '"minio.lan" is not an http(s) URL such as http://10.0.0.5:9000',
    });
  });
});

describe("checkS3Endpoint", () => {
  const none = { agentEndpoint: null, allowList: [] };

  it("refuses a private IP literal and names the endpoint", async () => {
    const verdict = await checkS3Endpoint("http://10.0.0.5:9000", none, resolverOf({}));
    expect(verdict).toMatchObject({ allowed: false, code: "S3_ENDPOINT_REFUSED" });
    expect(!verdict.allowed && verdict.message).toContain("the S3 endpoint http://10.0.0.5:9000 is a loopback");
    expect(!verdict.allowed && verdict.message).toContain("E3_ALLOWED_S3_ENDPOINTS");
  });

  it("refuses a name when any of its addresses is private (the socket may pick any)", async () => {
    const resolve = resolverOf({ "mixed.example": ["52.95.110.1", "192.168.0.10"] });
    const verdict = await checkS3Endpoint("https://mixed.example", none, resolve);
    expect(verdict).toMatchObject({ allowed: false, code: "S3_ENDPOINT_REFUSED" });
    expect(!verdict.allowed && verdict.message).toContain("resolves to 192.168.0.10");
  });

  it("refuses IPv6 loopback and the cloud metadata address", async () => {
    expect(await checkS3Endpoint("http://[::1]:9000", none)).toMatchObject({ allowed: false });
    expect(await checkS3Endpoint("http://169.254.169.254/latest", none)).toMatchObject({ allowed: false });
    expect(await checkS3Endpoint("http://[::ffff:127.0.0.1]:9000", none)).toMatchObject({ allowed: false });
  });

  it("allows a public name, and a private one that the admin set or the allow-list names", async () => {
    const resolve = resolverOf({ "s3.example": ["52.95.110.1"], "minio.lan": ["10.0.0.5"] });
    expect(await checkS3Endpoint("https://s3.example", none, resolve)).toEqual({ allowed: true, trusted: false });
    expect(await checkS3Endpoint("http://minio.lan:9000", none, resolve)).toMatchObject({ allowed: false });
    expect(
      await checkS3Endpoint(
        "http://minio.lan:9000/",
        { agentEndpoint: "http://MINIO.lan:9000", allowList: [] },
        resolve,
      ),
    ).toEqual({ allowed: true, trusted: true });
    expect(
      await checkS3Endpoint(
        "http://127.0.0.1:19000",
        { agentEndpoint: null, allowList: ["http://127.0.0.1:19000"] },
        resolve,
      ),
    ).toEqual({ allowed: true, trusted: true });
    // The allow-list names an origin, not a host: another port on the same machine stays refused.
    expect(
      await checkS3Endpoint(
        "http://127.0.0.1:5432",
        { agentEndpoint: null, allowList: ["http://127.0.0.1:19000"] },
        resolve,
      ),
    ).toMatchObject({ allowed: false });
  });

  it("says a name that does not resolve is unreachable", async () => {
    const verdict = await checkS3Endpoint("https://nowhere.example", none, resolverOf({}));
    expect(verdict).toMatchObject({ allowed: false, code: "S3_UNREACHABLE" });
    expect(!verdict.allowed && verdict.message).toContain("https://nowhere.example");
  });
});

describe("publicOnlyLookup", () => {
  it("fails the socket's own lookup of a name that resolves to loopback", async () => {
    const error = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
      publicOnlyLookup("localhost", { family: 0 }, (failure) => resolve(failure)),
    );
    expect(error?.code).toBe("E3_ENDPOINT_REFUSED");
  });
});
