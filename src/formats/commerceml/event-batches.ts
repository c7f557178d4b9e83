/**
 * The parser hands events on in arrays (parseCommerceMlBatches): a big catalog is half a million
 * events, and an await per event cost a promise and an iterator result each. These convert
 * between that form and one event at a time, for the callers that read a few.
 */

/** Each event of the batches, in order; with a signal, none after it is aborted. */
export async function* eachEvent<Event>(
  batches: AsyncIterable<readonly Event[]>,
  signal?: AbortSignal,
): AsyncIterable<Event> {
  for await (const batch of batches) {
    for (const event of batch) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      yield event;
    }
  }
}

/** Events as batches of one (a stream rewritten event by event, such as the sale import's). */
export async function* asBatches<Event>(events: AsyncIterable<Event>): AsyncIterable<readonly Event[]> {
  for await (const event of events) yield [event];
}
