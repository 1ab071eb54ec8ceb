import { useId } from "react";

export const HALF_STARS = [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5] as const;

export function starsLabel(value: number): string {
  return value === 1 ? "1 star" : `${value} stars`;
}

interface StarRatingProps {
  /** The chosen rating, or null when there is none. */
  value: number | null;
  onChange: (value: number) => void;
  legend?: string;
  disabled?: boolean;
}

/**
 * Half-star rating as a native radio group: Tab enters it, the arrow keys move by half a star,
 * and each half star is a radio named "0.5 stars" ... "5 stars" for screen readers.
 */
export function StarRating({ value, onChange, legend = "Your rating", disabled = false }: StarRatingProps) {
  const name = useId();
  return (
    <fieldset className="star-rating" disabled={disabled}>
      <legend>{legend}</legend>
      <div className="star-rating__stars">
        {HALF_STARS.map((stars) => {
          const isLeftHalf = stars % 1 !== 0;
          const filled = value !== null && stars <= value;
          return (
            <label
              key={stars}
              className={`star-rating__half ${isLeftHalf ? "is-left" : "is-right"} ${filled ? "is-filled" : ""}`}
              title={starsLabel(stars)}
            >
              <input
                type="radio"
                name={name}
                value={stars}
                checked={value === stars}
                onChange={() => onChange(stars)}
                aria-label={starsLabel(stars)}
                className="star-rating__input"
              />
              <span aria-hidden="true" className="star-rating__glyph">
                ★
              </span>
            </label>
          );
        })}
      </div>
    </fieldset>
  );
}
