import { describe, expect, it } from "vitest";
import { parseS3Location } from "./s3.ts";

// restic's S3 repository syntax (internal/backend/s3/config.go), case by case.

describe("parseS3Location", () => {
  const cases: [string, ReturnType<typeof parseS3Location>][] = [
    [
      "s3:http://127.0.0.1:19000/bucket",
      { endpoint: "http://127.0.0.1:19000", bucket: "bucket", prefix: "", forcePathStyle: true },
    ],
    [
      "s3:https://minio.example.com/bucket/some/prefix/",
      { endpoint: "https://minio.example.com", bucket: "bucket", prefix: "some/prefix", forcePathStyle: true },
    ],
    [
      "s3:http://host:9000/bucket//a/./b/",
      { endpoint: "http://host:9000", bucket: "bucket", prefix: "a/b", forcePathStyle: true },
    ],
    [
      "s3:s3.amazonaws.com/bucket/repo",
      { endpoint: "https://s3.amazonaws.com", bucket: "bucket", prefix: "repo", forcePathStyle: false },
    ],
    [
      "s3:s3.eu-central-1.amazonaws.com/bucket",
      {
        endpoint: "https://s3.eu-central-1.amazonaws.com",
        bucket: "bucket",
        prefix: "",
        forcePathStyle: false,
        region: "eu-central-1",
      },
    ],
    [
      "s3://s3.wasabisys.com/bucket/restic",
      { endpoint: "https://s3.wasabisys.com", bucket: "bucket", prefix: "restic", forcePathStyle: true },
    ],
    [
      "s3:ceph.local:7480/backups",
      { endpoint: "https://ceph.local:7480", bucket: "backups", prefix: "", forcePathStyle: true },
    ],
  ];
  it.each(cases)("%s", (location, expected) => {
    expect(parseS3Location(location)).toEqual(expected);
  });

  it.each([
    "s3:",
    "s3:host",
    "s3:host/",
    "s3:http://host",
    "s3:http://host/",
    "sftp:host/bucket",
    "s3:http://user:secret@host/bucket",
    "s3:http://host/bucket/../../etc",
  ])("refuses %s with a message naming the expected syntax", (location) => {
    expect(() => parseS3Location(location)).toThrow(
      expect.objectContaining({ code: "INVALID_LOCATION" }) as unknown as Error,
    );
  });
});
