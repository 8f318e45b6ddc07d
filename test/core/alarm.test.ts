import { describe, expect, it } from "vitest";
import { Alarm } from "../../src/core/alarm.js";
import { VirtualClock } from "../../src/core/clock.js";

describe("Alarm", () => {
  it("rings once, at the earliest time asked for", async () => {
    const clock = new VirtualClock();
    const rang: number[] = [];
    const alarm = new Alarm(clock, () => rang.push(clock.now()));
    alarm.at(500);
    alarm.at(800); // later: changes nothing
    alarm.at(200); // earlier: moves it
    await clock.advance(1_000);
    expect(rang).toEqual([200]);
    // Once rung it can be set again, and a time already past rings at once.
    alarm.at(900);
    await clock.advance(0);
    expect(rang).toEqual([200, 1_000]);
  });
});
