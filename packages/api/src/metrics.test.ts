import { describe, expect, it } from "vitest";
import { metricsRegistry, observeApiRequest } from "./metrics.ts";

describe("API latency metrics", () => {
  it("count requests per endpoint and status into latency buckets", async () => {
    observeApiRequest("agent", "next_run", 200, 0.004);
    observeApiRequest("agent", "next_run", 200, 0.2);
    observeApiRequest("agent", "update_run", 404, 0.01);
    const text = await metricsRegistry.metrics();
    expect(text).toContain('e3_api_requests_total{api="agent",endpoint="next_run",status="200"} 2');
    expect(text).toContain(
      'e3_api_request_duration_seconds_bucket{le="0.005",api="agent",endpoint="next_run",status="200"} 1',
    );
    expect(text).toContain(
      'e3_api_request_duration_seconds_bucket{le="0.25",api="agent",endpoint="next_run",status="200"} 2',
    );
    expect(text).toContain('e3_api_requests_total{api="agent",endpoint="update_run",status="404"} 1');
  });
});
