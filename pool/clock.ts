// The one time source of the pool folder. Every decision about time (cool-downs, back-offs, reclaim
// intervals, reconcile cooldowns, GC grace) reads it; tests inject a fake one and move it by hand.
// Timers (setTimeout / setInterval) only wake the pool up; what it then does is decided from now().

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
