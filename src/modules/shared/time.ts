export const DAY_MS = 24 * 3600 * 1000;

/** How far past the server's clock a client's time may be (clocks disagree); beyond, it is refused. */
export const MAX_FUTURE_MS = DAY_MS;
