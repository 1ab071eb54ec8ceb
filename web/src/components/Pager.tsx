interface PagerProps {
  skip: number;
  limit: number;
  total: number;
  onSkip: (skip: number) => void;
}

export function Pager({ skip, limit, total, onSkip }: PagerProps) {
  if (total === 0) return null;
  const last = Math.min(skip + limit, total);
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" onClick={() => onSkip(Math.max(0, skip - limit))} disabled={skip === 0}>
        Previous page
      </button>
      <p>
        {skip + 1}–{last} of {total}
      </p>
      <button type="button" onClick={() => onSkip(skip + limit)} disabled={last >= total}>
        Next page
      </button>
    </nav>
  );
}
