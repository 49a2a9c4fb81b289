/** Time is a dependency: services take a Clock, tests give a fake one. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
