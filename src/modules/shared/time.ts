export const DAY_MS = 24 * 3600 * 1000;

/** How far past the server's clock a client's time may be (clocks disagree); beyond, it is refused. */
export const MAX_FUTURE_MS = DAY_MS;

/** The order of a customer's touches and events: by time, then by interaction id (a uuid's text sorts as PostgreSQL sorts the uuid). */
export const byTimeThenId = (a: { at: number; interactionId: string }, b: { at: number; interactionId: string }): number =>
  a.at - b.at || (a.interactionId < b.interactionId ? -1 : a.interactionId > b.interactionId ? 1 : 0);
