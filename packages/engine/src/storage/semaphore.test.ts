import { describe, expect, it } from "vitest";
import { Semaphore } from "./semaphore.ts";

describe("Semaphore", () => {
  it("never lets more than `limit` tasks run, serves waiters in order, and releases on failure", async () => {
    const semaphore = new Semaphore(3);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const task = (index: number) =>
      semaphore.run(async () => {
        running++;
        peak = Math.max(peak, running);
        order.push(index);
        await new Promise((resolve) => setTimeout(resolve, 2));
        running--;
        if (index % 5 === 0) throw new Error(`task ${index} failed`);
      });
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, index) => task(index)));
    expect(peak).toBe(3);
    expect(order).toEqual(Array.from({ length: 20 }, (_, index) => index));
    expect(results.filter((result) => result.status === "rejected")).toHaveLength(4);
    expect(semaphore.held).toBe(0);
  });

  it("gives up a wait when the signal fires, without taking a slot", async () => {
    const semaphore = new Semaphore(1);
    const release = await semaphore.acquire();
    const controller = new AbortController();
    const waiting = semaphore.acquire(controller.signal);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: "AbortError" });
    release();
    release();
    expect(semaphore.held).toBe(0);
    const again = await semaphore.acquire();
    expect(semaphore.held).toBe(1);
    again();
  });
});
