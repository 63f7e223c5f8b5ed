import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { describeError, type ErrorView } from "../lib/errors.ts";
import { formatAgo, shortId } from "../lib/format.ts";
import { useInterval, useNow } from "../lib/hooks.ts";
import { DeadLettersQuery, RedeliverDeadLetterMutation } from "../operations.ts";
import { EmptyState, ErrorNote, Panel } from "./ui.tsx";

const PAGE_SIZE = 10;
/** Dead letters are rare and nothing pushes them: a slow poll is enough. */
const POLL_MS = 5_000;

/**
 * The dead letters, newest first: where each came from, why, how often it was tried, and a
 * "Redeliver" action that puts it back into its stream (an operator's action).
 */
export function DeadLettersPanel() {
  const [after, setAfter] = useState<string | undefined>(undefined);
  const [result, refetch] = useQuery({
    query: DeadLettersQuery,
    variables: { first: PAGE_SIZE, after: after ?? null },
    requestPolicy: "cache-and-network",
  });
  const [redelivery, redeliver] = useMutation(RedeliverDeadLetterMutation);
  const [pendingId, setPendingId] = useState<string | undefined>(undefined);
  const [notice, setNotice] = useState<ErrorView | undefined>(undefined);
  const now = useNow(POLL_MS);

  useInterval(() => refetch({ requestPolicy: "network-only" }), POLL_MS);

  const page = result.data?.deadLetters;
  const letters = page?.nodes ?? [];

  async function onRedeliver(id: string) {
    setPendingId(id);
    setNotice(undefined);
    const answer = await redeliver({ id });
    setPendingId(undefined);
    if (answer.error) {
      setNotice(describeError(answer.error)[0]);
    } else {
      setNotice({ message: `Redelivered ${shortId(id)}: it is back in its stream.` });
    }
    refetch({ requestPolicy: "network-only" });
  }

  return (
    <Panel
      id="dead-letters"
      title="Dead letters"
      subtitle={
        page
          ? `${page.totalCount.toLocaleString("en-US")} waiting · newest first`
          : "Entries that could not be processed"
      }
    >
      {result.error && letters.length === 0 ? (
        <ErrorNote
          {...(describeError(result.error)[0] ?? { message: "Dead letters unavailable" })}
        />
      ) : null}
      {notice ? (
        notice.code ? (
          <ErrorNote {...notice} />
        ) : (
          <p className="muted" role="status">
            {notice.message}
          </p>
        )
      ) : null}
      {page && letters.length === 0 ? (
        <EmptyState title="No dead letters">
          Entries that fail validation or keep failing land here, with the reason.
        </EmptyState>
      ) : null}
      {letters.length > 0 ? (
        <div className="table-scroll">
          <table className="table dead-letters-table">
            <thead>
              <tr>
                <th scope="col">Stream</th>
                <th scope="col">Reason</th>
                <th scope="col" className="numeric">
                  Deliveries
                </th>
                <th scope="col" className="numeric">
                  When
                </th>
                <th scope="col">
                  <span className="visually-hidden">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {letters.map((letter) => (
                <tr key={letter.id}>
                  <td>
                    <span className="mono">{letter.stream}</span>
                    <div className="muted">
                      {letter.service}
                      {letter.orderId ? ` · ${shortId(letter.orderId)}` : ""}
                    </div>
                  </td>
                  <td>
                    <details>
                      <summary>{letter.reason}</summary>
                      {letter.lastError ? (
                        <p className="muted">Last error: {letter.lastError}</p>
                      ) : null}
                      <pre className="mono">{JSON.stringify(letter.fields, null, 2)}</pre>
                    </details>
                  </td>
                  <td className="numeric">{letter.deliveryCount}</td>
                  <td className="numeric muted">
                    <time dateTime={letter.deadLetteredAt} title={letter.deadLetteredAt}>
                      {formatAgo(letter.deadLetteredAt, now)}
                    </time>
                  </td>
                  <td>
                    <button
                      type="button"
                      className="button-secondary"
                      disabled={pendingId !== undefined || redelivery.fetching}
                      aria-label={`Redeliver dead letter ${letter.id}`}
                      onClick={() => void onRedeliver(letter.id)}
                    >
                      {pendingId === letter.id ? "Redelivering…" : "Redeliver"}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {page && (after !== undefined || page.pageInfo.hasNextPage) ? (
        <nav className="pager" aria-label="Dead letter pages">
          <div className="pager-buttons">
            <button
              type="button"
              className="button-secondary"
              disabled={after === undefined}
              onClick={() => setAfter(undefined)}
            >
              Newest
            </button>
            <button
              type="button"
              className="button-secondary"
              disabled={!page.pageInfo.hasNextPage}
              onClick={() => setAfter(page.pageInfo.endCursor ?? undefined)}
            >
              Older
            </button>
          </div>
        </nav>
      ) : null}
    </Panel>
  );
}
