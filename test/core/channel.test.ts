import { describe, expect, it, vi } from "vitest";
import { Channel } from "../../src/core/channel.js";

async function drain<T>(channel: AsyncIterable<T>): Promise<T[]> {
  const values: T[] = [];
  for await (const value of channel) values.push(value);
  return values;
}

describe("Channel", () => {
  it("delivers values pushed before and after the consumer starts, in order", async () => {
    const channel = new Channel<number>();
    channel.push(1);
    channel.push(2);
    const result = drain(channel);
    await Promise.resolve();
    channel.push(3);
    setImmediate(() => {
      channel.push(4);
      channel.end();
    });
    expect(await result).toEqual([1, 2, 3, 4]);
  });

  it("delivers buffered values before the failure", async () => {
    const channel = new Channel<string>();
    channel.push("a");
    channel.fail(new Error("boom"));
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const value of channel) seen.push(value);
      })(),
    ).rejects.toThrow("boom");
    expect(seen).toEqual(["a"]);
  });

  it("rejects a waiting consumer when failed", async () => {
    const channel = new Channel<number>();
    const result = drain(channel);
    setImmediate(() => channel.fail(new Error("late")));
    await expect(result).rejects.toThrow("late");
  });

  it("ignores pushes and settlements after it is closed", async () => {
    const channel = new Channel<number>();
    channel.push(1);
    channel.end();
    expect(channel.closed).toBe(true);
    expect(channel.push(2)).toBe(false);
    channel.fail(new Error("ignored"));
    expect(await drain(channel)).toEqual([1]);
  });

  it("calls onReturn once when the consumer stops early, not when the producer ended", async () => {
    const onReturn = vi.fn();
    const channel = new Channel<number>({ onReturn });
    channel.push(1);
    channel.push(2);
    for await (const value of channel) {
      if (value === 1) break;
    }
    expect(onReturn).toHaveBeenCalledTimes(1);
    expect(channel.closed).toBe(true);
    expect(channel.push(3)).toBe(false);

    const ended = new Channel<number>({ onReturn });
    ended.push(1);
    ended.end();
    for await (const _ of ended) break;
    expect(onReturn).toHaveBeenCalledTimes(1);
  });

  it("refuses a second consumer", () => {
    const channel = new Channel<number>();
    channel[Symbol.asyncIterator]();
    expect(() => channel[Symbol.asyncIterator]()).toThrow(/single consumer/);
  });

  it("streams many values without losing any", async () => {
    const channel = new Channel<number>();
    for (let i = 0; i < 5000; i++) channel.push(i);
    channel.end();
    const values = await drain(channel);
    expect(values).toHaveLength(5000);
    expect(values[4999]).toBe(4999);
  });
});

describe("Channel return with a pending next", () => {
  it("ends a next() that is still waiting when return() is called", async () => {
    let returned = 0;
    const channel = new Channel<number>({ onReturn: () => returned++ });
    const iterator = channel[Symbol.asyncIterator]();
    const pending = iterator.next();
    await iterator.return?.();
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    expect(returned).toBe(1);
  });
});
