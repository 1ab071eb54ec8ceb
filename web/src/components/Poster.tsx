import { useState, type CSSProperties } from "react";

interface PosterProps {
  src: string | null;
  title: string;
  kind: "poster" | "cover";
  large?: boolean;
  /** Next to its title (a card): hidden from screen readers, which would read the title twice. */
  decorative?: boolean;
}

/** The item's image, lazy-loaded; its initials on a tinted card when it has none or it fails. */
export function Poster({ src, title, kind, large = false, decorative = false }: PosterProps) {
  const [failed, setFailed] = useState(false);
  const className = `poster ${large ? "poster--large" : ""}`;
  if (!src || failed) {
    const initials = title
      .split(/\s+/)
      .filter((word) => /^[\p{L}\p{N}]/u.test(word))
      .slice(0, 2)
      .map((word) => word[0]?.toUpperCase())
      .join("");
    const hue = [...title].reduce((sum, char) => sum + (char.codePointAt(0) ?? 0), 0) % 360;
    return (
      <div
        className={`${className} poster--placeholder`}
        style={{ "--poster-hue": hue } as CSSProperties}
        role={decorative ? undefined : "img"}
        aria-label={decorative ? undefined : `No ${kind} for ${title}`}
        aria-hidden={decorative ? true : undefined}
      >
        <span aria-hidden="true">{initials || "?"}</span>
      </div>
    );
  }
  return (
    <img
      className={className}
      src={src}
      alt={decorative ? "" : `${kind === "poster" ? "Poster" : "Cover"} of ${title}`}
      loading="lazy"
      decoding="async"
      referrerPolicy="no-referrer"
      onError={() => setFailed(true)}
    />
  );
}
