/**
 * JSON answers streamed piece by piece: for lists too large to hold at once (the metadata
 * endpoints at a million segments, against the isolate's 128 MB), the body is a ReadableStream
 * that asks for the next piece only when the client has taken the last one (backpressure), so
 * at most one page is in memory whatever the answer's size.
 *
 * The first piece is produced before the Response exists: a failure there (D1 down, a refused
 * RPC) is thrown to the router and answered as Druid's error JSON with its status. Once bytes are
 * sent the status cannot change: a later failure is logged and errors the stream, so the client
 * sees a truncated body (invalid JSON) rather than a well-formed but incomplete list.
 */

/** Where failures after the first byte are reported (tests replace it to observe). */
export const streamLog = {
  aborted: (err: unknown) => console.error("a streamed JSON answer failed after its first byte; the body is truncated:", err),
};

const utf8 = new TextEncoder();

/** A Response whose body is the concatenation of `pieces` (JSON text), pulled as it is read. */
export async function streamedJson(pieces: AsyncIterable<string>, status = 200): Promise<Response> {
  const it = pieces[Symbol.asyncIterator]();
  let ahead: IteratorResult<string> | null = await nextNonEmpty(it);
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const r = ahead ?? (await nextNonEmpty(it));
          ahead = null;
          if (r.done) controller.close();
          else controller.enqueue(utf8.encode(r.value));
        } catch (err) {
          streamLog.aborted(err);
          controller.error(err);
        }
      },
      async cancel() {
        // the client went away: let the source stop (a generator's finally blocks run)
        await it.return?.();
      },
    },
    // Nothing is queued ahead of a read: the next page is read from D1 only when asked for.
    { highWaterMark: 0 },
  );
  return new Response(body, { status, headers: { "content-type": "application/json" } });
}

async function nextNonEmpty(it: AsyncIterator<string>): Promise<IteratorResult<string>> {
  for (;;) {
    const r = await it.next();
    if (r.done || r.value.length > 0) return r;
  }
}

/** A JSON array's text, one piece per page: `[`, the items comma-separated, `]`. */
export async function* jsonArrayPieces<T>(pages: AsyncIterable<T[]>, item: (x: T) => unknown = (x) => x): AsyncGenerator<string> {
  let open = false;
  for await (const page of pages) {
    if (page.length === 0) continue;
    yield (open ? "," : "[") + page.map((x) => JSON.stringify(item(x))).join(",");
    open = true;
  }
  yield open ? "]" : "[]";
}
