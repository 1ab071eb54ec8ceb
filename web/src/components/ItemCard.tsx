import { Link } from "react-router";
import { fromListState, recordInteraction } from "../api/interactions";
import type { Item, ItemType } from "../api/types";
import { isMovie } from "../api/types";
import { languageName } from "../languages";
import { Poster } from "./Poster";

export interface CardItem {
  item: Item;
  itemType: ItemType;
  reason?: string | undefined;
  predicted?: number | null | undefined;
  /** The served list the item belongs to: a click on it is credited to that list. */
  listId?: string | undefined;
}

type HeadingLevel = 2 | 3 | 4;

export function itemPath(itemType: ItemType, id: number): string {
  return `/${itemType === "movie" ? "movies" : "books"}/${id}`;
}

function byline(item: Item): string {
  const parts: string[] = [];
  if (item.year) parts.push(String(item.year));
  if (isMovie(item)) {
    if (item.original_language) parts.push(languageName(item.original_language));
  } else if (item.authors.length) {
    parts.push(item.authors.slice(0, 2).join(", "));
  }
  return parts.join(" · ");
}

export function ItemCard({ item, itemType, reason, predicted, listId, headingLevel = 3 }: CardItem & { headingLevel?: HeadingLevel }) {
  const Heading = `h${headingLevel}` as const;
  const image = isMovie(item) ? item.poster_url : item.thumbnail_url;
  const onClick = listId ? () => recordInteraction("click", itemType, item.id, listId) : undefined;
  return (
    <article className="card">
      <Link to={itemPath(itemType, item.id)} state={fromListState(listId)} onClick={onClick} className="card__link">
        <Poster src={image} title={item.title} kind={itemType === "movie" ? "poster" : "cover"} decorative />
        <Heading className="card__title">{item.title}</Heading>
      </Link>
      <p className="card__meta">
        <span className="visually-hidden">{itemType === "movie" ? "Film" : "Book"}, </span>
        {byline(item)}
      </p>
      {item.average_rating !== null && item.rating_count > 0 && (
        <p className="card__meta">
          ★ {item.average_rating.toFixed(1)} <span className="muted">({item.rating_count})</span>
        </p>
      )}
      {predicted != null && <p className="card__predicted">For you: {predicted.toFixed(1)} ★</p>}
      {reason && <p className="card__reason">{reason}</p>}
    </article>
  );
}

interface GridProps {
  items: CardItem[];
  label?: string;
  headingLevel?: HeadingLevel;
  /** The served list the items come from (its `list_id`), when they are one. */
  listId?: string | undefined;
}

/** Cards, each titled one heading level below the section the grid is in. */
export function ItemGrid({ items, label, headingLevel = 3, listId }: GridProps) {
  return (
    <ul className="grid" aria-label={label}>
      {items.map((card) => (
        <li key={`${card.itemType}-${card.item.id}`}>
          <ItemCard listId={listId} {...card} headingLevel={headingLevel} />
        </li>
      ))}
    </ul>
  );
}

/** Room for a grid that is still loading: as many blank cards as the list will hold, so what
 * follows the grid does not jump down when the items arrive. The status line says what is loading
 * to screen readers; the blank cards are hidden from them. */
export function LoadingGrid({ count, label = "Loading…" }: { count: number; label?: string }) {
  return (
    <>
      <p className="visually-hidden" role="status">
        {label}
      </p>
      <ul className="grid" aria-hidden="true">
        {Array.from({ length: count }, (_, index) => (
          <li key={index}>
            <div className="card card--placeholder">
              <div className="poster poster--loading" />
              <div className="placeholder-line" />
              <div className="placeholder-line placeholder-line--short" />
              <div className="placeholder-line placeholder-line--short" />
            </div>
          </li>
        ))}
      </ul>
    </>
  );
}
