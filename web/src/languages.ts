/** The catalogue's ISO 639-1 codes of Indian languages, in the order the home page lists them. */
export const INDIAN_LANGUAGES = ["hi", "ta", "te", "ml", "kn", "bn", "mr", "pa"] as const;

const NAMES: Record<string, string> = {
  hi: "Hindi",
  ta: "Tamil",
  te: "Telugu",
  ml: "Malayalam",
  kn: "Kannada",
  bn: "Bengali",
  mr: "Marathi",
  pa: "Punjabi",
  en: "English",
  fr: "French",
  es: "Spanish",
  de: "German",
  it: "Italian",
  ja: "Japanese",
  ko: "Korean",
  zh: "Chinese",
  pt: "Portuguese",
  ru: "Russian",
  fa: "Persian",
  sv: "Swedish",
  da: "Danish",
  no: "Norwegian",
  pl: "Polish",
  ro: "Romanian",
  tr: "Turkish",
  he: "Hebrew",
  ar: "Arabic",
  ur: "Urdu",
  cn: "Cantonese",
};

export const FILTER_LANGUAGES = Object.keys(NAMES);

export function languageName(code: string): string {
  return NAMES[code] ?? code.toUpperCase();
}

/** TMDB's film genres, which the catalogue's films use. */
export const MOVIE_GENRES = [
  "Action",
  "Adventure",
  "Animation",
  "Comedy",
  "Crime",
  "Documentary",
  "Drama",
  "Family",
  "Fantasy",
  "History",
  "Horror",
  "Music",
  "Mystery",
  "Romance",
  "Science Fiction",
  "Thriller",
  "War",
  "Western",
];
